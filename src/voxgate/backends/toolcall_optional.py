"""Optional arguments the conversation never asked for, dropped so the function's default applies. Pure.

Small models asked with tools fill optional arguments with values nobody gave: `unit: "seconds"` to
run "dir C:\\", `unit: "celsius"` for the weather in Boston (the function's default is fahrenheit),
`include_description: "false"` (a string where the schema wants a boolean), `star_rating: "dontcare"`.
A function given no value for an optional argument uses its default, which is what a request that
says nothing of it means. So, with `tool_choice` auto, an argument the function does not require is
dropped from a call when

    - no value of it is in the conversation (`toolcall_grounding.gives_value`: words, numbers,
      dates, codes the description documents) or meets a word of it on their first 5 letters
      (`toolcall_choices.names_item`: "Sci-fi" does not meet "science", "postgres" meets "PostgreSQL"), and
    - no word of the argument's own name (3 letters or more, snake_case and camelCase split) meets
      a word of the conversation on their first 5 letters ("free" for `free_entry: "True"`, "kids"
      for `good_for_kids`, "rating" for `star_rating: 4`);

or when its value is a label the model numbered itself: words, then a number of one or two digits
the conversation never gives ("Mission 1" and "Trophy 1" for "the rewards for playing Fortnite with
different missions and trophies", BFCL multiple_26), whatever the argument's name meets. Over BFCL's
3,152 reference calls it breaks none (`bench/tool_unasked_arguments.py`: 52 before and after).

An argument the function does not declare at all (its `parameters` list `properties` and do not set
`additionalProperties` or `patternProperties`) is dropped whatever its value: the 0.5B asked for "the
most points scored by a single player in an NBA game" called
`sports_data_basketball_most_points_single_game(league: "NBA", player_name: "John Doe", game_date:
"2023-04-15")`, where the function takes `league` alone (BFCL multiple_22). JSON Schema allows such
keys unless told otherwise, but the function behind the schema has no such parameter (a Python tool
called with it raises `TypeError`), and OpenAI's strict mode refuses them. Of BFCL's 3,152 reference
calls, 2 hold one, and BFCL's own checker fails both (their schemas lack `journey_start_time` and
`question`): `bench/tool_unasked_arguments.py` counts 52 broken before, 54 after.

Booleans, nulls and empty values are kept: they are never evidence either way. Measured offline on
BFCL (`bench/tool_unasked_arguments.py`): of its 3,152 reference calls, 57 hold an optional value
that this would drop and that no accepted answer leaves out (39 of them in live_multiple: an enum
"True" for "free entry", "2019" for "last year"): an upper bound of what it costs, since a model
must first get those values right.

    unasked_arguments(arguments, function, text)   the arguments less the unasked optional ones and
                                                   the undeclared ones, and the names dropped
    without_unasked(calls, functions, text)        the same for parsed calls
    without_undeclared(calls, functions)           parsed calls less their undeclared arguments alone

The continuation and the push (`toolcalls`) give the model its calls back without their undeclared
arguments: given `calculate_area(base: 12, height: 15, required: ["base", "height"])` back, the 0.5B
copied the made-up `required` into the call it added for the second triangle, which then failed its
function's parameters and was not kept (BFCL parallel_68, 101, 112; `bench/results/bfcl_ab.md`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_choices import MATCH_CHARS, MIN_WORD_CHARS, names_item
from .toolcall_grounding import gives_value, leaf_values
from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import argument_name_words, declared_properties, required_names

__all__ = ["unasked_arguments", "without_unasked", "without_undeclared"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def unasked_arguments(arguments: Any, function: JSONObject | None, text: str) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) less each optional argument `text` never asks for and each
    argument the function does not declare (module docstring), and the names of those dropped."""
    parameters = function.get("parameters") if isinstance(function, dict) else None
    if not isinstance(arguments, dict) or not isinstance(parameters, dict):
        return arguments, ()
    required = required_names(function)
    properties = declared_properties(function)
    stems = {word[:MATCH_CHARS] for word in _WORD.findall(text.lower())}
    undeclared = _undeclared(arguments, parameters)
    dropped = tuple(key for key, value in arguments.items() if key in undeclared or (
        key not in required and not _asked_for(key, value, properties, text, stems)))
    if not dropped:
        return arguments, ()
    return {key: value for key, value in arguments.items() if key not in dropped}, dropped


def _undeclared(arguments: dict[str, Any], parameters: JSONObject) -> set[str]:
    """The keys of `arguments` that `parameters` does not declare, where it declares `properties` and
    allows no other keys (no `additionalProperties` other than false, no `patternProperties`)."""
    properties = parameters.get("properties")
    if not isinstance(properties, dict) or parameters.get("additionalProperties", False) is not False or (
            "patternProperties" in parameters):
        return set()
    return {key for key in arguments if key not in properties}


def _asked_for(key: str, value: Any, properties: object, text: str, stems: set[str]) -> bool:
    values = list(leaf_values(value))
    if not values:
        return True
    if any(isinstance(item, str) and _numbered_label_made_up(item, key, properties, text) for item in values):
        return False
    name_words = [word for word in argument_name_words(key) if len(word) >= MIN_WORD_CHARS]
    if any(word[:MATCH_CHARS] in stems for word in name_words):
        return True
    if any(isinstance(item, str) and names_item(stems, item) for item in values):
        return True
    return gives_value(value, key, properties, text)


def _numbered_label_made_up(value: str, key: str, properties: object, text: str) -> bool:
    """Whether `value` is words then a number of one or two digits that `text` never gives: a label the
    model numbered itself ("Mission 1", "Trophy 1" for "with different missions and trophies")."""
    words = value.split()
    if len(words) < 2 or not all(word.isalpha() for word in words[:-1]):
        return False
    number = words[-1]
    return number.isdigit() and len(number) <= 2 and not gives_value(float(number), key, properties, text)


def without_unasked(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` less their unasked optional arguments (`unasked_arguments`), and the names dropped
    (empty: the calls as they were)."""
    return rewritten_calls(calls, lambda call, arguments: unasked_arguments(arguments, functions.get(call.name), text),
                           ensure_ascii=False)


def without_undeclared(calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject]) -> list[ParsedToolCall]:
    """`calls` less each argument their function does not declare (`_undeclared`); a call to a
    function not in `functions` stays as it is."""
    def rewrite(call: ParsedToolCall, arguments: Any) -> tuple[Any, tuple[str, ...]]:
        parameters = functions.get(call.name, {}).get("parameters")
        if not isinstance(arguments, dict) or not isinstance(parameters, dict):
            return arguments, ()
        undeclared = _undeclared(arguments, parameters)
        return {key: value for key, value in arguments.items() if key not in undeclared}, tuple(undeclared)

    return rewritten_calls(calls, rewrite, ensure_ascii=False)[0]
