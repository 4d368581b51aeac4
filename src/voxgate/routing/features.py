"""Cheap, deterministic features of a prompt: size, code and maths markers, request kind, difficulty."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# The code and maths markers, one set for both predictors: `extract_features` asks whether a
# prompt has any, the learned predictor's `cheap_features` counts them.
CODE_PATTERN = re.compile(
    r"```|\bdef \w+\(|\bclass \w+|\bfunction\b|\bimport \w+|#include|\bSELECT\b|=>|\breturn\b|"
    r"\bassert\b|[{};]\s*$|\b(python|javascript|typescript|rust|java|c\+\+|sql|regex|bash|code|"
    r"implement|compile|refactor)\b",
    re.IGNORECASE | re.MULTILINE,
)
MATH_PATTERN = re.compile(
    r"\d+\s*[-+*/^=\u00d7\u00f7]\s*\d+|\\frac|\\sqrt|\$[^$]+\$|\b(solve|equation|integral|derivative|"
    r"prove|probability|sum of|how many|how much|calculate|compute|percent|theorem|remainder)\b",
    re.IGNORECASE,
)
_REASONING_RE = re.compile(
    r"\b(step by step|explain why|analy[sz]e|compare|derive|justify|trade-?offs?|design|plan)\b",
    re.IGNORECASE,
)
WINDOW_EDGE_CHARS = 4_096  # 8 KiB read whole: longer than every prompt in the training data (4.9k max)
_GREETING_RE = re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (morning|evening))\b", re.IGNORECASE)


def estimate_tokens(text: str) -> int:
    """About four characters per token for English; never zero for non-empty text."""
    return (len(text) + 3) // 4


def feature_window(text: str, edge_chars: int = WINDOW_EDGE_CHARS) -> tuple[str, float]:
    """The text that pattern searches and counts read, and the factor that scales counts to the whole text.

    A prompt longer than twice `edge_chars` is read at its start and end only, so a 4 MB body
    costs milliseconds, not a second of regex work; shorter prompts (every prompt in the
    training data) are read whole.
    """
    if len(text) <= 2 * edge_chars:
        return text, 1.0
    sample = text[:edge_chars] + "\n" + text[-edge_chars:]
    return sample, len(text) / len(sample)


class RequestKind(StrEnum):
    """What a turn asks of the model. Tool turns are their own kind: small models fail them far
    more often than their chat quality suggests (a call that breaks the schema, JSON read aloud)."""

    CHAT = "chat"
    TOOL_CALL = "tool_call"
    """tools are offered: the answer may have to be a well-formed call to the right function"""
    TOOL_RESULT = "tool_result"
    """the last message is a tool's result: the answer must use it, in words, or call again"""


def request_kind(messages: object, offers_tools: bool) -> RequestKind:
    """The kind of a chat request from its `messages` and whether it offers tools."""
    last = messages[-1] if isinstance(messages, list) and messages else None
    if isinstance(last, dict) and last.get("role") == "tool":
        return RequestKind.TOOL_RESULT
    return RequestKind.TOOL_CALL if offers_tools else RequestKind.CHAT


_KIND_DIFFICULTY = {RequestKind.CHAT: 0.0, RequestKind.TOOL_CALL: 0.8, RequestKind.TOOL_RESULT: 0.5}
_MANY_TOOLS = 3


@dataclass(frozen=True)
class PromptFeatures:
    prompt_tokens: int
    has_code: bool
    has_math: bool
    needs_reasoning: bool
    is_chitchat: bool
    turn_count: int
    kind: RequestKind = RequestKind.CHAT
    tool_count: int = 0

    @property
    def difficulty(self) -> float:
        """Roughly -1 (trivial) .. +2 (hard); 0 is a typical prompt."""
        score = 0.0
        if self.is_chitchat:
            score -= 1.0
        elif self.prompt_tokens < 12:
            score -= 0.3
        score += 0.6 if self.has_code else 0.0
        score += 0.7 if self.has_math else 0.0
        score += 0.5 if self.needs_reasoning else 0.0
        score += 0.3 if self.prompt_tokens > 500 else 0.0
        score += 0.2 if self.turn_count > 3 else 0.0
        score += _KIND_DIFFICULTY[self.kind]
        score += 0.2 if self.kind is RequestKind.TOOL_CALL and self.tool_count > _MANY_TOOLS else 0.0
        return score

    @property
    def expected_output_tokens(self) -> int:
        if self.kind is RequestKind.TOOL_CALL:
            return 60
        if self.is_chitchat:
            return 30
        if self.has_code:
            return 250
        if self.has_math or self.needs_reasoning:
            return 180
        return 120


def extract_features(
    prompt_text: str, prompt_tokens: int, turn_count: int, kind: RequestKind = RequestKind.CHAT, tool_count: int = 0
) -> PromptFeatures:
    """Features of the latest user turn (`prompt_text`) plus the size of the whole prompt, the
    request's kind and how many tools it offers.

    The markers are looked for in `feature_window` only (the first and last 4 KiB of a long
    prompt), so a multi-megabyte prompt costs the event loop microseconds, not a fifth of a second.
    """
    searched, _ = feature_window(prompt_text)
    return PromptFeatures(
        prompt_tokens=prompt_tokens,
        has_code=bool(CODE_PATTERN.search(searched)),
        has_math=bool(MATH_PATTERN.search(searched)),
        needs_reasoning=bool(_REASONING_RE.search(searched)),
        is_chitchat=bool(_GREETING_RE.match(prompt_text)) and len(prompt_text) < 60,
        turn_count=turn_count,
        kind=kind,
        tool_count=tool_count,
    )
