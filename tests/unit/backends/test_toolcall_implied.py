"""Values the words give without writing them: what each phrasing implies, and what it does not."""

from __future__ import annotations

import json
import re

import pytest

from voxgate.backends.toolcall_grounding import is_grounded
from voxgate.backends.toolcall_implied import implied_numbers, names_own_language, prefixed_quantities
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.core.types import JSONObject


@pytest.mark.parametrize(("text", "number"), [
    ("the weather for the next month", 1.0), ("per calendar year", 1.0),
    ("a car initially at rest accelerates", 0.0), ("an object dropped from 100 m", 0.0),
    ("it started from rest", 0.0), ("from a standstill", 0.0),
    ("height 5ft 10in", 70.0), ("he is 6 feet 2 inches tall", 74.0), ("5' 10\" tall", 70.0),
    ("the second equation is 5x^2 - 7x + 3 = 0", -7.0), ("with a loss of $1000.", -1000.0),
    ("charges of 1e-9 and 2e-9", 1e-9), ("2.5e6 joules", 2.5e6),
    ("plot a sine wave from 0 to 2 pi", 6.2832), ("from 0 to 2 pi", 6.28), ("0 to 2π", 2 * 3.141592653589793),
    ("a track of 3 minutes", 180.0), ("for 2 hours", 120.0), ("for 2 hours", 7200.0), ("1.5 hrs", 5400.0),
    ("compounded quarterly", 4.0), ("with monthly compounding", 12.0), ("paid semi-annually", 2.0),
])  # fmt: skip
def test_the_words_imply_the_number(text: str, number: float) -> None:
    assert number in implied_numbers(text)


@pytest.mark.parametrize(("text", "number"), [
    ("rest in peace for 5 years", 0.0),  # "rest" alone is no start at rest
    ("years 2010-2020", -2020.0),  # a range, not a subtraction
    ("the price is 5 dollars", -5.0), ("5ft tall", 60.0), ("e5 to e4", 5.0), ("a pie for 2 people", 6.28),
    ("3 minutes", 3.0 * 3600), ("quarterly", 12.0),
    ("cash flows discounted at 8% annually", 1.0),  # kept a list of years 1..6 (BFCL simple_python_130)
])  # fmt: skip
def test_the_words_do_not_imply_the_number(text: str, number: float) -> None:
    assert number not in implied_numbers(text)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


REVIEW = "Analyze the sentiment of a customer review 'I love the food here! It's always fresh and delicious.'"


@pytest.mark.parametrize(("value", "key", "text", "named"), [
    ("english", "language", REVIEW, True), ("en", "lang", REVIEW, True), ("English", "source_language", REVIEW, True),
    ("french", "language", REVIEW, False),  # only English is read
    ("english", "text", REVIEW, False),  # not an argument naming a language
    ("english", "language", "Analysiere die Stimmung: 'Das Essen ist lecker'", False),  # not English words
    (5, "language", REVIEW, False),
])  # fmt: skip
def test_english_is_given_where_the_request_is_in_english(value: object, key: str, text: str, named: bool) -> None:
    assert names_own_language(value, key, _words(text)) is named


def test_a_right_call_holding_what_the_words_imply_is_grounded() -> None:
    function: JSONObject = {"name": "sentiment_analysis", "parameters": {"type": "object", "required": [
        "text", "language"], "properties": {"text": {"type": "string"}, "language": {"type": "string"}}}}
    right = ParsedToolCall("sentiment_analysis", json.dumps({"text": "I love the food here!", "language": "english"}))
    assert is_grounded(right, REVIEW, function)
    numbers = {"type": "number"}
    speed: JSONObject = {"name": "final_speed", "parameters": {"type": "object", "required": [
        "initial_velocity", "height"], "properties": {"initial_velocity": numbers, "height": numbers}}}
    from_rest = ParsedToolCall("final_speed", json.dumps({"initial_velocity": 0, "height": 100}))
    assert is_grounded(from_rest, "Calculate the final speed of an object dropped from 100 m.", speed)
    assert not is_grounded(from_rest, "Calculate the final speed of an object thrown from 100 m.", speed)


@pytest.mark.parametrize(("text", "values"), [
    ("capacitance of 100µF and inductance of 50mH", {1e-4, 0.05}),  # BFCL simple_python_42
    ("a 2 kHz tone, 5 MHz, 3 ms, 10 nF, 4.7uF", {2000.0, 5e6, 0.003, 1e-8, 4.7e-6}),
    ("5 mHz", {0.005}),  # milli: case matters
    ("a 5 km run and 100 grams", {5000.0}),  # "grams" is no prefixed unit
])  # fmt: skip
def test_a_quantity_with_an_si_prefix_gives_its_base_unit_value(text: str, values: set[float]) -> None:
    assert all(any(abs(found - value) < 1e-12 for found in prefixed_quantities(text)) for value in values)
    assert len(prefixed_quantities(text)) == len(values)


def test_numbers_in_brackets_are_a_list_and_a_prefixed_quantity_is_grounded() -> None:
    """BFCL simple_python_127 ("given cash_flows=[200,300,400,500]": not 200,300,400,500 read as one
    number) and simple_python_42 (100µF as 0.0001)."""
    numbers = {"type": "number"}
    npv: JSONObject = {"name": "npv", "parameters": {"type": "object", "required": ["cash_flows"], "properties": {
        "cash_flows": {"type": "array", "items": numbers}, "initial_investment": numbers}}}
    right = ParsedToolCall("npv", json.dumps({"cash_flows": [200, 300, 400, 500], "initial_investment": 2000}))
    assert is_grounded(right, "The NPV given cash_flows=[200,300,400,500] and an initial investment of $2000.", npv)
    assert not is_grounded(right, "The NPV given cash flows of 200,300,400,500 and an initial investment of 2000.",
                           npv)  # without brackets: one number with thousands separators
    properties = {"inductance": numbers, "capacitance": numbers}
    lc: JSONObject = {"name": "resonance", "parameters": {"type": "object", "required": ["inductance"],
                                                          "properties": properties}}
    base_units = ParsedToolCall("resonance", json.dumps({"inductance": 0.05, "capacitance": 0.0001}))
    assert is_grounded(base_units, "An LC circuit with capacitance of 100µF and inductance of 50mH.", lc)
