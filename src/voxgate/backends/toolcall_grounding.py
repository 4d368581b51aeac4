"""Whether a tool call's argument values come from the conversation. Pure.

Small models asked with tools call a function where none fits, with invented values
(`calculate_projectile_range(initial_velocity=10, angle=45)` for "launched with velocity 'v' at an
angle 'theta'"), and, pushed for one more call, invent variations (`unit: "feet"` after `unit:
"meters"`). A call the request asked for takes most of its values from the request.

    grounding_text(messages)                 what the caller said: every message's text but the tools'
    is_grounded(call, text, function)        some value is in `text`, and one of each required argument
    takes_value(call, text, function)        some value is in `text` (required arguments may be made up)
    invented_required(call, text, function)  required arguments made up by a call taking other values from `text`
    brings_new_value(call, made, text)       some argument value is in `text` and in none of `made`
    fits_parameters(call, function)          every required argument given, none undeclared
    is_another_request(call, made, ...)      a pushed call is declared, fits, and brings a new value
    makes_up_another_request(call, made, ...)  a later call makes up a required value and brings none

A value is "in" the text when: a string's words (letters and digits, lower case) all appear in the
text's words (a word also as its plural or another form of the same name, "Germany" for "German
history"; a word joining letters and digits also as its runs, "June01"), or, for a string of several
words, at least half of its content words do (function words such as "the" and "of" are no evidence:
"The Legend of Zelda" is not in "Find the type of gene mutation"); a number (or a string that is one:
"4") appears as a number in the text (also as a percent: 0.95 for "95%"; with its scale word: 50000000
for "50 million", 1200000 for "$1.2M"), as a number word ("five", "a week" for 7), or, for 1, as a
quantity the words imply ("next month", "a week", "per hour"); a date in digits or a time of day when
the text says it (`toolcall_datetimes`: "April 3rd" for "2023-04-03", "11PM" for "23:00"); a US state
or city when the text names one of its cities or the city's nickname (`toolcall_codes.place_words`:
"California" or "San Francisco, CA" for "SF"); a file name ("sound.wav") only when the text writes it
whole (its stem word alone is no evidence: BFCL multiple_21's made-up `wave_file`); a value in a script
written without spaces (Chinese, Thai...) is in it as a substring; in a string of several words, words
of one or two letters ("/F /IM" in a command; not digits) may be missing when half the others are
there; a code the argument's own description maps to a word of the request ("'2' represents an ironing
service", "'CA' for California") counts as given; so does a code the text names in words
(`toolcall_codes`: "EUR" for "Euros", "NVDA" for "Nvidia", "OR" for "Oregon"); booleans and nulls are
never evidence. Nested objects and lists are read leaf by leaf. A pushed call's new value must bring a
content word the calls made do not use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .tool_prompt import content_text
from .toolcall_codes import code_named, place_words
from .toolcall_datetimes import date_named, time_named
from .toolcall_implied import implied_numbers, names_own_language, prefixed_quantities
from .toolcall_parser import ParsedToolCall
from .toolcall_schema import declared_properties, required_names

__all__ = [
    "brings_new_value", "fits_parameters", "gives_value", "grounding_text", "invented_required", "is_another_request",
    "is_grounded", "leaf_values", "makes_up_another_request", "number_text", "takes_value",
]  # fmt: skip

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_FILE_NAME = re.compile(r"[\w-]+\.(?=[a-z0-9]*[a-z])[a-z0-9]{2,4}", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])([\[({]?)(-?\d+(?:[.,]\d+)*(?:\.\d+)?)")
"""A number standing apart, and the bracket opening right before it (a list: "[200,300,400]" is three numbers)."""
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "fifty": 50,
    "hundred": 100, "thousand": 1000, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "twice": 2, "double": 2, "triple": 3, "dozen": 12, "half": 0.5, "week": 7, "fortnight": 14, "decade": 10,
}  # fmt: skip
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "with", "by", "from", "as", "is", "are",
    "be", "it", "its", "that", "this", "these", "those", "into", "than", "then", "de", "la", "le", "el",
})  # fmt: skip
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CLAUSE = re.compile(r"[,;:]\s+|\.\s+|\bor\b")
_GLUED = re.compile(r"\b(?:[^\W\d_]+\d+|\d+[^\W\d_]+)[^\W_]*")
"""A word that joins letters and digits ("June01", "2pm"), split into its runs for `_words`."""
_GLUED_PART = re.compile(r"[^\W\d_]+|\d+")
_GLUED_NUMBER = re.compile(r"(?<=[^\W\d_])\d+(?:\.\d+)?(?![\d.])")
"""Digits right after letters ("June01": 1); `_NUMBER` takes only numbers standing apart."""
_SCALED = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_MONEY_SCALED = re.compile(r"[$€£]\s?(\d+(?:\.\d+)?)\s?(k|m|mn|bn|b)\b", re.IGNORECASE)
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "k": 1e3, "m": 1e6, "mn": 1e6,
           "b": 1e9, "bn": 1e9}
"""A number said with its scale ("50 million": 50,000,000; "1.341 billion"; money as "$1.2M", "€5k")."""
_ENDINGS = frozenset({"", "s", "es", "ed", "n", "an", "ian", "ians", "ans", "ns", "ese", "ish", "y", "a", "e", "o",
                      "i"})
"""Endings that make a name's other forms: plural, people, language ("German" / "Germany", "Chinese" / "China"),
and a word's past form ("detailed" for "detail information": BFCL multiple_148's `detail_level: "detailed"`)."""
_IRREGULAR_PLURALS = {"women": "woman", "men": "man", "children": "child", "people": "person", "feet": "foot",
                      "teeth": "tooth", "mice": "mouse", "geese": "goose"}
"""Plurals no ending makes: "women" for "woman tennis" (BFCL multiple_175, where `gender: "women"` was
dropped as nobody's value)."""
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
"""Runs of scripts whose words spaces do not set apart (Thai, Lao, Burmese, kana, CJK; Korean attaches
its particles): a value in them is looked for as a substring of the text."""


def grounding_text(messages: object) -> str:
    """The text of every message (system, user, assistant, tool results) joined; not the tools."""
    parts = []
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            parts.append(content_text(message.get("content")))
    return "\n".join(parts)


def leaf_values(value: Any) -> Iterator[str | float]:
    """The strings and numbers in an argument value, depth first (booleans and nulls skipped)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str | int | float):
        yield value if isinstance(value, str) else float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaf_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaf_values(item)


def is_grounded(call: ParsedToolCall, text: str, function: JSONObject | None = None) -> bool:
    """Whether `call`'s values come from `text`: some value is in it, and so is one value of each
    argument `function` requires (a required price the request never gave is invented), unless
    that argument's value is one of its declared `enum` or a code its description maps to a word of
    `text` (`_documented`). A call without values counts as grounded."""
    judged = _judged(call, text, function)
    return judged is None or (judged[0] and not judged[1])


def takes_value(call: ParsedToolCall, text: str, function: JSONObject | None = None) -> bool:
    """Whether some value of `call` is in `text` or documented (`is_grounded` without its rule for
    required arguments). A call without values counts as taking one."""
    judged = _judged(call, text, function)
    return judged is None or judged[0]


def invented_required(call: ParsedToolCall, text: str, function: JSONObject | None) -> list[str]:
    """The required arguments whose values `call` made up, when some other value of it is in `text`:
    the function fits the request but the request left those out ("tickets in Concord for four" to
    `buy_tickets(movie_name: "The Godfather", ...)`). Empty when the call is grounded or takes
    nothing from `text` (then no function fits)."""
    judged = _judged(call, text, function)
    return judged[1] if judged is not None and judged[0] else []


def _judged(call: ParsedToolCall, text: str, function: JSONObject | None) -> tuple[bool, list[str]] | None:
    """None for a call without values; else (some value is in `text` or documented, the required
    arguments whose given values are neither, nor one of their `enum`): the rules above."""
    arguments = _arguments(call)
    values = list(leaf_values(arguments))
    if not values:
        return None
    words, numbers = _words(text), _numbers(text)
    properties = declared_properties(function)
    documented = {key for key, value in arguments.items() if _documented(value, properties, key, words)} \
        if isinstance(arguments, dict) else set()
    some = bool(documented) or any(_value_in(value, words, numbers, text) for value in values)
    if not isinstance(arguments, dict):
        return some, []
    invented = []
    for key in required_names(function):
        given = list(leaf_values(arguments.get(key)))
        if given and key not in documented and not _from_enum(arguments.get(key), properties, key) and not any(
                _value_in(value, words, numbers, text) for value in given):
            invented.append(key)
    return some, invented


def gives_value(argument: Any, key: str, properties: object, text: str) -> bool:
    """Whether `text` gives the value of argument `key`: one of its values is in `text` (the rules
    above), or it is a code the argument's description maps to a word of `text` (`_documented`)."""
    words, numbers = _words(text), _numbers(text)
    return any(_value_in(value, words, numbers, text) for value in leaf_values(argument)) or _documented(
        argument, properties, key, words)


def _documented(value: Any, properties: object, key: str, words: set[str]) -> bool:
    """Whether the argument's own description maps `value` to something the request says: the clause
    naming the value ("'2' represents an ironing service", "'CA' for California") holds a word of the
    request that no other clause of the description has (a code the schema documents, not invented)."""
    if names_own_language(value, key, words):
        return True
    schema = _schema_of(properties, key)
    description = schema.get("description")
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not isinstance(description, str):
        return False
    code = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if not code.strip():
        return False
    naming = re.compile(rf"(?<![\w.]){re.escape(code)}(?![\w])", re.IGNORECASE)
    texts = _CLAUSE.split(description)
    clauses = [set(_WORD.findall(text.lower())) - _FUNCTION_WORDS for text in texts]
    request_words = words - set(_WORD.findall(code.lower()))
    for clause, text in zip(clauses, texts, strict=True):
        if naming.search(text) is None:
            continue
        own = {word for word in clause if len(word) > 2 and sum(word in other for other in clauses) == 1}
        if own & request_words:
            return True
    return False


def _schema_of(properties: object, key: str) -> JSONObject:
    """The schema `properties` declares for argument `key` ({} where it declares none)."""
    schema = properties.get(key) if isinstance(properties, dict) else None
    return schema if isinstance(schema, dict) else {}


def _from_enum(value: Any, properties: object, key: str) -> bool:
    """Whether `value` is one of the `enum` the schema declares for argument `key`: chosen from the
    function's own list, not invented (`type: "delete"` for "Remove the item")."""
    choices = _schema_of(properties, key).get("enum")
    return isinstance(choices, list) and value in choices


def brings_new_value(call: ParsedToolCall, made: Sequence[ParsedToolCall], text: str) -> bool:
    """Whether `call` asks for something the calls `made` do not: an argument value in `text` and
    in none of `made`. Against an earlier call to the same function, that value must replace one
    the earlier call gave the same argument ("Maroon 5" after "Taylor Swift"), so a call that
    only adds an argument the first one left out (a correction, not a second request) does not count;
    nor does a number already standing in an earlier string value (`number: 2` after `event: "World War
    2"`: BFCL parallel_multiple_37, the 0.5B pushed after its continuation)."""
    words, numbers = _words(text), _numbers(text)
    old = [value for earlier in made for value in leaf_values(_arguments(earlier))]
    old_words = {word for value in old if isinstance(value, str) for word in _WORD.findall(value.lower())}
    new_words = words - old_words - _FUNCTION_WORDS
    old_numbers = {value for value in old if isinstance(value, float)}
    arguments = _arguments(call)
    if not isinstance(arguments, dict):
        return False
    same = [_arguments(earlier) for earlier in made if earlier.name == call.name]
    for key, argument in arguments.items():
        if same and not any(isinstance(e, dict) and key in e and e[key] != argument for e in same):
            continue
        for value in leaf_values(argument):
            if not _value_in(value, words, numbers):
                continue
            if isinstance(value, float) and value not in old_numbers and number_text(value) not in old_words:
                return True  # not the 2 of a "World War 2" already asked for
            if isinstance(value, str) and not new_words.isdisjoint(_WORD.findall(value.lower())):
                return True
    return False


def number_text(number: float) -> str:
    """How `number` stands as a word in text: "2" for 2.0, "2.5" for 2.5."""
    return str(int(number)) if number.is_integer() else str(number)


def makes_up_another_request(
    call: ParsedToolCall, made: Sequence[ParsedToolCall], text: str, function: JSONObject | None
) -> bool:
    """Whether `call`, written after the calls `made`, makes up a required value (`invented_required`)
    while asking for nothing they do not (`brings_new_value`): a second request the model invented."""
    return bool(invented_required(call, text, function)) and not brings_new_value(call, made, text)


def is_another_request(
    call: ParsedToolCall, made: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> bool:
    """Whether a call the model was pushed to write (`toolcall_continuation.forced_call`) is one the
    conversation asks for besides those `made`: a declared function, its arguments fitting it, and
    a value from `text` that `made` lack (`brings_new_value`)."""
    function = functions.get(call.name)
    return function is not None and fits_parameters(call, function) and brings_new_value(call, made, text)


def fits_parameters(call: ParsedToolCall, function: JSONObject) -> bool:
    """Whether `call` gives every required argument of `function` and no undeclared one (unless its
    `parameters` allow more)."""
    arguments = _arguments(call)
    parameters = function.get("parameters")
    if not isinstance(arguments, dict) or not isinstance(parameters, dict):
        return isinstance(arguments, dict)
    properties = parameters.get("properties")
    required = parameters.get("required")
    if isinstance(required, list) and not all(key in arguments for key in required):
        return False
    if isinstance(properties, dict) and parameters.get("additionalProperties") is not True:
        return all(key in properties for key in arguments)
    return True


def _arguments(call: ParsedToolCall) -> Any:
    try:
        return json.loads(call.arguments)
    except ValueError:
        return None


def _words(text: str) -> set[str]:
    """The text's words, the letter and digit runs of words that join them ("june01": "june", "01"), and
    what a US city it names also names (`place_words`: "california" for "San Francisco", the city for "SF")."""
    lowered = text.lower()
    words = set(_WORD.findall(lowered)) | set(_GLUED_PART.findall(" ".join(_GLUED.findall(lowered))))
    return words | place_words(words)


def _has_word(word: str, words: set[str]) -> bool:
    """`word` is among `words`, or one of them is its plural (`_IRREGULAR_PLURALS` too: "women", "woman"),
    or the same name with another ending ("germany" for "german", "china" for "chinese", "italy" for
    "italian": `_ENDINGS`), four letters shared."""
    if word in words:
        return True
    singular = _IRREGULAR_PLURALS.get(word, word)
    if singular in words or any(_IRREGULAR_PLURALS.get(other) == singular for other in words):
        return True
    if len(word) < 4 or not word.isalpha():
        return False
    return any(other[:4] == word[:4] and _same_stem(word, other) for other in words)


def _same_stem(one: str, other: str) -> bool:
    shared = 0
    while shared < min(len(one), len(other)) and one[shared] == other[shared]:
        shared += 1
    return shared >= 4 and one[shared:] in _ENDINGS and other[shared:] in _ENDINGS


def _numbers(text: str) -> set[float]:
    found = {float(match) for match in _GLUED_NUMBER.findall(text)}
    found.update(round(float(number.replace(",", "")) * _SCALES[scale.lower()], 6)
                 for number, scale in [*_SCALED.findall(text), *_MONEY_SCALED.findall(text)])
    for opening, match in _NUMBER.findall(text):
        pieces = match.split(",")
        listed = len(pieces) > 1 and (bool(opening) or not all(re.fullmatch(r"\d{3}(?:\.\d+)?", piece)
                                                                for piece in pieces[1:]))
        parts = pieces if listed else [match.replace(",", "")]  # "5,10" is two numbers, "1,500" one
        for part in parts:
            try:
                found.add(float(part))
            except ValueError:
                continue
    lowered = text.lower()
    found.update(float(value) for word, value in _NUMBER_WORDS.items() if re.search(rf"\b{word}\b", lowered))
    return found | implied_numbers(lowered) | prefixed_quantities(text)


def _value_in(value: str | float, words: set[str], numbers: set[float], text: str = "") -> bool:
    if isinstance(value, float):
        return any(abs(value - number) < 1e-9 or abs(value * 100 - number) < 1e-6 for number in numbers)
    if _PLAIN_NUMBER.fullmatch(value.strip()) and _value_in(float(value), words, numbers):
        return True  # "4" in a string argument, for "four people"
    runs = _UNSPACED.findall(value.lower())  # Chinese, Japanese, Thai...: words are not split by spaces
    if runs and text and all(run in text.lower() for run in runs):
        return True
    if date_named(value, words, numbers, text) or time_named(value, text):
        return True
    if code_named(value, words, text):
        return True
    if _FILE_NAME.fullmatch(value.strip()):  # "sound.wav": written whole in the text or not at all
        return value.strip().lower() in text.lower()
    value_words = _WORD.findall(value.lower())
    if not value_words:
        return False
    if all(_has_word(word, words) for word in value_words):
        return True
    content = [word for word in value_words if word not in _FUNCTION_WORDS]
    present = sum(_has_word(word, words) for word in content)
    longer = sum(len(word) > 2 or not word.isalpha() for word in content)  # "/F /IM" in a command: flags
    return len(value_words) > 1 and present > 0 and 2 * present >= (longer or len(content))
