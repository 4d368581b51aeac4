"""Dates rewritten into the format their argument's description declares, currency names put as codes,
function arguments' equations cut to their expression:
what each value, schema and call gets, and the adapter's notes."""

from __future__ import annotations

import json

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_codes import currency_code_of
from voxgate.backends.toolcall_formats import (
    bare_values,
    currency_codes,
    dates_in_declared_format,
    declared_date_format,
    in_declared_format,
)
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import (
    ACTION_CURRENCIES_CODED,
    ACTION_VALUES_BARED,
    REASON_CURRENCIES_CODED,
    REASON_VALUES_BARED,
)
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

MDY = {"type": "string", "description": "The date for the UV index, in the format mm-dd-yyyy."}
UV: JSONObject = {"name": "uv_index", "parameters": {"type": "object", "required": ["location", "date"],
                                                     "properties": {"location": {"type": "string"}, "date": MDY}}}


def test_the_declared_format_is_read_from_the_description() -> None:
    assert declared_date_format(MDY) == (("mm", "dd", "yyyy"), "-", False)
    assert declared_date_format({"description": "Format: YYYY/MM/DD"}) == (("yyyy", "mm", "dd"), "/", False)
    assert declared_date_format({"description": "in the format of 'dd/mm/yyyy HH:MM'"}) == (
        ("dd", "mm", "yyyy"), "/", True)
    for schema in ({"description": "The date."}, {"description": "mm-mm-yyyy"}, {"type": "string"}, "x", None):
        assert declared_date_format(schema) is None


def test_an_unambiguous_date_is_rewritten_into_the_declared_format() -> None:
    assert in_declared_format("2023-06-01", MDY) == "06-01-2023"
    assert in_declared_format("2023/6/1", MDY) == "06-01-2023"
    assert in_declared_format("June 1, 2023", MDY) == "06-01-2023"
    assert in_declared_format("1 June 2023", {"description": "Format DD.MM.YYYY"}) == "01.06.2023"
    with_time = {"description": "The departure time in the format of 'dd/mm/yyyy HH:MM'"}
    assert in_declared_format("2024-03-12 16:00", with_time) == "12/03/2024 16:00"  # the time kept as written


def test_values_in_format_ambiguous_or_not_dates_are_left_alone() -> None:
    left = ["06-01-2023",  # already in the format
            "01-06-2023",  # day and month could be either way round: not rewritten
            "2023-02-30",  # no such day
            "2023-06-01 14:00",  # a time the declared format has no room for
            "tomorrow", "", "Tokyo"]
    for value in left:
        assert in_declared_format(value, MDY) is None, value
    assert in_declared_format(20230601, MDY) is None
    assert in_declared_format("2023-06-01", {"description": "The date."}) is None


def test_calls_have_their_dates_rewritten_and_say_which_arguments() -> None:
    calls = [ParsedToolCall("uv_index", '{"location": "Tokyo", "date": "2023-06-01"}'),
             ParsedToolCall("uv_index", '{"location": "Oslo", "date": "06-02-2023"}'),
             ParsedToolCall("undeclared", '{"date": "2023-06-01"}'), ParsedToolCall("uv_index", "not json")]
    out, changed = dates_in_declared_format(calls, {"uv_index": UV})
    assert json.loads(out[0].arguments) == {"location": "Tokyo", "date": "06-01-2023"}
    assert out[1:] == calls[1:]
    assert changed == ("date",)


async def test_the_adapter_sends_the_declared_format_and_notes_it() -> None:
    inner = AnswersInOrder(json.dumps({"name": "uv_index", "arguments": {"location": "Tokyo", "date": "2023-06-01"}}),
                           "")
    notes: list[JSONObject] = []
    body: JSONObject = {"messages": [{"role": "user", "content": "UV index for Tokyo for tomorrow, June01 2023."}],
                        "tools": [{"type": "function", "function": UV}]}
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner).complete(body)
    call = answer["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"]) == {"location": "Tokyo", "date": "06-01-2023"}
    reformatted = [note for note in notes if note["action"] == "dates_reformatted"]
    assert reformatted == [{"model": "qwen", "action": "dates_reformatted", "functions": ["uv_index"],
                            "arguments": ["date"], "reason": reformatted[0]["reason"]}]
    off = AnswersInOrder(json.dumps({"name": "uv_index", "arguments": {"location": "Tokyo", "date": "2023-06-01"}}), "")
    answer = await FencedToolCallAdapter(off, trim_choices=False).complete(body)
    assert json.loads(answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["date"] == "2023-06-01"


CONVERT: JSONObject = {"name": "convert_currency", "parameters": {"type": "object", "properties": {
    "base_currency": {"type": "string", "description": "The base currency in which the original amount is present."},
    "target_currency": {"type": "string", "description": "The currency to which you want to convert."},
    "amount": {"type": "integer"},
    "note": {"type": "string"},
    "unit": {"type": "string", "description": "The currency unit, e.g. 'Euro' or 'Dollar'."},
    "coin": {"type": "string", "enum": ["Euro", "EUR"], "description": "The currency."},
}}}


def test_a_currency_argument_holding_a_currency_name_gets_its_code() -> None:
    """BFCL simple_python_393, the 0.5B's call; every other value stays: a code, an amount, an argument
    that is no currency, a name the description quotes, an enum, a name the tables do not hold."""
    calls = [ParsedToolCall("convert_currency", json.dumps({
        "base_currency": "Japanese Yen", "target_currency": "United States Dollar", "amount": 20000, "note": "euros",
        "unit": "Euro", "coin": "Euro"})),
        ParsedToolCall("convert_currency", json.dumps({"base_currency": "us_dollars",
                                                       "target_currency": "Canadian Dollars"})),
        ParsedToolCall("convert_currency", json.dumps({"base_currency": "EUR", "target_currency": "Zimbabwe dollar"})),
        ParsedToolCall("convert_currency", json.dumps({"base_currency": "100 euros"}))]
    out, changed = currency_codes(calls, {"convert_currency": CONVERT})
    assert [json.loads(call.arguments) for call in out[:2]] == [
        {"base_currency": "JPY", "target_currency": "USD", "amount": 20000, "note": "euros", "unit": "Euro",
         "coin": "Euro"},
        {"base_currency": "USD", "target_currency": "CAD"}]
    assert out[2:] == calls[2:]
    assert changed == ("base_currency", "target_currency")


def test_currency_names_are_read_whole() -> None:
    assert [currency_code_of(name) for name in ("euros", "Swiss francs", "South African rand", "yen", "Dollar")] == [
        "EUR", "CHF", "ZAR", "JPY", "USD"]
    assert [currency_code_of(name) for name in ("EUR", "usd", "pounds of flour", "Zimbabwe dollar", "100 euros")] == [
        None] * 5


async def test_the_adapter_sends_codes_and_notes_it() -> None:
    answer_text = json.dumps({"name": "convert_currency", "arguments": {
        "base_currency": "Japanese Yen", "target_currency": "USD", "amount": 20000}})
    body: JSONObject = {"messages": [{"role": "user", "content": "How much will 20000 Japanese Yen be in USD?"}],
                        "tools": [{"type": "function", "function": CONVERT}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(AnswersInOrder(answer_text, "")).complete(body)
    call = answer["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"]) == {"base_currency": "JPY", "target_currency": "USD", "amount": 20000}
    coded = [note for note in notes if note["action"] == ACTION_CURRENCIES_CODED]
    assert coded == [{"model": "qwen", "action": ACTION_CURRENCIES_CODED, "reason": REASON_CURRENCIES_CODED,
                      "functions": ["convert_currency"], "arguments": ["base_currency"]}]


INTERSECT: JSONObject = {"name": "functions_intersect", "parameters": {"type": "object", "properties": {
    "function1": {"type": "string", "description": "First function as a string with x as the variable, e.g. 3x+2"},
    "function2": {"type": "string", "description": "Second function given as a string with x as the variable"},
    "equation": {"type": "string", "description": "The equation to solve"},
    "label": {"type": "string", "description": "A name for the plot"}}}}


def test_a_function_argument_holding_an_equation_keeps_its_expression() -> None:
    """BFCL multiple_29 and multiple_33 (the 0.5B's calls)."""
    calls = [ParsedToolCall("functions_intersect", json.dumps({"function1": "y=3x+2", "function2": "f(x) = 2x+3"}))]
    settled, names = bare_values(calls, {"functions_intersect": INTERSECT})
    assert (json.loads(settled[0].arguments), names) == ({"function1": "3x+2", "function2": "2x+3"},
                                                          ("function1", "function2"))
    integral: JSONObject = {"name": "calculate_integral", "parameters": {"type": "object", "properties": {
        "func": {"type": "string", "description": "The function to be integrated."}}}}
    settled, _ = bare_values([ParsedToolCall("calculate_integral", '{"func": "f(x) = 3x^2"}')],
                                  {"calculate_integral": integral})
    assert json.loads(settled[0].arguments) == {"func": "3x^2"}


def test_a_value_restating_its_arguments_name_keeps_the_rest() -> None:
    """BFCL multiple_155 (the 0.5B's call); names with "of" stay as they are."""
    discoverer: JSONObject = {"name": "get_discoverer", "parameters": {"type": "object", "properties": {
        "discovery": {"type": "string"}, "battle": {"type": "string"}, "museum_name": {"type": "string"}}}}
    functions = {"get_discoverer": discoverer}
    calls = [ParsedToolCall("get_discoverer", '{"discovery": "discovery of the neutron"}')]
    assert json.loads(bare_values(calls, functions)[0][0].arguments) == {"discovery": "neutron"}
    for kept in ({"battle": "Battle of Stalingrad"}, {"museum_name": "Museum of Modern Art"},
                 {"discovery": "a discovery of the neutron"}, {"battle": "siege of Leningrad"}):
        calls = [ParsedToolCall("get_discoverer", json.dumps(kept))]
        assert bare_values(calls, functions) == (calls, ()), kept


def test_equations_non_functions_comparisons_and_bare_values_are_left_alone() -> None:
    functions = {"functions_intersect": INTERSECT}
    for arguments in ({"equation": "y = 2x + 3"},  # an equation argument wants the equation
                      {"label": "y = 2x"},  # not a function argument
                      {"function1": "x == 3"}, {"function1": "3x+2"}, {"function1": "y ="}, {"function1": 3}):
        calls = [ParsedToolCall("functions_intersect", json.dumps(arguments))]
        assert bare_values(calls, functions) == (calls, ()), arguments


async def test_the_adapter_sends_the_expression_and_notes_it() -> None:
    answer = json.dumps({"name": "functions_intersect", "arguments": {"function1": "y=3x+2", "function2": "2x+3"}})
    body: JSONObject = {"messages": [{"role": "user", "content": "Intersect y=3x+2 and y=2x+3."}],
                        "tools": [{"type": "function", "function": INTERSECT}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete(body)
    arguments = json.loads(out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"function1": "3x+2", "function2": "2x+3"}
    assert [note for note in notes if note["action"] == ACTION_VALUES_BARED] == [
        {"model": "qwen", "action": ACTION_VALUES_BARED, "reason": REASON_VALUES_BARED,
         "functions": ["functions_intersect"], "arguments": ["function1"]}]
