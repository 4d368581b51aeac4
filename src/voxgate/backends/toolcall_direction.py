"""A call that gives a trip's (or a conversion's) two ends the wrong way round, put the way the user said. Pure.

Small models asked with tools fill a source argument and a target argument from "from A to B" the
wrong way round: `traffic_estimate(start_location: "Los Angeles", end_location: "Las Vegas")` for
"How much traffic should I expect from Las Vegas to Los Angeles this weekend?" (BFCL multiple_66).
Where the user's words say "from A to B" and a call gives its source argument B's words and its target
argument A's words (and neither the other way round), the two values are swapped.

A source and a target argument are a pair of one function's arguments whose names differ only in a
source word (start, from, origin, source, departure...) and a target word (end, to, destination,
target, arrival...): `start_location`/`end_location`, `from_currency`/`to_currency`, `origin`/
`destination`. A value names a span of the user's words when the words of one hold all of the other's
("Las Vegas, NV" names "Las Vegas"). Measured offline over BFCL's 3,152 reference calls
(`bench/tool_direction.py`): of the 144 that give such a pair where the request says "from A to B",
none would be swapped.

    swapped_arguments(arguments, request)   the arguments with such pairs put the right way, and the
                                            names of the arguments swapped
    settled_directions(calls, request)      the same for parsed calls
    source_target_pairs(arguments)          the (source, target) pairs of argument names
    from_to_spans(request)                  (A, B) for each "from A to B" in the request
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import argument_name_words

__all__ = ["from_to_spans", "settled_directions", "source_target_pairs", "swapped_arguments"]

SOURCE_WORDS = frozenset({"start", "starting", "from", "origin", "source", "departure", "depart", "begin"})
TARGET_WORDS = frozenset({"end", "ending", "to", "destination", "dest", "target", "arrival", "arrive"})
_FROM_TO = re.compile(
    r"\bfrom\s+(?:the\s+)?(.+?)\s+to\s+(?:the\s+)?(.+?)(?=[,.?!;]|\s+(?:by|in|on|at|for|this|next|using|via|"
    r"with|and|during|over|tomorrow|today|tonight)\b|$)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def swapped_arguments(arguments: Any, request: str) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) with each source/target pair the user's words say the other
    way round ("from A to B") swapped, and the names of the arguments swapped (module docstring)."""
    if not isinstance(arguments, dict):
        return arguments, ()
    spans = from_to_spans(request)
    settled, swapped = dict(arguments), []
    for source, target in source_target_pairs(arguments) if spans else ():
        given_source, given_target = settled[source], settled[target]
        if any(_names(given_source, to) and _names(given_target, start)
               and not _names(given_source, start) and not _names(given_target, to) for start, to in spans):
            settled[source], settled[target] = given_target, given_source
            swapped += [source, target]
    return (settled, tuple(swapped)) if swapped else (arguments, ())


def settled_directions(calls: Sequence[ParsedToolCall], request: str) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with their source/target pairs put the way `request` says (`swapped_arguments`), and the
    names of the arguments swapped (empty: the calls as they were)."""
    return rewritten_calls(calls, lambda _call, arguments: swapped_arguments(arguments, request), ensure_ascii=False)


def from_to_spans(request: str) -> list[tuple[str, str]]:
    """(A, B) for each "from A to B" in `request`."""
    return [(match.group(1), match.group(2)) for match in _FROM_TO.finditer(request)]


def source_target_pairs(arguments: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) argument names: the same words but for a source word and a target word."""
    pairs = []
    for source in arguments:
        source_words = argument_name_words(source)
        if SOURCE_WORDS.isdisjoint(source_words):
            continue
        rest = [word for word in source_words if word not in SOURCE_WORDS]
        pairs += [(source, target) for target in arguments if not TARGET_WORDS.isdisjoint(argument_name_words(target))
                  and [word for word in argument_name_words(target) if word not in TARGET_WORDS] == rest]
    return pairs


def _names(value: Any, span: str) -> bool:
    if not isinstance(value, str):
        return False
    value_words, span_words = set(_WORD.findall(value.lower())), set(_WORD.findall(span.lower()))
    return bool(value_words) and bool(span_words) and (value_words <= span_words or span_words <= value_words)
