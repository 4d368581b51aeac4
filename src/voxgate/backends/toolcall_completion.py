"""A whole (non-streamed) completion's text read and rewritten as OpenAI `tool_calls`. Pure; used by
`toolcalls.FencedToolCallAdapter`.

    rewrite_completion(completion, declared, ...)  text that is calls to declared functions -> tool_calls
    first_content(completion)                      the first choice's text
    with_usage(usage, more)                        a usage object with another's token counts added
    aclose_stream(iterator)                        an upstream stream closed
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence

from voxgate.core.types import JSONObject, first_choice

from .toolcall_continuation import add_usage
from .toolcall_parser import ParsedToolCall, split_prose_and_calls
from .toolcall_stream import tool_call_object

__all__ = ["Settle", "aclose_stream", "first_content", "rewrite_completion", "with_usage"]

Settle = Callable[[list[ParsedToolCall]], list[ParsedToolCall]]


def rewrite_completion(
    completion: JSONObject, declared: Collection[str], make_id: Callable[[], str], max_calls: int | None = None,
    further: Sequence[ParsedToolCall] = (), settle: Settle | None = None,
) -> None:
    """In place: turn each choice whose text is (prose and then) calls to declared functions into
    tool_calls, at most `max_calls` of them, the first choice's followed by `further` calls, each
    choice's calls passed through `settle`; the prose stays as `content`."""
    choices = completion.get("choices")
    for position, choice in enumerate(choices if isinstance(choices, list) else ()):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or message.get("tool_calls"):
            continue
        content = message.get("content")
        found = split_prose_and_calls(content, declared) if isinstance(content, str) else None
        if found is None:
            continue
        prose, calls = found[0], [*found[1], *(further if position == 0 else ())][:max_calls]
        calls = settle(calls) if settle is not None else calls
        message["content"] = prose or None
        message["tool_calls"] = [tool_call_object(call, make_id()) for call in calls]
        choice["finish_reason"] = "tool_calls"


def with_usage(usage: object, more: object) -> object:
    """`usage` (a usage object, or None) with the token counts of `more` added (`add_usage`)."""
    if not isinstance(usage, dict):
        return more if isinstance(more, dict) else usage
    payload: JSONObject = {"usage": usage}
    add_usage(payload, more)
    return payload["usage"]


def first_content(completion: JSONObject) -> str | None:
    message = first_choice(completion).get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


async def aclose_stream(iterator: AsyncIterator[JSONObject]) -> None:
    """Close an upstream stream (an async generator's `aclose`), if it can be closed."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
