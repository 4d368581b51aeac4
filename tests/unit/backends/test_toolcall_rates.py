"""A rate the user gave as a percentage, passed as a fraction where the function takes one
(`toolcall_rates`): which arguments are rewritten, which stay, and the adapter doing it, noted."""

from __future__ import annotations

import json

import pytest

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_rates import fraction_for, percentages, rates_as_fractions
from voxgate.backends.toolcall_record import ACTION_RATES_AS_FRACTIONS, REASON_RATES_AS_FRACTIONS
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

FUTURE_VALUE: JSONObject = {"name": "future_value", "parameters": {"type": "object", "properties": {
    "present_value": {"type": "number", "description": "The present value."},
    "annual_interest_rate": {"type": "number", "description": "The annual interest rate of the investment."},
    "years": {"type": "integer", "description": "Years invested."},
}}}
"""BFCL parallel_172's function, shortened: the 0.5B wrote `annual_interest_rate: 5` for "5%"."""


def test_percentages_are_the_numbers_written_as_percentages() -> None:
    assert percentages("5% for 10 years, then 2.5 % and 7 percent; 12 apples, 0.5%") == {5.0, 2.5, 7.0, 0.5}
    assert percentages("no rate here, 5 years") == frozenset()


@pytest.mark.parametrize(("key", "value", "schema", "fraction"), [
    ("annual_interest_rate", 5, {"type": "number", "description": "The annual interest rate."}, 0.05),
    ("growth_rate", 2.5, {"type": "number"}, 0.025),
    ("discountRate", 7, {"type": "number"}, 0.07),  # camelCase split
    ("annual_return", 7, {"type": "number", "description": "As a decimal, e.g. 5% is 0.05."}, 0.07),
    ("score", 5, {"type": "number", "description": "The score in decimal form."}, 0.05),  # asked for: any name
    ("annual_rate", 5, {"type": "number", "description": "The interest rate for a year as a percentage."}, None),
    ("confidence_rate", 50, {"type": "number", "description": "A decimal value, as a percentage, 0.0 to 100.0."},
     None),  # BFCL live_simple_164's wording: "decimal" is the number's kind, the value a percentage
    ("growth_percentage", 5, {"type": "number"}, None),  # the name says percentage
    ("interest_rate", 5, {"type": "integer"}, None),  # an integer cannot hold 0.05
    ("interest_rate", "5", {"type": "number"}, None),
    ("interest_rate", True, {"type": "number"}, None),
    ("years", 5, {"type": "number"}, None),  # not a rate
    ("interest_rate", 4, {"type": "number"}, None),  # 4 is not one of the request's percentages
    ("interest_rate", 0.05, {"type": "number"}, None),  # already the fraction
])
def test_a_rate_argument_holding_a_percentage_of_the_request_takes_its_fraction(
    key: str, value: object, schema: JSONObject, fraction: float | None
) -> None:
    assert fraction_for(key, value, schema, percentages("at 5%, 2.5%, 7% and 50%")) == fraction


def test_calls_are_rewritten_only_where_the_request_gives_a_percentage() -> None:
    call = ParsedToolCall("future_value", '{"present_value": 5000, "annual_interest_rate": 5, "years": 5}')
    rewritten, names = rates_as_fractions([call], {"future_value": FUTURE_VALUE}, "$5000 at 5% for 5 years")
    assert names == ("annual_interest_rate",)
    assert json.loads(rewritten[0].arguments) == {"present_value": 5000, "annual_interest_rate": 0.05, "years": 5}
    assert rates_as_fractions([call], {"future_value": FUTURE_VALUE}, "$5000 at a rate of 5 for 5 years") == (
        [call], ())


async def test_the_adapter_sends_the_fraction_and_notes_it() -> None:
    answer = json.dumps({"name": "future_value", "arguments": {"present_value": 5000, "annual_interest_rate": 5}})
    body: JSONObject = {"messages": [{"role": "user", "content": "Future value of $5000 at an annual interest rate "
                                                                "of 5%?"}],
                        "tools": [{"type": "function", "function": FUTURE_VALUE}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete(body)
    arguments = json.loads(out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"present_value": 5000, "annual_interest_rate": 0.05}
    assert [note for note in notes if note["action"] == ACTION_RATES_AS_FRACTIONS] == [
        {"model": "qwen", "action": ACTION_RATES_AS_FRACTIONS, "reason": REASON_RATES_AS_FRACTIONS,
         "functions": ["future_value"], "arguments": ["annual_interest_rate"]}]
