"""A list argument holding every declared choice, or padded past what the user listed, cut to the
items the conversation names. Pure.

Small models asked with tools fill an argument that is a list of `enum` choices with all of the
choices, where the request asked for some (`cuisine: ["Seafood", "Italian", "Indian", "Chinese"]`
for "a seafood restaurant": BFCL multiple_90). Where such a list holds every declared choice and
the conversation names some of them but not all, the list keeps the ones it names. An item is
named when one of its words (of 3 letters or more, or its only word) meets a word of the text on
their first 5 letters ("Gluten-free" for "gluten free" does; "Carbohydrates" for "carbs" does not).
Checked offline on BFCL's items other than the 98 of `bench/results/bfcl_ab.md`: given every
choice where a right answer is a shorter list, the cut list is a right answer in 32 of 71; of
the 64 right answers that are lists of 2 or more, 1 would be cut (it is the whole list, and the
request names only part of it). A list that is not every choice is never cut: the exact phrase
rule that would also catch a neighbour (`["Guitar Lessons", "Violin Lessons"]` for "a guitar shop
that offers violin lessons") cut 14 of those 64 right lists (paraphrases: "toll roads", "carbs").

The same cut applies to any list of strings that holds **two or more** items the conversation names
and others it does not: the user listed what they want, and the model padded the list (`ingredients:
["Pasta", "Cheese", "Tomato", "Onion", "Garlic", "Salt", "Pepper"]` for "a vegetarian pasta with
cheese": BFCL multiple_184, both bundled models). Of BFCL's 169 right answers that are lists of 2
strings or more (every call category), 1 would be cut ("carbs" does not name "Carbohydrates"); with
one named item the rule would cut 5 more (a category said in other words: "vegetarian" for "vegan"),
so one is not enough.

    trimmed_arguments(arguments, function, text)   the arguments with such lists cut, and the
                                                   names of the arguments cut
    settled_calls(calls, functions, text)          the same for parsed calls
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import declared_properties

__all__ = ["names_item", "settled_calls", "trimmed_arguments"]

MIN_NAMED_OF_PADDED = 2
"""A list of strings, `enum` or not, with at least this many items the conversation names is cut to them."""
MATCH_CHARS = 5
MIN_WORD_CHARS = 3
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def trimmed_arguments(arguments: Any, function: JSONObject | None, text: str) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) with each top-level list that holds every `enum` string
    its array schema declares cut to the items `text` names, where it names some but not all, and
    each other list of strings of which `text` names at least MIN_NAMED_OF_PADDED items but not all
    cut to those; and the names of the arguments cut."""
    properties = declared_properties(function)
    if not isinstance(arguments, dict) or properties is None:
        return arguments, ()
    stems = {word[:MATCH_CHARS] for word in _WORD.findall(text.lower())}
    trimmed, cut = dict(arguments), []
    for key, value in arguments.items():
        every_choice = _holds_every_choice(value, properties.get(key))
        if not every_choice and not _is_string_list(value):
            continue
        named = [item for item in value if names_item(stems, item)]
        if len(named) >= (1 if every_choice else MIN_NAMED_OF_PADDED) and len(named) < len(value):
            trimmed[key] = named
            cut.append(key)
    return (trimmed, tuple(cut)) if cut else (arguments, ())


def names_item(stems: set[str], item: str) -> bool:
    """Whether one of `item`'s words (3 letters or more, or its only word) is among `stems` (the
    text's words cut to their first 5 letters), on its first 5 letters."""
    words = _WORD.findall(item.lower())
    return any(word[:MATCH_CHARS] in stems for word in words if len(word) >= MIN_WORD_CHARS or len(words) == 1)


def _is_string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _holds_every_choice(value: object, schema: object) -> bool:
    """A list of two or more strings that is every `enum` string its array schema declares for items."""
    items = schema.get("items") if isinstance(schema, dict) else None
    choices = items.get("enum") if isinstance(items, dict) else None
    if not isinstance(value, list) or len(value) < 2 or not isinstance(choices, list):
        return False
    return all(isinstance(item, str) for item in value) and set(value) == {c for c in choices if isinstance(c, str)}


def settled_calls(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with their every-choice and padded lists cut (`trimmed_arguments`), and the names of the
    arguments cut (empty: the calls as they were)."""
    return rewritten_calls(calls, lambda call, arguments: trimmed_arguments(arguments, functions.get(call.name), text))
