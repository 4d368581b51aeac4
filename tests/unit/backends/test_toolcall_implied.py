"""Values the words give without writing them: what each phrasing implies, and what it does not."""

from __future__ import annotations

import json
import re

import pytest

from voxgate.backends.toolcall_grounding import is_grounded
from voxgate.backends.toolcall_implied import implied_numbers, names_own_language
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
])  # fmt: skip
def test_the_words_imply_the_number(text: str, number: float) -> None:
    assert number in implied_numbers(text)


@pytest.mark.parametrize(("text", "number"), [
    ("rest in peace for 5 years", 0.0),  # "rest" alone is no start at rest
    ("years 2010-2020", -2020.0),  # a range, not a subtraction
    ("the price is 5 dollars", -5.0), ("5ft tall", 60.0), ("e5 to e4", 5.0), ("a pie for 2 people", 6.28),
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
