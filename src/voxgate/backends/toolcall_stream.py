"""ToolCallStreamRewriter: a stream of `chat.completion.chunk`s whose text holds tool calls,
turned into OpenAI tool_call delta chunks. Pure; used by `toolcalls.FencedToolCallAdapter`.

Chunks pass through until the first non-whitespace content. If that content may start a tool
call (or, with `echo_of`, may be the user's question read back), chunks are held until it is
decided; at `finish` held text that parses as tool calls becomes tool_call delta chunks plus a
`finish_reason: "tool_calls"` chunk (usage kept); anything else is released exactly as it arrived.
Prose that passed is still watched for calls after it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall, classify_tool_call_start, parse_tool_calls

__all__ = [
    "ToolCallStreamRewriter", "is_bare_reply", "is_echo", "is_refusal", "may_echo", "may_read_result_back",
    "may_refuse", "new_call_id", "reads_result_back", "tool_call_object",
]

_MID_STREAM_OPENERS = ("```", "<tool_call>", "\n{")
_CHUNK_IDENTITY_KEYS = ("id", "object", "created", "model", "system_fingerprint")


def _normalised(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def may_echo(text: str, question: str) -> bool:
    """Whether the answer so far could still be the user's question read back (it is its start)."""
    said = _normalised(text)
    return bool(said) and _normalised(question).startswith(said)


def is_echo(text: str, question: str | None) -> bool:
    """Whether a whole answer is the user's question read back (or at least half of it, from its
    start): what small models say after a tool result instead of using it ("Please calculate 1024 / 16.")."""
    if not question:
        return False
    said, asked = _normalised(text), _normalised(question)
    return bool(said) and asked.startswith(said) and 2 * len(said) >= len(asked)


BARE_REPLY_MAX_WORDS = 2


NULL_WORDS = frozenset({"none", "null", "nil", "undefined"})
"""What a tool that returns nothing comes back as ("None": BFCL's executor after `mkdir`, `mv`)."""


def is_bare_reply(text: str, results: str | None) -> bool:
    """Whether an answer after a tool result says nothing of it: at most two words, no number, none of
    them in the results ("Yes." or "Done" after a unit conversion; "Salute" or "64" are answers), or
    only a null word read back ("None" after a tool that returned nothing: measured, the 1.5B on BFCL
    multi_turn_base, 2026-12-04)."""
    if results is None or any(c.isdigit() for c in text):
        return False
    words = _normalised(text).split()
    if not words or len(words) > BARE_REPLY_MAX_WORDS:
        return False
    named = set(_normalised(results).split()) - NULL_WORDS
    return not any(word in named for word in words)


RESULT_TAG = "<tool_response>"


def reads_result_back(text: str, results: str | None) -> bool:
    """Whether an answer after a tool result opens with a `<tool_response>` block: the result (or an
    error) written back in the prompt's own layout instead of answered (measured: the 1.5B after
    BFCL's `mv` failed, `<tool_response>\n{"error": "mv: cannot move ..."}`)."""
    return results is not None and text.lstrip().startswith(RESULT_TAG)


def may_read_result_back(text: str, results: str | None) -> bool:
    """Whether the answer so far could still open with a `<tool_response>` block (it is the tag's start)."""
    said = text.lstrip()
    return results is not None and bool(said) and (RESULT_TAG.startswith(said) or said.startswith(RESULT_TAG))


_REFUSALS = frozenset(_normalised(phrase) for phrase in (
    "I'm sorry, but I can't assist with that.", "I'm sorry, but I can't assist with that request.",
    "I'm sorry, I can't assist with that.", "I'm sorry, but I can't help with that.",
    "I'm sorry, I can't help with that.", "I'm sorry, but I cannot assist with that.",
    "I can't assist with that.", "I can't help with that.", "Sorry, I can't help with that.",
))
"""Whole answers that refuse in the models' stock words (measured: the 1.5B after BFCL's
`get_stock_info` and `displayCarStatus` results, 2026-12-04)."""


def is_refusal(text: str, results: str | None) -> bool:
    """Whether an answer after a tool result is nothing but a stock refusal ("I'm sorry, but I can't
    assist with that."): the model called the tool, so it meant to help; the refusal says nothing of it."""
    return results is not None and _normalised(text) in _REFUSALS


def may_refuse(text: str, results: str | None) -> bool:
    """Whether the answer so far could still be a stock refusal (it is the start of one)."""
    said = _normalised(text)
    return results is not None and bool(said) and any(refusal.startswith(said) for refusal in _REFUSALS)


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id."""
    return "call_" + secrets.token_hex(12)


class ToolCallStreamRewriter:
    """Pure state machine over `chat.completion.chunk`s: `feed` each chunk, then `finish`.

    Chunks pass through until the first non-whitespace content. If that content may start a
    tool call, chunks are held until it is decided; at `finish` held text that parses as tool
    calls becomes tool_call delta chunks plus a `finish_reason: "tool_calls"` chunk (usage kept);
    anything else is released exactly as it arrived. Prose that passed is still watched: from a
    fence, a <tool_call> tag or a line opening with `{` on, text is held the same way (so calls
    after a sentence that narrates them are made, not read out); a few characters that may begin
    such an opener wait for the next chunk. The text sent is always the text received, less the
    calls. Passing prose's finishing chunk, and any after it, wait for `finish`, which may still
    end the answer with calls (`further`: a call the prose described, made by the adapter), after
    held text too when that is no call (`words_text`).
    """

    def __init__(
        self, declared: Collection[str], make_id: Callable[[], str] = new_call_id, max_calls: int | None = None,
        echo_of: str | None = None, results: str | None = None,
    ) -> None:
        self._declared = declared
        self._echo_of = echo_of  # prose that may be this question read back is held like a call
        self._results = results  # ... and prose that may be a bare reply to these tool results
        self._max_calls = max_calls
        self._make_id = make_id
        self._passing = False
        self._committed = False
        self._held: list[JSONObject] = []
        self._text: list[str] = []
        self._tail = ""
        self._tail_chunk: JSONObject | None = None
        self._released_content = False
        self._said: list[str] | None = []  # prose sent, while no call was held and one may still follow
        self._said_before_held: str | None = None  # prose sent before the text now held, when it was all prose
        self._ending: list[JSONObject] = []  # passing prose's finishing chunk and those after it
        self._continued = False  # `continuing` has sent its first text
        self._identity: JSONObject = {}

    def feed(self, chunk: JSONObject) -> list[JSONObject]:
        """The chunks to send now, given one more upstream chunk."""
        if not self._identity:
            self._identity = {key: chunk[key] for key in _CHUNK_IDENTITY_KEYS if key in chunk}
        if _has_several_choices(chunk):
            self._said = None
        if self._passing:
            return self._watch(chunk)
        content = _single_choice_content(chunk)
        if not self._held and (content is None or not content.strip()):
            if content is None and _has_several_choices(chunk):
                self._passing = True
            return [chunk]
        self._held.append(chunk)
        if content:
            self._text.append(content)
        if self._committed:
            return []
        text = "".join(self._text)
        verdict = classify_tool_call_start(text)
        if verdict is False and self._echo_of is not None and may_echo(text, self._echo_of):
            return []
        if verdict is False and (is_bare_reply(text, self._results) or may_read_result_back(text, self._results)
                                 or may_refuse(text, self._results)):
            return []
        if verdict is False or _has_several_choices(chunk):
            return self._release()
        self._committed = verdict is True
        return []

    def held_text(self) -> str | None:
        """The text held back so far, when no content has been sent yet (else None)."""
        if self._passing or self._released_content or not self._held:
            return None
        return "".join(self._text)

    def replace_held_text(self, text: str) -> str:
        """`text` held in place of the held text, which is dropped (no content has been sent and some is
        held: `held_text` is not empty); the held chunks' finish and usage stay for `finish`. Returns `text`."""
        content_chunks = [index for index, chunk in enumerate(self._held) if _single_choice_content(chunk)]
        self._held = [_with_content(chunk, text if index == content_chunks[0] else "")
                      if index in content_chunks else chunk for index, chunk in enumerate(self._held)]
        self._text = [text]
        return text

    def prose_text(self) -> str | None:
        """The whole answer, when it was sent as prose holding no call (else None)."""
        if not self._passing or self._held or self._said is None:
            return None
        return "".join(self._said) + self._tail

    def words_text(self) -> str | None:
        """The whole answer, when prose went out and the text held after it is no call (a fenced
        example of a call's arguments: "I would use `get_weather`. The arguments:\n```json ...");
        else None."""
        return self._after_prose(calls=False)

    def calls_after_prose(self) -> str | None:
        """The whole answer, when prose went out and the text held after it is calls (else None):
        for the adapter to judge those calls, which `continuing` may then replace with words."""
        return self._after_prose(calls=True)

    def _after_prose(self, *, calls: bool) -> str | None:
        """The prose that went out and the text held after it, when that text is calls (`calls`) or is
        no call (not `calls`); else None."""
        if self._passing or self._said_before_held is None or not self._held:
            return None
        held = "".join(self._text)
        is_calls = parse_tool_calls(held, self._declared) is not None
        return self._said_before_held + held if is_calls == calls else None

    def continuing(self, chunk: JSONObject) -> JSONObject:
        """`chunk` of an answer asked again in words, sent in place of the held calls after the prose
        that went out: under this answer's identity (id, created, model), without a second `role`, its
        first text set apart from the prose by a blank line. The held calls are dropped."""
        self._held, self._text = [], []
        out = {**chunk, **self._identity}
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return out
        first = choices[0]
        delta = {key: value for key, value in (first.get("delta") or {}).items() if key != "role"}
        content = delta.get("content")
        if isinstance(content, str) and content.strip() and not self._continued:
            self._continued = True
            said = self._said_before_held or ""
            delta["content"] = "\n" * max(0, 2 - (len(said) - len(said.rstrip("\n")))) + content.lstrip()
        elif isinstance(content, str) and not self._continued:
            delta["content"] = ""  # leading whitespace: the blank line stands for it
        return {**out, "choices": [{**first, "delta": delta}, *choices[1:]]}

    def finish(
        self, further: Sequence[ParsedToolCall] = (),
        settle: Callable[[list[ParsedToolCall]], list[ParsedToolCall]] | None = None,
    ) -> list[JSONObject]:
        """The chunks to send when the upstream stream has ended; held calls are followed by
        `further` calls (a continuation's, `toolcall_continuation`), all passed through `settle`."""
        if not self._held:
            tail, ending, self._ending = self._flush_tail(), self._ending, []
            if not further:
                return tail + ending
            self._held = ending
            calls = list(further)
        else:
            parsed = parse_tool_calls("".join(self._text), self._declared)
            if parsed is None and not further:
                return self._release()
            if parsed is None:  # text that is no call, then the calls it described
                return self._release_content() + self._tool_call_chunks(
                    settle(list(further)) if settle is not None else list(further))
            calls = [*parsed, *further]
        kept = calls[: self._max_calls]
        return self._tool_call_chunks(settle(kept) if settle is not None else kept)

    def _release(self) -> list[JSONObject]:
        self._passing = True
        self._released_content = True
        if self._said is not None:
            self._said.extend(self._text)
        held, self._held, self._text = self._held, [], []
        return held

    def _release_content(self) -> list[JSONObject]:
        """The held text, its finishing chunks kept back (without their text) for calls to end the answer."""
        out: list[JSONObject] = []
        for chunk in self._held:
            content = _single_choice_content(chunk)
            if _finish_reason(chunk) is None and chunk.get("choices"):
                out.append(chunk)
            elif content:
                out.append(_with_content({**chunk, "choices": [{**chunk["choices"][0], "finish_reason": None}]},
                                         content))
        self._held = [chunk for chunk in self._held if _finish_reason(chunk) is not None or not chunk.get("choices")]
        return out

    def _watch(self, chunk: JSONObject) -> list[JSONObject]:
        """Passing prose: send it on, unless a call may start in it (see the class docstring)."""
        content = _single_choice_content(chunk)
        finishing = _finish_reason(chunk) is not None
        if self._ending or (finishing and not content and self._said is not None):
            self._ending.append(chunk)
            return []
        if content is None or finishing:
            if finishing:  # the answer's end went out with text: no call can follow it
                self._said = None
            return [*self._flush_tail(), chunk]
        text = self._tail + content
        self._tail, self._tail_chunk = "", None
        start = _first_opener(text)
        if start is not None:
            self._passing, self._committed = False, True
            if self._said is not None:
                self._said_before_held = "".join(self._said) + text[:start]
            self._released_content, self._said = True, None
            self._held, self._text = [_with_content(chunk, text[start:])], [text[start:]]
            return [_with_content(chunk, text[:start])] if start else []
        waiting = _opener_prefix_length(text)
        if waiting:
            self._tail, self._tail_chunk = text[-waiting:], chunk
            text = text[:-waiting]
        if self._said is not None:
            self._said.append(text)
        return [_with_content(chunk, text)] if text else []

    def _flush_tail(self) -> list[JSONObject]:
        if not self._tail or self._tail_chunk is None:
            return []
        tail, self._tail = self._tail, ""
        return [_with_content(self._tail_chunk, tail)]

    def _tool_call_chunks(self, calls: list[ParsedToolCall]) -> list[JSONObject]:
        identity = self._identity
        chunks = [
            _call_chunk(identity, index, tool_call_object(call, self._make_id())) for index, call in enumerate(calls)
        ]
        finishing = [chunk for chunk in self._held if _finish_reason(chunk) is not None]
        trailing = [chunk for chunk in self._held if not chunk.get("choices")]
        if not finishing:
            finishing = [{**identity, "choices": [{"index": 0, "delta": {}, "finish_reason": None}]}]
        for chunk in finishing:
            choice = {**chunk["choices"][0], "delta": {}, "finish_reason": "tool_calls"}
            chunks.append({**chunk, "choices": [choice]})
        self._held, self._text = [], []
        return chunks + trailing


def tool_call_object(call: ParsedToolCall, call_id: str) -> JSONObject:
    """The OpenAI `tool_calls` entry for a parsed call."""
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _call_chunk(identity: JSONObject, index: int, tool_call: JSONObject) -> JSONObject:
    delta = {"tool_calls": [{"index": index, **tool_call}]}
    return {**identity, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def _first_opener(text: str) -> int | None:
    found = [index for index in (text.find(opener) for opener in _MID_STREAM_OPENERS) if index != -1]
    if not found:
        return None
    start = min(found)
    return start + 1 if text.startswith("\n{", start) else start


def _opener_prefix_length(text: str) -> int:
    """Length of the longest end of `text` that may be the beginning of an opener."""
    for length in range(min(len(text), max(map(len, _MID_STREAM_OPENERS)) - 1), 0, -1):
        if any(opener.startswith(text[-length:]) for opener in _MID_STREAM_OPENERS):
            return length
    return 0


def _with_content(chunk: JSONObject, content: str) -> JSONObject:
    """A copy of a single-choice content chunk carrying `content` instead."""
    choice = chunk["choices"][0]
    return {**chunk, "choices": [{**choice, "delta": {**choice["delta"], "content": content}}]}


def _single_choice_content(chunk: JSONObject) -> str | None:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        return None
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else None


def _has_several_choices(chunk: JSONObject) -> bool:
    choices = chunk.get("choices")
    return isinstance(choices, list) and len(choices) > 1


def _finish_reason(chunk: JSONObject) -> Any:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    return choices[0].get("finish_reason")
