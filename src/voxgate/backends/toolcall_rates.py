"""A rate the user gave as a percentage, passed as a fraction where the function takes one. Pure.

Asked for "the future value of $5000 at an annual interest rate of 5% for 10 years", the 0.5B wrote
`annual_interest_rate: 5` (BFCL parallel_172; `discount_rate: 5`, `annual_return: 7`, `growth_rate: 2` in
parallel_169, 173, 125): a function computing with a rate of 5 computes with 500 %. Where the request
writes a number as a percentage ("5%", "5 %", "5 percent") and a call passes that number to a rate
argument, the call passes it divided by 100 when

    - the argument's schema is a number (not an integer, not a string), and
    - its description asks for a decimal or a fraction ("as a decimal", "in decimal form", "e.g. 5% is
      0.05"), or it says nothing of percentages while its name is a rate's (a word such as rate, return, growth, yield,
      interest, inflation, discount or tax), and no word of its name is "percent" or "percentage".

A description that asks for the percentage ("The interest rate for a year as a percentage"; "A decimal
value representing the confidence score as a percentage, ranging from 0.0 to 100.0") keeps the number.
Measured on BFCL's reference calls (`bench/tool_rates.py`): of the 92 accepted values that are a
percentage of the request or its hundredth, 63 are the hundredth, and the rule rewrites none of the
others; replayed on the whole parallel and parallel_multiple runs of 2026-12-05 (0.5B answers), it
turns 4 and 3 answers right and none wrong.

    rates_as_fractions(calls, functions, text)   parsed calls with such values divided by 100, and the
                                                 names of the arguments rewritten
    fraction_for(key, value, schema, percents)   the one value's fraction, or None when it stays
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import argument_name_words, values_rewritten

__all__ = ["fraction_for", "percentages", "rates_as_fractions"]

_PERCENTAGE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
_RATE_WORDS = frozenset({"rate", "rates", "return", "returns", "growth", "yield", "interest", "inflation",
                         "discount", "tax", "apr", "apy"})
_PERCENT_WORDS = frozenset({"percent", "percentage", "pct"})
_ASKS_FOR_FRACTION = re.compile(
    r"\b(?:as|in) (?:a )?decimal\b|\bdecimal form\b|\b(?:as|in) (?:a )?fraction\b|%\s*(?:=|is)\s*0?\.\d", re.IGNORECASE)
_SAYS_PERCENT = re.compile(r"percent|%", re.IGNORECASE)


def percentages(text: str) -> frozenset[float]:
    """The numbers `text` writes as percentages ("5%", "2.5 %", "7 percent")."""
    return frozenset(float(number) for number in _PERCENTAGE.findall(text))


def rates_as_fractions(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each top-level rate argument that holds a percentage of `text` as its number given
    its hundredth (module docstring), and the names of the arguments rewritten (empty: as they were)."""
    percents = percentages(text)
    if not percents:
        return list(calls), ()
    return rewritten_calls(calls, lambda call, arguments: values_rewritten(
        arguments, functions.get(call.name), lambda key, value, schema: fraction_for(key, value, schema, percents)))


def fraction_for(key: str, value: Any, schema: Any, percents: Collection[float]) -> float | None:
    """`value` / 100 where it is one of `percents` and argument `key` (its `schema`) takes a fraction
    (module docstring); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) not in percents:
        return None
    if not isinstance(schema, dict) or schema.get("type") != "number":
        return None
    words = set(argument_name_words(key))
    if words & _PERCENT_WORDS:
        return None
    description = schema.get("description")
    said = description if isinstance(description, str) else ""
    if _ASKS_FOR_FRACTION.search(said) is None and (_SAYS_PERCENT.search(said) or not words & _RATE_WORDS):
        return None
    return round(float(value) / 100, 10)
