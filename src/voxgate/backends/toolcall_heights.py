"""A height the user gave in feet and inches, passed as inches where the model passed part of it. Pure.

Asked to "Predict whether a person with weight 150lbs and height 5ft 10in ... will get type 2
diabetes", the 0.5B called `diabetes_prediction(weight: 150, height: 5, ...)` (BFCL simple_python_61);
for "a 180 lbs, 5'11\\" tall individual" it wrote `height: 511`, for "200 pounds and 6 feet 2 inches
tall" `height: 6` (parallel_multiple_180, 148). A function computing with those computes with a person
5 inches tall. Where the request gives one height in feet and inches (`toolcall_implied.feet_and_inches`)
and a call passes a numeric argument whose name or description is about height or inches the feet
alone (5), or the feet and inches written together (511, 5.11), the call passes the height in inches
(70, 71), when the argument's description names no other unit ("in centimeters"), or the call asks for
the imperial system (`unit: "imperial"`, where the description's unit is the metric default).

Of BFCL's 3,152 reference calls, the 3 requests with a height in feet and inches are those above, and
each accepts the height in inches only (`bench/results/bfcl_ab.md`).

    heights_in_inches(calls, functions, request)   the calls with such heights rewritten, and the names
                                                   of the arguments rewritten
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_implied import feet_and_inches
from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import argument_name_words, values_rewritten

__all__ = ["heights_in_inches"]

_HEIGHT_WORDS = frozenset({"height", "tall", "inch", "inches", "stature"})
_OTHER_UNIT = re.compile(r"\b(?:centimet(?:er|re)s?|cm|met(?:er|re)s?|millimet(?:er|re)s?|mm|feet|foot|ft)\b",
                         re.IGNORECASE)
_INCHES = re.compile(r"\binch(?:es)?\b", re.IGNORECASE)


def heights_in_inches(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], request: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each height argument holding part of the request's one height in feet and inches
    given that height in inches (module docstring), and the names of the arguments rewritten."""
    heights = set(feet_and_inches(request.lower()))
    if len(heights) != 1:
        return list(calls), ()
    feet, inches = heights.pop()
    parts = {float(feet), float(f"{feet}{inches}"), float(f"{feet}.{inches}")}
    return rewritten_calls(calls, lambda call, arguments: values_rewritten(
        arguments, functions.get(call.name), lambda key, value, schema: _in_inches(
            key, value, schema, parts, feet * 12 + inches, _asks_imperial(call))))


def _in_inches(key: str, value: Any, schema: Any, parts: set[float], total: int, imperial: bool) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) not in parts:
        return None
    if not isinstance(schema, dict) or schema.get("type") not in ("integer", "number"):
        return None
    description = schema.get("description")
    said = description if isinstance(description, str) else ""
    if not (_HEIGHT_WORDS & set(argument_name_words(key)) or _INCHES.search(said)):
        return None
    if _OTHER_UNIT.search(said) and not _INCHES.search(said) and not imperial:
        return None
    return total


def _asks_imperial(call: ParsedToolCall) -> bool:
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return False
    return isinstance(arguments, dict) and any(
        isinstance(value, str) and value.strip().lower() == "imperial" for value in arguments.values())
