"""Continuing an answer after its tool calls, so a model that stops after one call can add the
others a request needs. Pure; used by `toolcalls.FencedToolCallAdapter`.

The bundled Qwen2.5-Coder models write one call and end their answer where a request needs
several ("the weather in Boston and in San Francisco": measured on BFCL's parallel items, the
0.5B ends with `finish_reason: "stop"` after the first call, nothing in voxgate cuts it). Given
their calls back as the start of their answer, in Qwen's `<tool_call>` layout, they write the
call they left out (San Francisco after Boston, Maroon 5 after Taylor Swift) or end the answer at
once. llama.cpp continues a conversation's final assistant message ("assistant prefill"), so:

    continuation_body(body, calls)      the same request, its answer started with `calls`
    further_calls(text, calls, ...)     the calls the continuation starts with, less repeats
    forced_call_body(body, calls)       the same, its answer started with `calls` and `{"name": "`
    forced_call(sent, text, calls, ...) the one call a forced continuation wrote, if new
    described_call_body(body, name)     the same request, its answer started as a call to `name`
    add_usage(payload, usage)           a completion's or a chunk's `usage` with another request's added

Where the model ends its answer at once, it is pushed to write one more call (`forced_call_body`:
one line, started for it), which the adapter keeps only if it asks for something the calls made
do not (`toolcall_grounding.is_another_request`): measured on BFCL, the 1.5B ends its answer after
one call on parallel items with P(end) 0.99, as on single-call items, so no probability threshold
tells the two apart, while the call it writes when pushed is the one it left out (Paris after
Washington) on parallel items and a variation it invents ("feet" after "meters") on single ones.

A server that does not continue a final assistant message answers anew; what it says then is
read the same way, and a repeat of the calls made is dropped. The answer's `usage` counts every
request made for it (spend, token limits and the decision record read it), the continuation too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from voxgate.core.types import JSONObject, first_choice

from .tool_prompt import tool_call_block
from .toolcall_parser import ParsedToolCall, parse_leading_tool_calls

__all__ = [
    "CONTINUATION_MAX_TOKENS",
    "FORCED_MAX_TOKENS",
    "FORCED_START",
    "MAX_CALLS",
    "add_usage",
    "continuation_body",
    "described_call_body",
    "forced_call",
    "forced_call_body",
    "further_calls",
    "merge_continuation",
    "placeholder_call_body",
]

CONTINUATION_MAX_TOKENS = 256
"""Room for a few more calls; a continuation cut short yields the calls it finished."""
MAX_CALLS = 8
"""At most this many calls in one answer, continuation included (a model may list forever)."""
FORCED_START = '{"name": "'
"""How a forced continuation's call starts: the way the bundled models write a call after restated ones."""
FORCED_MAX_TOKENS = 160
"""One call's room; a call cut short is no call."""
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
_KEPT_KEYS = ("model", "messages", "temperature", "top_p", "seed", "logprobs", "top_logprobs")


def continuation_body(body: JSONObject, calls: Sequence[ParsedToolCall]) -> JSONObject:
    """`body` (the rendered upstream request) with its answer started by `calls`: not streamed,
    no `response_format` (a forced call's grammar would demand one more call), a bounded length."""
    started = "\n".join(tool_call_block(call.name, call.arguments) for call in calls) + "\n"
    continued = {key: body[key] for key in _KEPT_KEYS if key in body}
    continued["messages"] = [*body.get("messages", []), {"role": "assistant", "content": started}]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    continued["max_tokens"] = min(limit, CONTINUATION_MAX_TOKENS) if isinstance(limit, int) else (
        CONTINUATION_MAX_TOKENS)
    return continued


def forced_call_body(body: JSONObject, calls: Sequence[ParsedToolCall]) -> JSONObject:
    """`continuation_body` with the answer's next call started (`FORCED_START`), one line long."""
    forced = continuation_body(body, calls)
    started = forced["messages"][-1]["content"] + FORCED_START
    forced["messages"][-1] = {"role": "assistant", "content": started}
    forced["max_tokens"] = min(forced["max_tokens"], FORCED_MAX_TOKENS)
    forced["stop"] = ["\n"]
    return forced


def described_call_body(body: JSONObject, name: str) -> JSONObject:
    """`body` (the rendered upstream request) with its answer started as a call to `name`, one line
    long: an answer in words that named `name` (`toolcall_parser.described_functions`) asked for it.
    The arguments' object is opened too: after `"arguments": ` (a trailing space, which Qwen's tokens
    rarely end on) the 1.5B wrote a bare value (`"arguments": 100`) in 4 of 5 samples of one request,
    after `"arguments": {` a whole object in 6 of 6."""
    forced = forced_call_body(body, ())
    started = f'<tool_call>\n{FORCED_START}{name}", "arguments": {{'
    forced["messages"][-1] = {"role": "assistant", "content": started}
    return forced


def placeholder_call_body(body: JSONObject) -> JSONObject:
    """`body` (the rendered upstream request) with its answer started as a call to a function the model
    picks, one line long: an answer in words that held placeholders (`toolcall_parser.has_placeholders`)
    asked for the call that would give the values."""
    forced = forced_call_body(body, ())
    forced["messages"][-1] = {"role": "assistant", "content": f"<tool_call>\n{FORCED_START}"}
    return forced


def forced_call(
    sent: JSONObject, text: str, made: Sequence[ParsedToolCall], declared: Collection[str]
) -> ParsedToolCall | None:
    """The call a forced continuation (`sent`, from `forced_call_body` or `described_call_body`) wrote
    in `text`, when it is a whole call to a declared function and no repeat of one `made`; else None.
    `text` may hold the started answer too (llama.cpp gives it back) or only what was written after it."""
    started = sent["messages"][-1]["content"]
    call_start = started[started.rindex(FORCED_START):]
    written = text[len(started) - len(call_start):] if text.startswith(started) else call_start + text
    found = further_calls(written, made, declared)
    return found[0] if found else None


def further_calls(
    text: str, made: Sequence[ParsedToolCall], declared: Collection[str],
    tidy: Callable[[Sequence[ParsedToolCall]], list[ParsedToolCall]] = list,
) -> list[ParsedToolCall]:
    """The calls a continuation's `text` starts with, each passed through `tidy` (the adapter drops
    undeclared arguments there), that repeat none of the calls `made` or each other (arguments
    compared as parsed JSON), up to `MAX_CALLS` in all."""
    seen = {_call_key(call) for call in made}
    added: list[ParsedToolCall] = []
    for call in tidy(parse_leading_tool_calls(text, declared)):
        if len(made) + len(added) >= MAX_CALLS:
            break
        if _call_key(call) not in seen:
            seen.add(_call_key(call))
            added.append(call)
    return added


def add_usage(payload: JSONObject, more: object) -> None:
    """In place: `payload`'s `usage` (a completion's or a stream chunk's) replaced by one with the
    token counts of `more` (another request's `usage`) added. A payload without usage, or a `more`
    that is not a usage object, leaves it as it was (a stream without usage is estimated downstream)."""
    usage = payload.get("usage")
    if not isinstance(usage, dict) or not isinstance(more, dict):
        return
    added = {key: more[key] for key in _USAGE_KEYS if isinstance(more.get(key), int)}
    payload["usage"] = {**usage, **{key: int(usage.get(key) or 0) + count for key, count in added.items()}}


def _call_key(call: ParsedToolCall) -> tuple[str, str]:
    arguments: Any = json.loads(call.arguments)
    return call.name, json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def merge_continuation(completion: JSONObject, continued: JSONObject) -> None:
    """In place: `completion`'s usage and first choice's token log-probabilities with those of
    its continuation added."""
    add_usage(completion, continued.get("usage"))
    tokens, more_tokens = _logprob_tokens(completion), _logprob_tokens(continued)
    if tokens is not None and more_tokens is not None:
        tokens.extend(more_tokens)


def _logprob_tokens(completion: JSONObject) -> list[Any] | None:
    logprobs = first_choice(completion).get("logprobs")
    tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
    return tokens if isinstance(tokens, list) else None
