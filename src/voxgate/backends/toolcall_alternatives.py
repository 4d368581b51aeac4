"""A call that only repeats another call's values, to the function the request does not name, dropped. Pure.

Small models asked with two near functions call both with the same values where the request asks
for one: `biological_calc_biomass(energy: 5)` beside `biological_calc_energy(mols: 5, substance:
"C6H12O6")` for "the energy produced by 5 mol of glucose" (BFCL multiple_43), `MBTI_analyse` filled
with the five-factor answer's words beside `five_factor_model_analyse` for "my personality type
based on the five factor model" (multiple_69). And they split one request in two calls to the same
function, the second taking its value from a word the first already used as an argument's name:
`calculate_weight_in_space(weight_earth_kg: 70, planet: "Mars")`, then the same with `planet:
"Earth"`, for "How much will I weigh on Mars if my weight on Earth is 70 kg?" (multiple_44).

A call is dropped as such an alternative of another call in the answer when every string and
number it gives is, whole, one of that call's values or arguments' names, or a word of those names
(it asks for nothing the other does not), and either

    - it is to another function, the request names the other function (a word of its name, not
      shared with this one's name, meets a request word on its first 4 letters, or is written in the
      request with the spaces left out: "Open Library" for `openlibrary`) and names nothing of this
      one's name that the other's lacks; or
    - it is to the same function and gives one of its arguments another value made only of words of
      the other call's argument names ("Earth" against `weight_earth_kg`); or
    - it is to the same function, the other gives each of its arguments the same value and more
      arguments besides, and the request asks one thing (`asks_several_things` false, and no "and",
      "or", "both", "each", "again", "respectively": "tigers in India now and in 2023" is two): the 0.5B
      continued `calculate_circumference(radius: 4)` with the same and `unit: "inches"` for "What is the
      circumference of a circle with a radius of 4 inches?" (BFCL simple_python_7), and
      `concert_book_ticket(artist, location)` with the same and the backstage pass asked for (multiple_81).

Calls are judged from the last one back, so of two alike the later goes. Measured offline over
BFCL's reference answers with two or more calls (`bench/tool_alternatives.py`): 1 of 440 loses a
call to the first two rules (parallel_multiple_31: "how many cases and the judge handling a specific
lawsuit", where `lawsuit_fetch_details` repeats `lawsuit_judge`'s company and "fetch details" is not in
the request); the third none (without its "and"/"or" gate, 1: parallel_185, "... and then estimate the
population of both these species ... for year 2023"). Replayed on the recorded answers of the whole
multiple, parallel and parallel_multiple runs and simple_python's first 99 items: 2 turned right (the
two above), none wrong.

    without_alternatives(calls, request)   the calls less such alternatives, and those dropped
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from .toolcall_grounding import leaf_values, number_text
from .toolcall_parser import ParsedToolCall
from .toolcall_relevance import asks_several_things, topic_words
from .toolcall_schema import argument_name_words

__all__ = ["without_alternatives"]

NAMED_PREFIX_CHARS = 4
"""A function-name word and a request word meet on this many first letters (both at least this long)."""
MIN_SQUASHED_CHARS = 5
"""A function-name word this long is named when the request holds it with its spaces left out."""
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_JOINED = re.compile(r"\b(?:and|or|both|each|again|respectively|versus|vs)\b", re.IGNORECASE)
"""Words that may join two requests for one function ("now and in 2023")."""


def without_alternatives(
    calls: Sequence[ParsedToolCall], request: str
) -> tuple[list[ParsedToolCall], list[ParsedToolCall]]:
    """`calls` less each that only repeats another's values under the function the request does not
    name, or splits another's request on a word of its argument names (module docstring), and those
    dropped. `request`: the user's words."""
    request_words = topic_words(request)
    squashed = re.sub(r"[^a-z]", "", request.lower())
    one_thing = not asks_several_things(request) and _JOINED.search(request) is None
    kept, dropped = list(calls), list[ParsedToolCall]()
    while len(kept) > 1:
        index = next((i for i in range(len(kept) - 1, -1, -1)
                      if _is_alternative(kept[i], kept[:i] + kept[i + 1:], request_words, squashed, one_thing)),
                     None)
        if index is None:
            break
        dropped.insert(0, kept.pop(index))
    return kept, dropped


def _is_alternative(call: ParsedToolCall, others: Sequence[ParsedToolCall], request_words: frozenset[str],
                    squashed: str, one_thing: bool) -> bool:
    arguments = _arguments(call)
    for other in others:
        other_arguments = _arguments(other)
        if not _covered(arguments, other_arguments):
            continue
        if other.name == call.name:
            if _split_on_argument_name(arguments, other_arguments) or (
                    one_thing and _within(arguments, other_arguments)):
                return True
            continue
        own, theirs = _name_words(call.name), _name_words(other.name)
        if not _named(own - theirs, request_words, squashed) and _named(theirs - own, request_words, squashed):
            return True
    return False


def _covered(arguments: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether every string and number of `arguments` is, whole, one of `other`'s values or argument names
    (or a word of those names); false when `arguments` gives none. Whole: "spaghetti" is not among
    "Homemade Spaghetti with Gluten-Free Sauce" (BFCL parallel_multiple_55's `recipe_search` beside
    `recipe_prep_time` asked for a different thing)."""
    names = [argument_name_words(key) for key in other]
    known = {" ".join(words) for words in names} | {word for words in names for word in words}
    known |= {_plain(value) if isinstance(value, str) else number_text(value) for value in leaf_values(other)}
    values = list(leaf_values(arguments))
    return bool(values) and all(
        (_plain(value) if isinstance(value, str) else number_text(value)) in known for value in values)


def _within(arguments: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether `other` gives every argument of `arguments` the same value, and more arguments besides."""
    return bool(arguments) and len(other) > len(arguments) and all(
        key in other and other[key] == value for key, value in arguments.items())


def _plain(text: str) -> str:
    """`text` in lower case, its words joined by single spaces ("Gluten-Free" and "gluten_free" alike)."""
    return " ".join(_WORD.findall(text.lower()))


def _split_on_argument_name(arguments: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether some argument of `arguments` holds another value than `other` gives it, made only of
    words of `other`'s argument names."""
    names = {word for key in other for word in argument_name_words(key)}
    for key, value in arguments.items():
        words = set(_WORD.findall(value.lower())) if isinstance(value, str) else set()
        if key in other and other[key] != value and words and words <= names:
            return True
    return False


def _named(name_words: frozenset[str], request_words: frozenset[str], squashed: str) -> bool:
    for word in name_words:
        if len(word) >= MIN_SQUASHED_CHARS and word in squashed:
            return True
        if any(word == other or (min(len(word), len(other)) >= NAMED_PREFIX_CHARS
                                 and word[:NAMED_PREFIX_CHARS] == other[:NAMED_PREFIX_CHARS])
               for other in request_words):
            return True
    return False


def _name_words(name: str) -> frozenset[str]:
    return topic_words(name)  # its words split on "_", "." and camelCase



def _arguments(call: ParsedToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return {}
    return arguments if isinstance(arguments, dict) else {}
