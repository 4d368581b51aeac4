"""FencedToolCallAdapter: native OpenAI `tool_calls` for models that write tool calls as text.

For cards with `tool_call_style == ToolCallStyle.FENCED_JSON` (the Qwen2.5-Coder GGUFs). What it
does depends on the request's `tool_choice`:

    no tools            pass through untouched
    "none"              drop `tools`/`tool_choice` upstream, pass the answer through
    "auto" (default)    send as is; answer text that is a call to a declared function -> tool_calls
    "required"          send (instead of tools) a JSON-schema `response_format` allowing any one
                        declared call, which llama.cpp enforces as a grammar; convert the answer
    {"function": X}     the same with a schema allowing only X

Streams pass through untouched until the first non-whitespace content; an answer that starts like
a tool call is held back and, at the end, sent as tool_call delta chunks (or, if it was not a
call after all, as the content chunks that were held).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject

from .base import ChatBackend
from .toolcall_parser import (
    ParsedToolCall,
    classify_tool_call_start,
    declared_functions,
    forced_call_response_format,
    parse_tool_calls,
)

__all__ = ["FencedToolCallAdapter", "ToolCallPlan", "ToolCallStreamRewriter", "parse_tool_calls", "plan_request"]

_TOOL_KEYS = ("tools", "tool_choice", "parallel_tool_calls")
_CHUNK_IDENTITY_KEYS = ("id", "object", "created", "model", "system_fingerprint")


def new_call_id() -> str:
    """A fresh OpenAI-style tool call id."""
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class ToolCallPlan:
    """What to send upstream, and which function names to recognise in the answer (None: none)."""

    body: JSONObject
    declared: frozenset[str] | None


def plan_request(body: JSONObject) -> ToolCallPlan:
    """Decide how to send `body` to a model that writes tool calls as text. Pure.

    Raises InvalidRequestError when `tool_choice` names a function that `tools` does not declare.
    """
    functions = declared_functions(body.get("tools"))
    if not functions:
        return ToolCallPlan(body, None)
    choice = body.get("tool_choice", "auto")
    if choice == "none":
        return ToolCallPlan(_without_tools(body), None)
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
        return ToolCallPlan(body, frozenset(functions))
    upstream = _without_tools(body)
    upstream["response_format"] = forced_call_response_format(forced)
    return ToolCallPlan(upstream, frozenset(function["name"] for function in forced))


def rewrite_completion(completion: JSONObject, declared: Collection[str], make_id: Callable[[], str]) -> None:
    """In place: turn each choice whose text is a call to a declared function into tool_calls."""
    choices = completion.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or message.get("tool_calls"):
            continue
        content = message.get("content")
        calls = parse_tool_calls(content, declared) if isinstance(content, str) else None
        if calls is None:
            continue
        message["content"] = None
        message["tool_calls"] = [_tool_call(call, make_id()) for call in calls]
        choice["finish_reason"] = "tool_calls"


class ToolCallStreamRewriter:
    """Pure state machine over `chat.completion.chunk`s: `feed` each chunk, then `finish`.

    Chunks pass through until the first non-whitespace content. If that content may start a
    tool call, chunks are held until it is decided; at `finish` held text that parses as tool
    calls becomes tool_call delta chunks plus a `finish_reason: "tool_calls"` chunk (usage kept);
    anything else is released exactly as it arrived.
    """

    def __init__(self, declared: Collection[str], make_id: Callable[[], str] = new_call_id) -> None:
        self._declared = declared
        self._make_id = make_id
        self._passing = False
        self._committed = False
        self._held: list[JSONObject] = []
        self._text: list[str] = []

    def feed(self, chunk: JSONObject) -> list[JSONObject]:
        """The chunks to send now, given one more upstream chunk."""
        if self._passing:
            return [chunk]
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

    def finish(self) -> list[JSONObject]:
        """The chunks to send when the upstream stream has ended."""
        if not self._held:
            return []
        calls = parse_tool_calls("".join(self._text), self._declared)
        if calls is None:
            return self._release()
        return self._tool_call_chunks(calls)

    def _release(self) -> list[JSONObject]:
        self._passing = True
        held, self._held, self._text = self._held, [], []
        return held

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
        if plan.declared is not None:
            rewrite_completion(completion, plan.declared, self._make_call_id)
        return completion

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Streaming call; without tools this is the inner backend's stream itself (no overhead)."""
        plan = plan_request(body)
        if plan.declared is None:
            return self._inner.stream(plan.body)
        return self._rewrite_stream(plan.body, plan.declared)

    async def aclose(self) -> None:
        """Close the wrapped backend."""
        await self._inner.aclose()

    async def _rewrite_stream(self, body: JSONObject, declared: frozenset[str]) -> AsyncIterator[JSONObject]:
        rewriter = ToolCallStreamRewriter(declared, self._make_call_id)
        upstream = self._inner.stream(body)
        try:
            async for chunk in upstream:
                for out in rewriter.feed(chunk):
                    yield out
            for out in rewriter.finish():
                yield out
        finally:
            await _aclose(upstream)


def _without_tools(body: JSONObject) -> JSONObject:
    return {key: value for key, value in body.items() if key not in _TOOL_KEYS}


def _tool_call(call: ParsedToolCall, call_id: str) -> JSONObject:
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _call_chunk(identity: JSONObject, index: int, tool_call: JSONObject) -> JSONObject:
    delta = {"tool_calls": [{"index": index, **tool_call}]}
    return {**identity, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


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
