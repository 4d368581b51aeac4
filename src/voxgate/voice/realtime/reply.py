"""Where a voice session's replies come from: a small protocol the server layer implements with
the router and dispatcher (a voice turn is a routed request), and a scripted fake for tests.

    source.stream_reply(ReplyRequest(...))  ->  ReplyRouted, then ReplyText / ReplyToolCall pieces,
                                                then ReplyFinished (model, usage)

Closing the iterator early (barge-in, `response.cancel`) must stop the upstream generation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from voxgate.core.types import JSONObject


@dataclass(frozen=True)
class ReplyRequest:
    """Chat `messages` and `tools` (chat-completions shape) for one response."""

    messages: list[JSONObject]
    tools: list[JSONObject]
    tool_choice: Any
    max_tokens: int | None
    temperature: float | None
    session_id: str

    def callable_names(self) -> frozenset[str]:
        """The functions the reply may call: the tools' names, none with `tool_choice` "none"."""
        if self.tool_choice == "none":
            return frozenset()
        functions = (tool.get("function") for tool in self.tools if isinstance(tool, dict))
        return frozenset(f["name"] for f in functions if isinstance(f, dict) and isinstance(f.get("name"), str))


@dataclass(frozen=True)
class ReplyRouted:
    """The router's choice; `over_budget` when no model fit the latency budget. `constraint` says
    which constraint decided the turn when both could not hold (`ROUTED_*`; "" when none was set)."""

    decision_id: str
    model: str
    over_budget: bool = False
    constraint: str = ""


ROUTED_WITHIN_BOTH = "budget_and_quality"  # a model met the latency budget and the quality floor
ROUTED_WITHIN_BUDGET = "budget"  # no quality floor set; a model met the budget
ROUTED_QUALITY_OVER_BUDGET = "quality"  # the floor held, the budget gave way
ROUTED_BEST_BELOW_FLOOR = "quality_best_below_floor"  # nothing met the floor: the best predicted quality
ROUTED_FASTEST_OVER_BUDGET = "latency_fastest_over_budget"  # no floor set, nothing met the budget: the fastest


@dataclass(frozen=True)
class ReplyText:
    delta: str


@dataclass(frozen=True)
class ReplyToolCall:
    """A piece of a tool call: `index` groups pieces; `call_id`/`name` arrive with the first piece."""

    index: int
    call_id: str | None
    name: str | None
    arguments_delta: str


@dataclass(frozen=True)
class ReplyFinished:
    """Who answered, the tokens, and the cascade stages tried ("a>b"; "" when the turn was not checked)."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    stages: str = ""


ReplyEvent = ReplyRouted | ReplyText | ReplyToolCall | ReplyFinished


class ReplySource(Protocol):
    def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]: ...


class ScriptedReplySource:
    """ReplySource for tests: answers each request with the next script entry (text, or tool calls).

    A script entry is a string (spoken in `chunk_chars` pieces) or a list of (name, arguments)
    tool calls. `requests` records what the session asked for.
    """

    def __init__(self, script: Iterable[str | list[tuple[str, str]]], *, chunk_chars: int = 8,
                 delay_s: float = 0.0) -> None:
        self._script = list(script)
        self._chunk_chars = chunk_chars
        self._delay_s = delay_s
        self.requests: list[ReplyRequest] = []
        self.closed_early = 0

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        self.requests.append(request)
        entry = self._script.pop(0) if self._script else "Okay."
        finished = False
        try:
            yield ReplyRouted(decision_id=f"dec-{len(self.requests)}", model="scripted")
            if isinstance(entry, str):
                for start in range(0, len(entry), self._chunk_chars):
                    await asyncio.sleep(self._delay_s)
                    yield ReplyText(entry[start : start + self._chunk_chars])
            else:
                for index, (name, arguments) in enumerate(entry):
                    yield ReplyToolCall(index, f"call_{index}", name, arguments[: len(arguments) // 2])
                    yield ReplyToolCall(index, None, None, arguments[len(arguments) // 2 :])
            yield ReplyFinished("scripted", prompt_tokens=10, completion_tokens=len(str(entry)) // 4 + 1)
            finished = True
        finally:
            if not finished:
                self.closed_early += 1
