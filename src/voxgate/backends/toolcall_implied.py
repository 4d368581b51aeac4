"""Values the words give without writing them: quantities they imply, the language they are in. Pure.

Grounding (`toolcall_grounding`) looks for a call's values in the conversation. Some right values are
there only as what the words mean, and a right call holding them read as invented is refused (asked
again in words, or the user asked for a value they gave):

    feet_and_inches(lowered)           the heights the text gives in feet and inches, as (feet, inches)
    per_year_counts(lowered)           how many times a year each frequency word counts ("monthly": 12)
    implied_numbers(lowered)           numbers the (lower-case) text implies: 1 for a time span counted as
                                       one ("the next month", "per calendar year"), 0 for a start at rest
                                       ("started from rest", "dropped from 100 m", "from a standstill"),
                                       a height in feet and inches as inches ("5ft 10in": 70, "6 feet
                                       2 inches": 74), a term subtracted as a negative number ("5x^2 -
                                       7x + 3": -7; "a loss of $1000": -1000), scientific notation
                                       ("1e-9"), a multiple of pi ("2 pi": 6.283185..., 6.2832, 6.28),
                                       minutes and hours in seconds and minutes ("3 minutes": 180), and
                                       a frequency's count above one ("compounded quarterly": 4)
    prefixed_quantities(text)          base-unit values of SI-prefixed quantities, read on the text as
                                       written ("100µF": 0.0001, "50mH": 0.05; "mHz" is no "MHz")
    names_own_language(value, key, words)  `value` is English for an argument that names a language
                                       (`language`, `lang`, `source_language`...) and the words are
                                       English: "Analyze the sentiment of a customer review 'I love the
                                       food here!'" gives `language: "english"` (BFCL multiple_149)

Measured offline over BFCL's 3,152 reference calls (`bench/tool_grounding_recall.py`): right calls
the grounding check refuses 124 -> 104, with `toolcall_codes`' units ("cm" for "centimeters") and the
past form of a word ("detailed" for "detail"), then 104 -> 100 with durations, frequencies and SI
prefixes (and `toolcall_grounding` reading "[200,300,400]" as a list); the optional arguments dropped as
unasked, unchanged (`bench/tool_unasked_arguments.py`: 52 broken). Other languages are not read: telling
them apart needs more than a word list, and a language read wrong lets an invented call through.
"""

from __future__ import annotations

import math
import re

from .toolcall_schema import argument_name_words

__all__ = ["feet_and_inches", "implied_numbers", "names_own_language", "per_year_counts", "prefixed_quantities"]

_IMPLIED_ONE = re.compile(
    r"\b(?:a|an|one|next|last|past|previous|coming|following|this|per|each|every|single)\s+(?:[a-z]+\s+)?"
    r"(?:second|minute|hour|day|night|week|weekend|fortnight|month|quarter|season|year|decade|century)\b"
)
"""A time span the words count as one ("the next month", "a single day", "per calendar year")."""
_AT_REST = re.compile(r"\b(?:(?:at|from) rest|dropped|from (?:a )?standstill|stationary)\b")
"""A start at speed zero ("initially at rest", "an object dropped from 100 m")."""
_FEET_INCHES = re.compile(r"\b(\d{1,2})\s*(?:ft|feet|foot|')\s*(?:and\s+)?(\d{1,2})\s*(?:in\b|inch|inches|\")")
"""A height in feet and inches ("5ft 10in", "6 feet 2 inches", "5' 10\"")."""
_NEGATIVE = re.compile(r"(?:(?<=[\w)^])\s+-\s*|\b(?:loss|lost|deficit|decrease|drop) of \$?)(\d+(?:\.\d+)?)(?!\.?\d)")
"""A term subtracted in an expression ("5x^2 - 7x + 3": -7), or a loss ("a loss of $1000": -1000)."""
_TIMES_PI = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\*\s*)?(?:pi|π)(?!\w)")
"""A multiple of pi ("from 0 to 2 pi": 6.283185..., also as written to 2 and 4 decimals)."""
_PI_DECIMALS = (2, 4)
_SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[-+]?\d+(?![\w.])")
"""A number in scientific notation ("1e-9", "2.5e6")."""
_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|hrs?)\b")
"""A duration in minutes or hours ("3 minutes": also 180 seconds; "2 hours": 120 minutes, 7200 seconds)."""
_PER_YEAR = {"quarterly": 4.0, "monthly": 12.0, "semi-annually": 2.0, "semiannually": 2.0, "biannually": 2.0,
             "twice a year": 2.0, "annually": 1.0, "yearly": 1.0, "weekly": 52.0, "daily": 365.0}
"""How often a year a frequency word counts ("compounded quarterly": 4 times a year)."""
# "annually" and "yearly" count 1, which implied_numbers leaves out: read as given, 1 kept a list of years
# [1, ..., 6] nobody asked for in "cash flows ... discounted at 8% annually" (BFCL simple_python_130).
_PER_YEAR_WORDS = re.compile(r"\b(?:" + "|".join(sorted(_PER_YEAR, key=len, reverse=True)) + r")\b")
_PREFIXED_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([pnuµμmkMG])(F|H|Hz|s|A|V|W|Ω|ohms?|g|m|l|L)\b")
"""A quantity with an SI prefix ("100µF": 0.0001 farad, "50mH": 0.05 henry, "2 kHz": 2000 hertz); case matters
("mHz" is no "MHz"), so it is read on the text as written."""
_SI_FACTORS = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
_ENGLISH_WORDS = frozenset({
    "the", "a", "an", "is", "are", "was", "of", "and", "to", "in", "for", "what", "how", "my", "me", "i",
    "it", "this", "with", "on", "can", "you", "please", "find", "get", "from",
})  # fmt: skip
_ENGLISH_NAMES = frozenset({"english", "en", "eng", "en-us", "en_us", "en-gb", "en_gb"})
_LANGUAGE_WORDS = frozenset({"language", "languages", "lang"})
_ENGLISH_WORDS_NEEDED = 3


def implied_numbers(lowered: str) -> set[float]:
    """The numbers the lower-case text `lowered` implies (module docstring)."""
    found: set[float] = set()
    if _IMPLIED_ONE.search(lowered):
        found.add(1.0)
    if _AT_REST.search(lowered):
        found.add(0.0)
    found.update(float(feet * 12 + inches) for feet, inches in feet_and_inches(lowered))
    found.update(-float(number) for number in _NEGATIVE.findall(lowered))
    found.update(float(number) for number in _SCIENTIFIC.findall(lowered))
    for times in _TIMES_PI.findall(lowered):
        found.add(float(times) * math.pi)
        found.update(round(float(times) * math.pi, decimals) for decimals in _PI_DECIMALS)
    for number, unit in _DURATION.findall(lowered):
        seconds = float(number) * (60.0 if unit.startswith("min") else 3600.0)
        found.update({seconds, seconds / 60})
    found.update(count for count in per_year_counts(lowered) if count > 1)
    return found


def per_year_counts(lowered: str) -> list[float]:
    """How many times a year each frequency word of the lower-case text counts, in order ("compounded
    quarterly": [4.0])."""
    return [_PER_YEAR[word] for word in _PER_YEAR_WORDS.findall(lowered)]


def prefixed_quantities(text: str) -> set[float]:
    """The base-unit values of the quantities `text` (as written, not lower-cased) gives with an SI prefix:
    "100µF" 0.0001, "50mH" 0.05, "2 kHz" 2000."""
    return {float(number) * _SI_FACTORS[prefix] for number, prefix, _unit in _PREFIXED_UNIT.findall(text)}


def feet_and_inches(lowered: str) -> list[tuple[int, int]]:
    """The heights the lower-case text `lowered` gives in feet and inches, as (feet, inches): "5ft 10in",
    "6 feet 2 inches", "5' 10\"", "5'11\"" (the last as BFCL writes it)."""
    return [(int(feet), int(inches)) for feet, inches in _FEET_INCHES.findall(lowered)]


def names_own_language(value: object, key: str, words: set[str]) -> bool:
    """Whether `value` names English for an argument `key` that names a language, where the text's
    lower-case `words` hold at least three common English words (module docstring)."""
    if not isinstance(value, str) or value.strip().lower() not in _ENGLISH_NAMES:
        return False
    if not _LANGUAGE_WORDS & set(argument_name_words(key)):
        return False
    return len(words & _ENGLISH_WORDS) >= _ENGLISH_WORDS_NEEDED
