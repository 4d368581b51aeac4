"""FencedToolCallAdapter: native OpenAI tool use for models that write tool calls as text.

For cards with `tool_call_style == ToolCallStyle.FENCED_JSON` (the Qwen2.5-Coder GGUFs). The
conversation goes upstream as plain text in Qwen2.5's own conventions (`tool_prompt`): the tool
signatures in the system turn, earlier calls as `<tool_call>` blocks, results as
`<tool_response>` blocks in a user turn; `tools` itself is never sent. Then, by `tool_choice`:

    no tools            pass through untouched (a history with tool turns is still rendered)
    "none"              no signatures; the model answers in words
    "auto" (default)    answer text that is calls to declared functions -> tool_calls (prose
                        before the calls stays as `content`, in streams too)
    "required"          also a JSON-schema `response_format` allowing any one declared call,
                        which llama.cpp enforces as a grammar; convert the answer
    {"function": X}     the same with a schema allowing only X

`parallel_tool_calls: false` keeps only the first call. Right after a tool result (`tool_choice`
auto), an answer that only repeats calls already answered, or is call-like text that is not a
call (the call again with the result echoed), is asked again once without the tool signatures,
so the model answers in words: small models do that otherwise (measured: qwen2.5-coder-0.5b).
Streams pass through untouched until the first non-whitespace content; an answer that starts
like a tool call is held back and, at the end, sent as tool_call delta chunks (or, if it was not
a call after all, as the content chunks that were held).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject

from .base import ChatBackend
from .tool_prompt import render_tool_messages
from .tool_validation import answered_calls
from .toolcall_parser import (
    ParsedToolCall,
    classify_tool_call_start,
    declared_functions,
    forced_call_response_format,
    parse_tool_calls,
    split_prose_and_calls,
)

__all__ = ["FencedToolCallAdapter", "ToolCallPlan", "ToolCallStreamRewriter", "parse_tool_calls", "plan_request"]

_TOOL_KEYS = ("tools", "tool_choice", "parallel_tool_calls")
_MID_STREAM_OPENERS = ("```", "<tool_call>", "\n{")
_CALL_LIKE_MARKERS = ("<tool_call>", '{"name"', '"arguments"')
_ANSWER_IN_WORDS = "Using these results, answer my question in plain words."
_CHUNK_IDENTITY_KEYS = ("id", "object", "created", "model", "system_fingerprint")


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id."""
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class ToolCallPlan:
    """What to send upstream, which function names to recognise in the answer (None: none), and
    how many calls an answer may make (`parallel_tool_calls: false` -> 1)."""

    body: JSONObject
    declared: frozenset[str] | None
    max_calls: int | None = None
    words_body: JSONObject | None = None
    """After a tool result: the same conversation without signatures, to ask again in words."""
    answered: frozenset[tuple[str, str]] = frozenset()


def plan_request(body: JSONObject) -> ToolCallPlan:
    """Decide how to send `body` to a model that writes tool calls as text. Pure.

    Raises InvalidRequestError when `tool_choice` names a function that `tools` does not declare.
    """
    functions = declared_functions(body.get("tools"))
    if not functions:
        if not has_tool_turns(body.get("messages")):
            return ToolCallPlan(body, None)
        return ToolCallPlan(_rendered(body, None), None)
    choice = body.get("tool_choice", "auto")
    if choice == "none":
        return ToolCallPlan(_rendered(body, None), None)
    max_calls = 1 if body.get("parallel_tool_calls", True) is False else None
    upstream = _rendered(body, body["tools"])
    if choice == "required":
        forced = list(functions.values())
    elif isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name not in functions:
            message = "`tool_choice` names a function that `tools` does not declare"
            raise InvalidRequestError(message, param="tool_choice")
        forced = [functions[name]]
    else:
        messages = body.get("messages")
        if not _ends_with_tool_result(messages):
            return ToolCallPlan(upstream, frozenset(functions), max_calls)
        answered = frozenset((name, _loose_arguments(json.loads(arguments))) for name, arguments in
                             answered_calls(messages))
        return ToolCallPlan(upstream, frozenset(functions), max_calls, _words_body(body), answered)
    upstream["response_format"] = forced_call_response_format(forced)
    return ToolCallPlan(upstream, frozenset(function["name"] for function in forced), max_calls)


def has_tool_turns(messages: object) -> bool:
    """Whether a conversation holds assistant tool calls or `tool` results."""
    return isinstance(messages, list) and any(
        isinstance(message, dict) and (message.get("role") == "tool" or bool(message.get("tool_calls")))
        for message in messages
    )


def _ends_with_tool_result(messages: object) -> bool:
    last = messages[-1] if isinstance(messages, list) and messages else None
    return isinstance(last, dict) and last.get("role") == "tool"


def repeats_answered_calls(text: str, declared: Collection[str], answered: Collection[tuple[str, str]]) -> bool:
    """Whether an answer right after a tool result fails to use it: only calls already made and
    answered (arguments compared loosely: case, spaces and punctuation ignored, as small models
    re-call with "1024/16" for "1024 / 16"), call-like text that is no call (the call again with
    the result echoed), or bare JSON (the result read back). `answered` holds (name, loose
    arguments) pairs (`ToolCallPlan.answered`). Pure."""
    found = split_prose_and_calls(text, declared)
    if found is None:
        return any(marker in text for marker in _CALL_LIKE_MARKERS) or text.strip()[:1] in ("{", "[")
    return all((call.name, _loose_arguments(json.loads(call.arguments))) in answered for call in found[1])


def _loose_arguments(arguments: Any) -> str:
    return json.dumps(_loose(arguments), sort_keys=True)


def _loose(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(character for character in value.lower() if character.isalnum())
    if isinstance(value, dict):
        return {key: _loose(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_loose(item) for item in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _words_body(body: JSONObject) -> JSONObject:
    """The conversation without signatures, the results followed by a request to answer in words."""
    words = _rendered(body, None)
    last = words["messages"][-1]
    words["messages"][-1] = {**last, "content": f"{last['content']}\n\n{_ANSWER_IN_WORDS}"}
    return words


def _rendered(body: JSONObject, tools: Any) -> JSONObject:
    upstream = _without_tools(body)
    messages = body.get("messages")
    upstream["messages"] = render_tool_messages(messages if isinstance(messages, list) else [], tools)
    return upstream


def rewrite_completion(
    completion: JSONObject, declared: Collection[str], make_id: Callable[[], str], max_calls: int | None = None
) -> None:
    """In place: turn each choice whose text is (prose and then) calls to declared functions into
    tool_calls, at most `max_calls` of them; the prose stays as `content`."""
    choices = completion.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or message.get("tool_calls"):
            continue
        content = message.get("content")
        found = split_prose_and_calls(content, declared) if isinstance(content, str) else None
        if found is None:
            continue
        prose, calls = found[0], found[1][:max_calls]
        message["content"] = prose or None
        message["tool_calls"] = [_tool_call(call, make_id()) for call in calls]
        choice["finish_reason"] = "tool_calls"


class ToolCallStreamRewriter:
    """Pure state machine over `chat.completion.chunk`s: `feed` each chunk, then `finish`.

    Chunks pass through until the first non-whitespace content. If that content may start a
    tool call, chunks are held until it is decided; at `finish` held text that parses as tool
    calls becomes tool_call delta chunks plus a `finish_reason: "tool_calls"` chunk (usage kept);
    anything else is released exactly as it arrived. Prose that passed is still watched: from a
    fence, a <tool_call> tag or a line opening with `{` on, text is held the same way (so calls
    after a sentence that narrates them are made, not read out); a few characters that may begin
    such an opener wait for the next chunk. The text sent is always the text received, less the
    calls.
    """

    def __init__(
        self, declared: Collection[str], make_id: Callable[[], str] = new_call_id, max_calls: int | None = None
    ) -> None:
        self._declared = declared
        self._max_calls = max_calls
        self._make_id = make_id
        self._passing = False
        self._committed = False
        self._held: list[JSONObject] = []
        self._text: list[str] = []
        self._tail = ""
        self._tail_chunk: JSONObject | None = None
        self._released_content = False

    def feed(self, chunk: JSONObject) -> list[JSONObject]:
        """The chunks to send now, given one more upstream chunk."""
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
        verdict = classify_tool_call_start("".join(self._text))
        if verdict is False or _has_several_choices(chunk):
            return self._release()
        self._committed = verdict is True
        return []

    def held_text(self) -> str | None:
        """The text held back so far, when no content has been sent yet (else None)."""
        if self._passing or self._released_content or not self._held:
            return None
        return "".join(self._text)

    def finish(self) -> list[JSONObject]:
        """The chunks to send when the upstream stream has ended."""
        if not self._held:
            return self._flush_tail()
        calls = parse_tool_calls("".join(self._text), self._declared)
        if calls is None:
            return self._release()
        return self._tool_call_chunks(calls[: self._max_calls])

    def _release(self) -> list[JSONObject]:
        self._passing = True
        self._released_content = True
        held, self._held, self._text = self._held, [], []
        return held

    def _watch(self, chunk: JSONObject) -> list[JSONObject]:
        """Passing prose: send it on, unless a call may start in it (see the class docstring)."""
        content = _single_choice_content(chunk)
        if content is None or _finish_reason(chunk) is not None:
            return [*self._flush_tail(), chunk]
        text = self._tail + content
        self._tail, self._tail_chunk = "", None
        start = _first_opener(text)
        if start is not None:
            self._passing, self._committed = False, True
            self._released_content = True
            self._held, self._text = [_with_content(chunk, text[start:])], [text[start:]]
            return [_with_content(chunk, text[:start])] if start else []
        waiting = _opener_prefix_length(text)
        if waiting:
            self._tail, self._tail_chunk = text[-waiting:], chunk
            text = text[:-waiting]
        return [_with_content(chunk, text)] if text else []

    def _flush_tail(self) -> list[JSONObject]:
        if not self._tail or self._tail_chunk is None:
            return []
        tail, self._tail = self._tail, ""
        return [_with_content(self._tail_chunk, tail)]

    def _tool_call_chunks(self, calls: list[ParsedToolCall]) -> list[JSONObject]:
        identity = {key: self._held[0][key] for key in _CHUNK_IDENTITY_KEYS if key in self._held[0]}
        chunks = [_call_chunk(identity, index, _tool_call(call, self._make_id())) for index, call in enumerate(calls)]
        finishing = [chunk for chunk in self._held if _finish_reason(chunk) is not None]
        trailing = [chunk for chunk in self._held if not chunk.get("choices")]
        if not finishing:
            finishing = [{**identity, "choices": [{"index": 0, "delta": {}, "finish_reason": None}]}]
        for chunk in finishing:
            choice = {**chunk["choices"][0], "delta": {}, "finish_reason": "tool_calls"}
            chunks.append({**chunk, "choices": [choice]})
        self._held, self._text = [], []
        return chunks + trailing


class FencedToolCallAdapter:
    """Wraps a ChatBackend whose model writes tool calls as text; presents native tool_calls."""

    def __init__(self, inner: ChatBackend, *, make_call_id: Callable[[], str] = new_call_id) -> None:
        self.model_id = inner.model_id
        self._inner = inner
        self._make_call_id = make_call_id

    async def complete(self, body: JSONObject) -> JSONObject:
        """Non-streaming call; text tool calls come back as `tool_calls`."""
        plan = plan_request(body)
        completion = await self._inner.complete(plan.body)
        if plan.words_body is not None and plan.declared is not None:
            text = _first_content(completion)
            if text is not None and repeats_answered_calls(text, plan.declared, plan.answered):
                return await self._inner.complete(plan.words_body)  # asked without tools: words
        if plan.declared is not None:
            rewrite_completion(completion, plan.declared, self._make_call_id, plan.max_calls)
        return completion

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Streaming call; without tools this is the inner backend's stream itself (no overhead)."""
        plan = plan_request(body)
        if plan.declared is None:
            return self._inner.stream(plan.body)
        return self._rewrite_stream(plan, plan.declared)

    async def aclose(self) -> None:
        """Close the wrapped backend."""
        await self._inner.aclose()

    async def _rewrite_stream(self, plan: ToolCallPlan, declared: frozenset[str]) -> AsyncIterator[JSONObject]:
        rewriter = ToolCallStreamRewriter(declared, self._make_call_id, plan.max_calls)
        upstream = self._inner.stream(plan.body)
        try:
            async for chunk in upstream:
                for out in rewriter.feed(chunk):
                    yield out
        finally:
            await _aclose(upstream)
        held = rewriter.held_text()
        if plan.words_body is not None and held is not None and repeats_answered_calls(held, declared, plan.answered):
            again = self._inner.stream(plan.words_body)
            try:
                async for chunk in again:
                    yield chunk
            finally:
                await _aclose(again)
            return
        for out in rewriter.finish():
            yield out


def _without_tools(body: JSONObject) -> JSONObject:
    return {key: value for key, value in body.items() if key not in _TOOL_KEYS}


def _tool_call(call: ParsedToolCall, call_id: str) -> JSONObject:
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _call_chunk(identity: JSONObject, index: int, tool_call: JSONObject) -> JSONObject:
    delta = {"tool_calls": [{"index": index, **tool_call}]}
    return {**identity, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def _first_content(completion: JSONObject) -> str | None:
    choices = completion.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


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


async def _aclose(iterator: AsyncIterator[JSONObject]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
