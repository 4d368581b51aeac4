"""Calls the model wrote whole, kept from an answer whose text is no whole call list. Pure.

Small models sometimes write a list argument that repeats itself until the token limit cuts the
answer (measured: the 1.5B on BFCL multi_turn_base_175, `post_tweet` with `tags` cycling through the
same few hashtags; the 0.5B likewise). The text is then no whole call, so it is neither a call nor
words: a chat client would get broken JSON. `repaired_call` closes such a call where its last whole
list item ends and drops the list's repeats, so the call stands as the model meant it up to the
point where it began to loop. Only that case: a cut anywhere else (inside a string, an object, a list
whose items do not repeat) is left alone, because what is missing there cannot be known.

Whole calls followed by one that is not JSON are kept, the broken one dropped (measured: the 1.5B on
BFCL multi_turn_base_175, a whole `post_tweet` call, then `retweet` with `"tweet_id": <tweet-id>`, a
placeholder for what the first call's result will say; the model can make it once it has that result).

    repaired_calls(text, declared)  the calls kept, or [] (nothing to repair, or nothing that can be)
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from .toolcall_parser import ParsedToolCall, classify_tool_call_start, parse_leading_tool_calls, parse_tool_calls

__all__ = ["MIN_REPEATS", "repaired_calls"]

MIN_REPEATS = 2
"""A cut list counts as runaway when at least this many of its whole items repeat earlier ones."""

_CLOSERS = {"{": "}", "[": "]"}


def repaired_calls(text: str, declared: Collection[str]) -> list[ParsedToolCall]:
    """When `text` opens as calls to declared functions but is no whole call list: the whole calls it
    starts with, if any; else, when it ends inside a list whose whole items repeat (`MIN_REPEATS`), that
    one call with the list closed after its last whole item and its repeats dropped (that list only);
    else []. Text that already parses as calls is no business of this ([])."""
    if classify_tool_call_start(text) is not True or parse_tool_calls(text, declared) is not None:
        return []
    leading = parse_leading_tool_calls(text, declared)
    if leading:
        return leading
    call = _runaway_call(text, declared)
    return [call] if call is not None else []


def _runaway_call(text: str, declared: Collection[str]) -> ParsedToolCall | None:
    """The one call `text` opens, closed after the last whole item of the runaway list it was cut in."""
    start = text.find("{")
    cut = _last_list_cut(text, start) if start != -1 else None
    if cut is None:
        return None
    end, open_containers = cut
    try:
        value: Any = json.loads(text[start:end] + "".join(_CLOSERS[c] for c in reversed(open_containers)))
    except (ValueError, RecursionError):
        return None
    runaway = _runaway_list(value, len(open_containers) - 1) if isinstance(value, dict) else None
    if runaway is None:
        return None
    runaway[:] = [json.loads(item) for item in dict.fromkeys(json.dumps(item) for item in runaway)]
    calls = parse_tool_calls(json.dumps(value, ensure_ascii=False), declared)
    return calls[0] if calls is not None and len(calls) == 1 else None


def _last_list_cut(text: str, start: int) -> tuple[int, list[str]] | None:
    """(where to cut, the containers open there) at the last comma between two items of a list, when
    the text ends inside that list (or inside one of its items) and no container closed after it."""
    stack: list[str] = []
    in_string = escaped = False
    cut: tuple[int, list[str]] | None = None
    for position in range(start, len(text)):
        char = text[position]
        if in_string:
            escaped = char == "\\" and not escaped
            in_string = escaped or char != '"'
            continue
        if char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(char)
        elif char in "}]":
            if not stack or _CLOSERS[stack.pop()] != char:
                return None
            if not stack:
                return None  # the call closed: not cut short
            if cut is not None and len(stack) < len(cut[1]):
                cut = None  # the list that was cut closed after all
        elif char == "," and stack and stack[-1] == "[":
            cut = position, list(stack)
    if cut is None or not stack or len(stack) < len(cut[1]) or stack[: len(cut[1])] != cut[1]:
        return None
    return cut


def _runaway_list(value: Any, depth: int) -> list[Any] | None:
    """The list `depth` levels down the last child at each level (the one the cut closed), when it holds
    only scalars of which at least `MIN_REPEATS` repeat earlier ones; else None."""
    for _ in range(depth):
        children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
        if not children:
            return None
        value = children[-1]
    if not isinstance(value, list) or any(isinstance(item, dict | list) for item in value):
        return None
    distinct = list(dict.fromkeys(json.dumps(item) for item in value))
    return value if len(value) - len(distinct) >= MIN_REPEATS else None
