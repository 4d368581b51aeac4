"""Quantities the user wrote in their own notation, passed as the function takes them. Pure.

The bundled models copy what the user wrote, or part of it, where a function wants the quantity in
its own unit or sign. Each rule below rewrites a numeric argument (top level, or the numbers of a
list) that holds such a part:

    - a height in feet and inches, as inches: for "height 5ft 10in" the 0.5B wrote `height: 5` (BFCL
      simple_python_61), for "5'11\\"" `height: 511`, for "6 feet 2 inches" `height: 6` (parallel_multiple
      180, 148). Where the request gives one such height (`toolcall_implied.feet_and_inches`) and an
      argument about height or inches (its name or description) holds the feet alone or the feet and
      inches written together (511, 5.11), it gets the inches (70, 71), unless its description names
      another unit ("in centimeters") and the call does not ask for the imperial system;
    - a latitude or longitude written with its hemisphere, signed: "(33.4484 N, 112.0740 W)" is
      [33.4484, -112.074] in the decimal degrees functions take (simple_python_83: the 0.5B wrote 112.074).
      A value that is a number the request writes with "W" or "S" after it, and nowhere without, is negated;
    - how often interest compounds, counted: "with monthly compounding" is 12 times a year (simple_python_133:
      `compounding_periods_per_year: 1`). Where the request names one frequency ("monthly", "quarterly",
      "twice a year"...) and an argument whose description counts how often interest is applied ("The number
      of times that interest is compounded per year"; not "The amount of money that is being compounded")
      holds another number, it gets the frequency's count.

Measured offline (`bench/tool_units.py`): settled by the rules, none of BFCL's 3,152 reference calls
changes (a value in the reference is never a part these rules rewrite); replayed on the recorded answers
of 2026-12-05 (the whole simple_python, multiple, parallel and parallel_multiple runs), they turn 5
answers right (simple_python 61, 83, 133; parallel_multiple 148, 180) and none wrong.

    quantities_as_declared(calls, functions, request)   the calls with such quantities rewritten, and the
                                                        names of the arguments rewritten
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_implied import feet_and_inches, per_year_counts
from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import argument_name_words, values_rewritten

__all__ = ["quantities_as_declared"]

_HEIGHT_WORDS = frozenset({"height", "tall", "inch", "inches", "stature"})
_OTHER_UNIT = re.compile(r"\b(?:centimet(?:er|re)s?|cm|met(?:er|re)s?|millimet(?:er|re)s?|mm|feet|foot|ft)\b",
                         re.IGNORECASE)
_INCHES = re.compile(r"\binch(?:es)?\b", re.IGNORECASE)
_HEMISPHERE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*°?\s*([NSEW]|(?i:north|south|east|west))\b")
"""A coordinate written with its hemisphere ("112.0740 W", "33.45° N", "33.9 south"; a lower-case "s" is seconds)."""
_COUNTS = re.compile(r"\bnumber of times\b|\bhow often\b|\bfrequency\b|\btimes per\b|\bperiods? per\b", re.IGNORECASE)
_OF_INTEREST = re.compile(r"compound|interest", re.IGNORECASE)
"""A description that counts how often interest is applied ("The number of times that interest is compounded per
year"; not "The amount of money that is being compounded")."""


@dataclass(frozen=True)
class _Request:
    """What the request writes that the rules read."""

    height: tuple[set[float], int] | None  # the parts of its one height in feet and inches, the inches
    negative: frozenset[float]  # numbers written only with "W" or "S" after them
    per_year: float | None  # the count of its one compounding frequency


def quantities_as_declared(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], request: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each argument holding a quantity as the user wrote it rewritten as the function takes it
    (module docstring), and the names of the arguments rewritten."""
    read = _read(request)
    if read.height is None and not read.negative and read.per_year is None:
        return list(calls), ()
    return rewritten_calls(
        calls, lambda call, arguments: _arguments_rewritten(arguments, functions.get(call.name), read))


def _arguments_rewritten(arguments: Any, function: JSONObject | None, read: _Request) -> tuple[Any, tuple[str, ...]]:
    """One call's decoded `arguments` with `_rewritten` applied to each, and the names rewritten."""
    imperial = isinstance(arguments, dict) and any(
        isinstance(value, str) and value.strip().lower() == "imperial" for value in arguments.values())
    return values_rewritten(arguments, function, lambda key, value, schema: _rewritten(key, value, schema, read,
                                                                                        imperial))


def _read(request: str) -> _Request:
    heights = set(feet_and_inches(request.lower()))
    height = None
    if len(heights) == 1:
        feet, inches = heights.pop()
        height = ({float(feet), float(f"{feet}{inches}"), float(f"{feet}.{inches}")}, feet * 12 + inches)
    signed = [(float(number), side[0].upper() in "SW") for number, side in _HEMISPHERE.findall(request)]
    negative = frozenset(number for number, south_west in signed if south_west) - {
        number for number, south_west in signed if not south_west}
    counts = per_year_counts(request.lower())
    return _Request(height, negative, counts[0] if len(set(counts)) == 1 else None)


def _rewritten(key: str, value: Any, schema: Any, read: _Request, imperial: bool) -> Any | None:
    """The value argument `key` (its `schema`) should hold instead of `value`, or None where it stays."""
    if not isinstance(schema, dict):
        return None
    if isinstance(value, list) and schema.get("type") == "array":
        signed = [_signed(item, read) for item in value]
        return [item if new is None else new for item, new in zip(value, signed, strict=True)] if any(
            new is not None for new in signed) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or schema.get("type") not in ("integer", "number"):
        return None
    description = schema.get("description")
    said = description if isinstance(description, str) else ""
    if read.height is not None and float(value) in read.height[0] and _takes_height(key, said, imperial):
        return read.height[1]
    if read.per_year is not None and _COUNTS.search(said) and _OF_INTEREST.search(f"{key} {said}") and (
            float(value) != read.per_year):
        return int(read.per_year)  # every count of `toolcall_implied`'s table is whole
    return _signed(value, read)


def _signed(value: Any, read: _Request) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or float(value) not in read.negative:
        return None
    return -value


def _takes_height(key: str, description: str, imperial: bool) -> bool:
    if not (_HEIGHT_WORDS & set(argument_name_words(key)) or _INCHES.search(description)):
        return False
    return not (_OTHER_UNIT.search(description) and not _INCHES.search(description) and not imperial)

