"""A date argument written in another format than the one its description declares, rewritten. Pure.

Tool descriptions often declare a date format ("The date for the UV index, in the format mm-dd-yyyy";
"Format: MM/DD/YYYY"), and the bundled models write dates their own way, mostly ISO: asked for the UV
index in Tokyo "for tomorrow, June01 2023", the 0.5B wrote `date: "2023-06-01"` (BFCL multiple_64).
The function behind such a schema parses the format it declared, so the call fails there. Where an
argument's description declares a day-month-year order with a separator (`yyyy-mm-dd`, `mm/dd/yyyy`,
`dd.mm.yyyy`...) and the value is a date written unambiguously another way (year first, or with the
month's name: "June 1, 2023"), the value is rewritten in the declared format; a time after the date
("2023-06-01 14:00", "...T14:00:00") stays as it is written when the declared format has one too, and
the value is left alone when it has not. A value already in the declared format, a date that could be
read two ways ("06-01-2023" for `dd-mm-yyyy`), or something that is no date is left alone.

A currency argument (a string without `enum` whose name or description says "currency") holding a
currency's name holds its ISO 4217 code instead: asked "How much will 20000 Japanese Yen be in United
States Dollar?", the 0.5B wrote `base_currency: "Japanese Yen"` (BFCL simple_python_393), and
"euros", "us_dollars" elsewhere; exchange-rate APIs take codes. Names are `toolcall_codes`' tables
("Zimbabwe dollar" is no name there, so it stays); a value the description itself quotes stays.

A function argument (a string whose name or description says "function", and not "equation") holding
an equation's left side as well ("y=3x+2", "f(x) = 3x^2") holds the expression alone: asked for "the
intersection points of the functions y=3x+2 and y=2x+3", the 0.5B wrote `function1: "y=3x+2"` for
"First function given as a string with x as the variable, e.g. 3x+2" (BFCL multiple_29, and
multiple_33's `func: "f(x) = 3x^2"`). Of BFCL's reference values, one accepts such a left side
(simple_python_13's "y=x**2"), and it accepts the bare expression too. Likewise a string that restates
its argument's name before "of", in lower case, holds what follows: `discovery: "discovery of the
neutron"` for "Who discovered the neutron?" (multiple_155) becomes "neutron"; a name ("Battle of
Stalingrad", "Museum of Modern Art") stays, and no BFCL reference value is such a restatement.

    declared_date_format(schema)             (the parts in order, the separator, whether a time follows), or None
    in_declared_format(value, schema)        the value rewritten, or None when it stays as it is
    dated_arguments(arguments, function)     a call's decoded arguments with such values rewritten, and their names
    dates_in_declared_format(calls, functions)  the same for parsed calls
    currency_codes(calls, functions)         parsed calls with currency names put as codes, and the names of
                                             the arguments rewritten
    bare_values(calls, functions)            parsed calls with function arguments' equation left sides
                                             and restated argument names dropped, and the names of the
                                             arguments rewritten
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_codes import currency_code_of
from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import values_rewritten

__all__ = [
    "bare_values", "currency_codes", "dated_arguments", "dates_in_declared_format", "declared_date_format",
    "in_declared_format",
]

_DECLARED = re.compile(r"(?<![a-z])(yyyy|mm|dd)([-/.])(yyyy|mm|dd)\2(yyyy|mm|dd)(?![a-z])(\s*[t ]?hh:mm)?", re.I)
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})((?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?")
_NAMED_MONTH_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")
_PARTS = {"yyyy", "mm", "dd"}
_RESTATED = re.compile(r"^\s*([a-z]{3,})\s+of\s+(?:the\s+)?(\S.*?)\s*$")
_KEY_WORD = re.compile(r"[a-z]{3,}")
_LEFT_SIDE = re.compile(r"^\s*(?:[a-z]\s*\(\s*[a-z]\s*\)|[a-z])\s*=(?!=)\s*", re.IGNORECASE)

DateFormat = tuple[tuple[str, str, str], str, bool]


def declared_date_format(schema: object) -> DateFormat | None:
    """The date format `schema`'s description declares: its parts in order (each of "yyyy", "mm", "dd"),
    the separator, and whether a time ("HH:MM") follows; None when it declares none."""
    description = schema.get("description") if isinstance(schema, dict) else None
    found = _DECLARED.search(description) if isinstance(description, str) else None
    if found is None:
        return None
    parts = (found.group(1).lower(), found.group(3).lower(), found.group(4).lower())
    if set(parts) != _PARTS:
        return None
    return parts, found.group(2), found.group(5) is not None


def in_declared_format(value: object, schema: object) -> str | None:
    """`value` rewritten in the date format `schema` declares (module docstring), or None."""
    declared = declared_date_format(schema)
    if declared is None or not isinstance(value, str):
        return None
    read = _read_date(value.strip())
    if read is None:
        return None
    day, time = read
    if time and not declared[2]:
        return None
    pieces = {"yyyy": f"{day.year:04d}", "mm": f"{day.month:02d}", "dd": f"{day.day:02d}"}
    written = declared[1].join(pieces[part] for part in declared[0]) + time
    return written if written != value.strip() else None


def _read_date(value: str) -> tuple[date, str] | None:
    """The date `value` writes unambiguously (year first, or the month by name) and the time written after
    it, as it is (" 16:00:00", "T16:00"; "" for none)."""
    year_first = _YEAR_FIRST.fullmatch(value)
    if year_first is not None:
        try:
            day = date(int(year_first.group(1)), int(year_first.group(2)), int(year_first.group(3)))
        except ValueError:
            return None
        return day, year_first.group(4) or ""
    for pattern in _NAMED_MONTH_FORMATS:
        try:
            return datetime.strptime(value, pattern).date(), ""
        except ValueError:
            continue
    return None


def dates_in_declared_format(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject]
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each top-level string argument rewritten into the date format its description declares
    (`in_declared_format`), and the names of the arguments rewritten (empty: the calls as they were)."""
    return rewritten_calls(calls, lambda call, arguments: dated_arguments(arguments, functions.get(call.name)))


def dated_arguments(arguments: Any, function: JSONObject | None) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) with each top-level value that `in_declared_format` rewrites
    for `function`'s schema of it rewritten, and the names of those arguments."""
    return values_rewritten(arguments, function, lambda _key, value, schema: in_declared_format(value, schema))


def currency_codes(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject]
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each currency argument that holds a currency's name given its code instead (module
    docstring), and the names of the arguments rewritten (empty: the calls as they were)."""
    return rewritten_calls(
        calls, lambda call, arguments: values_rewritten(arguments, functions.get(call.name), _currency_code))


def _currency_code(key: str, value: Any, schema: Any) -> str | None:
    """The code for `value` where the argument `key` (its `schema`) is a currency and `value` a currency's name."""
    if not isinstance(value, str) or not isinstance(schema, dict) or schema.get("type") != "string" or "enum" in schema:
        return None
    description = schema.get("description")
    described = description.lower() if isinstance(description, str) else ""
    if ("currenc" not in key.lower() and "currenc" not in described) or value.strip().lower() in described:
        return None
    return currency_code_of(value)


def bare_values(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject]
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each function argument that holds an equation ("y=3x+2") given its right side alone,
    and each value restating its argument's name ("discovery of the neutron") the rest (module
    docstring), and the names of the arguments rewritten (empty: the calls as they were)."""
    return rewritten_calls(
        calls, lambda call, arguments: values_rewritten(arguments, functions.get(call.name), _bare_value))


def _bare_value(key: str, value: Any, schema: Any) -> str | None:
    """`value` less its left side ("y =", "f(x) =") where the argument `key` (its `schema`) is a function,
    or less its restatement of `key` ("discovery of the")."""
    if not isinstance(value, str) or not isinstance(schema, dict) or schema.get("type") != "string":
        return None
    restated = _RESTATED.match(value)
    if restated is not None and restated.group(1)[:5] in {word[:5] for word in _KEY_WORD.findall(key.lower())}:
        return restated.group(2)
    description = schema.get("description")
    said = f"{key} {description if isinstance(description, str) else ''}".lower()
    left = _LEFT_SIDE.match(value)
    if "func" not in said or "equation" in said or left is None or not value[left.end():].strip():
        return None
    return value[left.end():].strip()
