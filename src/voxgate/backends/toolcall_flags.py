"""A yes/no argument the request asks for, set true where the model left it false or out. Pure.

Functions take a boolean for an optional part of their answer (`species` for "whether to include
species information", `include_stats`, `want_year`, `dividends`). Asked "Find out the population and
species of turtles in Mississippi river in 2020", the 0.5B called `ecology_get_turtle_population(...,
species: false)` (BFCL simple_python_69); "the inventor and year of invention of the 'Telephone'" got
`want_year: false`, "Also, include the match statistics" no `include_stats` at all (parallel_multiple_152,
149): the function leaves out what the user asked for. A boolean argument of a call is set true, where
it is false or missing, when

    - every topic word of its name (`toolcall_relevance.topic_words`: stemmed, stop words out) is a
      topic word of the user's request, words that only say "give it" left aside ("include", "return",
      "want", "show", "details"...), with "stats" for "statistics" and such abbreviations; a name of
      those words alone (`include_details`) names nothing;
    - the request says no "not", "no", "without", "never", "few", "whether", "instead", "n't"...
      anywhere (a request that negates anything may negate the flag: "I'm not concerned about having a
      garage", "it shouldn't be unisex", "compare it with a less detailed description", "has few
      artistic interests"; "a few" is no negation), or one of its sentences names every such word and
      negates nothing ("... I'm not sure what type of mutation it is. ... And please include a brief
      description of each protein.": the request of several tasks negates another task), in a request
      of at most 12 sentences (a longer one is a document: a persona, instructions);
    - the calls to that function do not give it true and false both (the model chose per call:
      "in a formatted string as well as an array").

Measured offline over BFCL's reference calls (`bench/tool_flags.py`: each boolean argument of a right
answer made false in turn): the rule sets 138, and the reference accepts true for all 138 (129 before
sentences counted alone; without the 12-sentence bound 139, one wrong); replayed on the recorded answers of
2026-12-05 (the whole simple_python, multiple, parallel and parallel_multiple runs), it turns 6 answers right
(4 of them parallel_multiple; parallel_multiple_153's "Could you also standardize the predictors for me?"
after "I'm not sure if it fits my diet") and none wrong.

    flags_asked_for(calls, functions, request)   the calls with such flags set, and the names of the
                                                 arguments set
    asks_for_flag(key, request_words)            whether a request (not negating: `says_no`) asks for flag `key`
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_relevance import topic_words
from .toolcall_schema import argument_name_words, declared_properties

__all__ = ["asks_for_flag", "flags_asked_for", "says_no"]

_GIVE_WORDS = topic_words(
    "include includes return fetch display add provide enable flag details detail info information data")
"""Words of a flag's name that only say "give it": a name of these alone names nothing ("want", "show", "get",
"with", "has" are stop words, and "is" too short, which `topic_words` leaves out already)."""
_ABBREVIATIONS = {word: full for word, full in (
    (next(iter(topic_words(short))), next(iter(topic_words(long)))) for short, long in (
        ("stats", "statistics"), ("temp", "temperature"), ("min", "minimum"), ("max", "maximum"),
        ("num", "number"), ("desc", "description"), ("img", "image"), ("pic", "picture")))}
"""A short form of a name word, and the (stemmed) word a request writes in full."""
_NEGATION = re.compile(
    r"\b(?:not|no|without|never|none|nor|neither|hardly|rarely|exclud\w*|except|instead|whether|less|rather|skip"
    r"|omit\w*)\b|(?<!\ba )\b(?:few|little)\b|n[\u2019']t\b", re.IGNORECASE)
"""Words that may negate a flag; "few" and "little" but for "a few", "a little" ("with a few things")."""


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")
_MOST_SENTENCES = 12
"""A longer user turn is a document (a persona, instructions: "you can also request heartbeat events when you
run functions", BFCL live_multiple_26-6-1) whose sentences describe more than they ask: only the whole counts."""


def says_no(request: str) -> bool:
    """Whether the request (or a sentence of it) negates anything (module docstring)."""
    return _NEGATION.search(request) is not None


def _asking_parts(request: str) -> list[frozenset[str]]:
    """The topic words of each part of `request` that negates nothing: the whole request, or else
    each of its sentences that does not."""
    if not says_no(request):
        return [topic_words(request)]
    sentences = [sentence for sentence in _SENTENCE_END.split(request) if sentence]
    if len(sentences) > _MOST_SENTENCES:
        return []
    return [topic_words(sentence) for sentence in sentences if not says_no(sentence)]


def asks_for_flag(key: str, request_words: frozenset[str]) -> bool:
    """Whether a request of topic words `request_words`, negating nothing (`says_no`), asks for the
    boolean argument `key`: every topic word of its name, "give it" words aside, is one of the request's."""
    words = topic_words(" ".join(argument_name_words(key))) - _GIVE_WORDS
    return bool(words) and all(word in request_words or _ABBREVIATIONS.get(word) in request_words for word in words)


def flags_asked_for(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], request: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each boolean argument the request asks for (`asks_for_flag`) set true where it is
    false or missing, but for a function whose calls give it both ways; and the names of the arguments set."""
    parts = _asking_parts(request)
    if not parts:
        return list(calls), ()
    both_ways = _flags_given_both_ways(calls)
    return rewritten_calls(calls, lambda call, arguments: _flags_set(
        arguments, functions.get(call.name), parts, both_ways.get(call.name, set())), ensure_ascii=False)


def _flags_set(
    arguments: Any, function: JSONObject | None, parts: Sequence[frozenset[str]], left: set[str]
) -> tuple[Any, tuple[str, ...]]:
    properties = declared_properties(function)
    if not isinstance(arguments, dict) or properties is None:
        return arguments, ()
    asked = tuple(key for key, schema in properties.items()
                  if isinstance(schema, dict) and schema.get("type") == "boolean" and key not in left
                  and arguments.get(key, False) is False and any(asks_for_flag(key, words) for words in parts))
    return ({**arguments, **dict.fromkeys(asked, True)}, asked) if asked else (arguments, ())


def _flags_given_both_ways(calls: Sequence[ParsedToolCall]) -> dict[str, set[str]]:
    """Per function, the arguments its calls give as true in one and false in another."""
    given: dict[tuple[str, str], set[bool]] = {}
    for call in calls:
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            continue
        for key, value in arguments.items() if isinstance(arguments, dict) else ():
            if isinstance(value, bool):
                given.setdefault((call.name, key), set()).add(value)
    both: dict[str, set[str]] = {}
    for (name, key), values in given.items():
        if len(values) == 2:
            both.setdefault(name, set()).add(key)
    return both
