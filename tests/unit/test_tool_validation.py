"""find_tool_call_problems and schema_problem: every problem kind, and acceptable answers yield none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxgate.backends.tool_validation import (
    ToolCallProblemKind,
    find_tool_call_problems,
    schema_problem,
)
from voxgate.core.types import JSONObject

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
QUESTION = [{"role": "user", "content": "Weather in Paris?"}]


def _body(**extra: Any) -> JSONObject:
    return {"messages": QUESTION, "tools": [WEATHER, TIME], **extra}


def _call(name: str, arguments: object, call_id: str = "call_1") -> JSONObject:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def _calls(*calls: JSONObject) -> JSONObject:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def _kinds(body: JSONObject, message: JSONObject) -> list[ToolCallProblemKind]:
    return [problem.kind for problem in find_tool_call_problems(body, message)]


def test_a_valid_call_and_a_plain_answer_have_no_problems() -> None:
    assert _kinds(_body(), _calls(_call("get_weather", {"city": "Paris", "unit": "c"}))) == []
    assert _kinds(_body(), {"role": "assistant", "content": "It is sunny."}) == []
    assert _kinds(_body(tool_choice="required"), _calls(_call("get_time", {}))) == []


def test_a_request_without_tools_has_no_problems() -> None:
    assert find_tool_call_problems({"messages": QUESTION}, _calls(_call("anything", "not json"))) == ()


def test_unknown_function() -> None:
    problems = find_tool_call_problems(_body(), _calls(_call("get_stock", {})))
    assert [(p.kind, p.call_index, p.function) for p in problems] == [
        (ToolCallProblemKind.UNKNOWN_FUNCTION, 0, "get_stock")
    ]


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"Paris"'])
def test_arguments_that_are_not_a_json_object(arguments: str) -> None:
    assert _kinds(_body(), _calls(_call("get_weather", arguments))) == [ToolCallProblemKind.ARGUMENTS_NOT_JSON]


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        ({}, "'city' is a required property"),
        ({"city": 7}, "arguments/city"),
        ({"city": "Paris", "unit": "kelvin"}, "arguments/unit"),
        ({"city": "Paris", "country": "FR"}, "Additional properties"),
    ],
)
def test_arguments_failing_the_schema_say_where(arguments: JSONObject, where: str) -> None:
    problems = find_tool_call_problems(_body(), _calls(_call("get_weather", arguments)))
    assert [p.kind for p in problems] == [ToolCallProblemKind.ARGUMENTS_INVALID]
    assert where in problems[0].message


def test_text_where_a_call_was_required() -> None:
    text = {"role": "assistant", "content": "I cannot check the weather."}
    assert _kinds(_body(tool_choice="required"), text) == [ToolCallProblemKind.CALL_REQUIRED]
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert _kinds(_body(tool_choice=named), text) == [ToolCallProblemKind.CALL_REQUIRED]


def test_a_call_to_another_function_than_the_named_one() -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    problems = find_tool_call_problems(_body(tool_choice=named), _calls(_call("get_time", {})))
    assert [(p.kind, p.function) for p in problems] == [(ToolCallProblemKind.WRONG_FUNCTION, "get_time")]


def test_a_call_when_tool_choice_is_none() -> None:
    assert _kinds(_body(tool_choice="none"), _calls(_call("get_time", {}))) == [ToolCallProblemKind.CALL_FORBIDDEN]


def test_several_calls_when_parallel_calls_are_off() -> None:
    two = _calls(_call("get_weather", {"city": "Oslo"}), _call("get_weather", {"city": "Rome"}, "call_2"))
    assert _kinds(_body(parallel_tool_calls=False), two) == [ToolCallProblemKind.TOO_MANY_CALLS]
    assert _kinds(_body(), two) == []


def test_a_call_written_as_text() -> None:
    text = {"role": "assistant", "content": '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'}
    assert _kinds(_body(), text) == [ToolCallProblemKind.CALL_AS_TEXT]


def test_a_call_cut_short_is_a_problem_and_other_json_is_not() -> None:
    runaway = '{"name": "get_weather", "arguments": {"city": "Paris", "days": ["mon", "tue", "mon", "tue", "mon'
    assert _kinds(_body(), {"role": "assistant", "content": runaway}) == [ToolCallProblemKind.CALL_CUT_SHORT]
    fenced = f"```json\n{runaway}"
    assert _kinds(_body(), {"role": "assistant", "content": fenced}) == [ToolCallProblemKind.CALL_CUT_SHORT]
    for fine in ('{"name": "launch_rocket", "arguments": {', 'The answer is {"name": "get_weather"}'):
        assert _kinds(_body(), {"role": "assistant", "content": fine}) == []  # no declared call opens it
    other = {"role": "assistant", "content": '{"name": "Ada", "born": 1815}'}
    assert _kinds(_body(), other) == [ToolCallProblemKind.JSON_NOT_WORDS]  # no call, but no words either


def test_bare_json_that_calls_nothing_is_a_problem_unless_json_was_asked_for() -> None:
    """Measured: the 0.5B on BFCL multi_turn_base_75, turn 2, made up car state for "top it up"."""
    for bare in ('{"currentACTire": 30, "fuelLevel": 45}', '```json\n{"fuelLevel": 45}\n```', "[1, 2]", "{}"):
        problems = find_tool_call_problems(_body(), {"role": "assistant", "content": bare})
        assert [p.kind for p in problems] == [ToolCallProblemKind.JSON_NOT_WORDS], bare
        assert "asks for no JSON" in problems[0].message
    state = {"role": "assistant", "content": '{"fuelLevel": 45}'}
    asked = [{"role": "user", "content": "Give me the car's state as JSON."}]
    assert _kinds({"messages": asked, "tools": [WEATHER]}, state) == []  # asked for in words
    parts = [{"role": "system", "content": [{"type": "text", "text": "Reply in json."}]}, *QUESTION]
    assert _kinds({"messages": parts, "tools": [WEATHER]}, state) == []  # in a text part
    assert _kinds(_body(response_format={"type": "json_object"}), state) == []  # the format check's job
    for fine in ("It is 21 degrees.", '{"fuelLevel": 45} is what I found.', '{"fuelLevel": 4'):  # words, or no JSON
        assert _kinds(_body(), {"role": "assistant", "content": fine}) == [], fine


def test_a_call_to_an_undeclared_function_written_as_text() -> None:
    """Measured: the 0.5B on BFCL multi_turn_base_0 answered a ```json fence calling `move` (the tool is `mv`)."""
    fenced = '```json\n{\n  "name": "move",\n  "arguments": {"file_name": "final_report.pdf"}\n}\n```'
    problems = find_tool_call_problems(_body(), {"role": "assistant", "content": "I'll move it:\n" + fenced})
    assert [(p.kind, p.function) for p in problems] == [(ToolCallProblemKind.UNKNOWN_FUNCTION, "move")]
    assert "`move`" in problems[0].message
    tagged = '<tool_call>{"name": "get_forecast", "parameters": {"city": "Oslo"}}</tool_call>'
    assert _kinds(_body(), {"role": "assistant", "content": tagged}) == [ToolCallProblemKind.UNKNOWN_FUNCTION]
    for fine in ('It is sunny. {"name": "Ada", "arguments_count": 2}',  # no call's shape
                 '{"name": "move", "arguments": {"file_name": "a.pdf"',  # no whole object
                 "You could call move(file_name='a.pdf')."):  # no JSON: left to the other checks
        assert _kinds(_body(), {"role": "assistant", "content": fine}) == [], fine


def test_a_call_repeated_after_its_result() -> None:
    first = _call("get_weather", {"city": "Paris"}, "call_a")
    messages = [*QUESTION, _calls(first), {"role": "tool", "tool_call_id": "call_a", "content": '{"sky": "sunny"}'}]
    again = _calls(_call("get_weather", {"city": "Paris"}, "call_b"))
    assert _kinds(_body(messages=messages), again) == [ToolCallProblemKind.REPEATED_CALL]
    elsewhere = _calls(_call("get_weather", {"city": "Rome"}, "call_b"))
    assert _kinds(_body(messages=messages), elsewhere) == []


def test_an_invalid_parameters_schema_is_not_used_to_judge_arguments() -> None:
    broken = {"type": "function", "function": {"name": "f", "parameters": {"type": "dict"}}}
    body = {"messages": QUESTION, "tools": [broken]}
    assert _kinds(body, _calls(_call("f", {"x": 1}))) == []


@pytest.mark.parametrize(
    ("parameters", "valid"),
    [
        ({"type": "object", "properties": {"a": {"type": "integer"}}}, True),
        ({}, True),
        ({"type": "dict"}, False),
        ({"type": "object", "properties": {"a": {"type": "float"}}}, False),
        ({"type": "object", "required": "a"}, False),
        ("object", False),
    ],
)
def test_schema_problem(parameters: object, valid: bool) -> None:
    assert (schema_problem(parameters) is None) is valid
