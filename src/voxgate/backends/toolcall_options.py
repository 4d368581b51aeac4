"""An optional argument the model left out although the request names one of its declared options,
filled with that option. Pure.

Functions declare the values an argument takes, as an `enum` or in its description ("Mode of
analysis, e.g. 'static' or 'dynamic'. Default is 'static'."; "Type of the lawsuit, e.g., 'IPR',
'Patent', 'Commercial'"). Asked for "the structural dynamic analysis of the building with building Id
B1004", the 0.5B called `analyze_structure(building_id: "B1004", floors: [2, 3, 4])`: the function's
default, static, is what it would run (BFCL multiple_162; "patent lawsuits" and `case_type`,
multiple_139). Where an argument the function does not require is missing from a call, and the
user's words name exactly one of its declared options, the call gets that option, when

    - the option is named whole: each of its words (3 letters or more) is a word of the request, or
      that word with a plural `s`/`es` ("patent lawsuits" names "Patent"; "tourist" alone does not
      name "Tourist Attraction"), and no "not", "no", "without", "exclude"... stands in the 4 words
      before ("exclude any that are completed");
    - it is the only option named (catch-alls such as "dontcare", "any", "all" aside), and not the
      declared default (the function applies that one anyway);
    - the function is called once in the answer (several calls to it take different values, which the
      request's words cannot share out).

Measured offline over BFCL's reference calls (`bench/tool_named_options.py`: each optional argument
with declared options left out of a right call in turn): where the rule fills one, the option is
what the reference gives or accepts in 250 of 257 cases. The 7 others are BFCL's catch-alls or
defaults for words the request does say ("Tourist Attraction" for "a tourist attraction", expected
"dontcare"; "seconds" for "a timer for 10 seconds", expected "N/A") and two false readings ("Bot" in
"my-bot-id", "House" in "in my house"): an upper bound of what it costs, since a model must first
leave the argument out.

    declared_options(schema)                     the options a string argument declares, or ()
    filled_arguments(arguments, function, text)  the arguments with such options filled, and their names
    with_named_options(calls, functions, text)   the same for parsed calls
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import declared_properties, required_names

__all__ = ["declared_options", "filled_arguments", "with_named_options"]

MAX_OPTION_CHARS = 24
MIN_OPTION_WORD_CHARS = 3
NEGATION_WINDOW_WORDS = 4
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_QUOTED = re.compile(r"""(?<![A-Za-z])['"]([^'"\n]{1,24})['"]""")
_DEFAULT = re.compile(r"default(?:s)?(?: is| to|:)?\s*['\"]([^'\"\n]{1,24})['\"]", re.IGNORECASE)
_CATCH_ALLS = frozenset({"dontcare", "any", "all", "none", "default", "n/a", "null"})
_NEGATIONS = frozenset({"not", "no", "without", "exclude", "excluding", "except", "never", "nor", "don", "dont"})


def declared_options(schema: object) -> tuple[str, ...]:
    """The options a string argument's `schema` declares: its `enum` of strings, or else two or more
    short quoted values (at most two words, no digit) in its description; () when none."""
    if not isinstance(schema, dict) or schema.get("type") not in (None, "string"):
        return ()
    enum = schema.get("enum")
    if isinstance(enum, list):
        return tuple(enum) if all(isinstance(item, str) for item in enum) else ()
    description = schema.get("description")
    if not isinstance(description, str):
        return ()
    quoted = [found for found in _QUOTED.findall(description)
              if len(found.split()) <= 2 and not any(char.isdigit() for char in found)]
    options = tuple(dict.fromkeys(quoted))
    return options if len({option.lower() for option in options}) >= 2 else ()


def filled_arguments(arguments: Any, function: JSONObject | None, text: str) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) with each optional argument it lacks, and of whose declared
    options `text` (the user's words) names exactly one, set to that option (module docstring); and the
    names of the arguments filled."""
    properties = declared_properties(function)
    if not isinstance(arguments, dict) or properties is None:
        return arguments, ()
    required = required_names(function)
    words = _WORD.findall(text.lower())
    filled = {}
    for key, schema in properties.items():
        if key in arguments or key in required:
            continue
        named = [option for option in _options(schema) if _names_whole(option, words)]
        if len(named) == 1 and named[0].lower() not in _defaults(schema):
            filled[key] = named[0]
    return ({**arguments, **filled}, tuple(filled)) if filled else (arguments, ())


def with_named_options(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with `filled_arguments` applied to each call of a function called once among them, and the
    names of the arguments filled (empty: the calls as they were)."""
    counts = Counter(call.name for call in calls)
    return rewritten_calls(calls, lambda call, arguments: filled_arguments(
        arguments, functions.get(call.name), text) if counts[call.name] == 1 else (arguments, ()))


def _options(schema: object) -> list[str]:
    """The declared options of `schema` less catch-alls."""
    return [option for option in declared_options(schema) if option.lower() not in _CATCH_ALLS]


def _defaults(schema: object) -> set[str]:
    """The default `schema` declares, lower-cased, as `default` or in its description ("Default is 'static'")."""
    if not isinstance(schema, dict):
        return set()
    description = schema.get("description")
    declared = _DEFAULT.search(description) if isinstance(description, str) else None
    found = {declared.group(1).lower()} if declared else set()
    if "default" in schema:
        found.add(str(schema["default"]).lower())
    return found


def _names_whole(option: str, words: list[str]) -> bool:
    """Whether each word of `option` (3 letters or more) is among `words` as it is or with a plural
    `s`/`es`, at least one of them with no negation in the NEGATION_WINDOW_WORDS words before it."""
    option_words = [word for word in _WORD.findall(option.lower()) if len(word) >= MIN_OPTION_WORD_CHARS]
    if not option_words or len(option) > MAX_OPTION_CHARS:
        return False
    places = [[index for index, word in enumerate(words) if word in (wanted, f"{wanted}s", f"{wanted}es")]
              for wanted in option_words]
    if not all(places):
        return False
    return any(_NEGATIONS.isdisjoint(words[max(0, index - NEGATION_WINDOW_WORDS):index])
               for found in places for index in found)
