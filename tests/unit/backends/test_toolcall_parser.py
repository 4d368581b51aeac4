"""Reading tool calls out of model text: every observed form, near misses, and properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.backends.toolcall_parser import (
    ParsedToolCall,
    classify_tool_call_start,
    declared_name,
    parse_tool_calls,
    written_call_names,
)

DECLARED = frozenset({"get_weather", "get_time"})
WEATHER = ParsedToolCall("get_weather", '{"city": "Paris"}')


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',  # the stray closing fence
        '```json\n{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Paris"\n  }\n}\n```',
        '```\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n\n\n',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}',  # closing tag cut off
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}',  # arguments as a string
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        '{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}',
        '[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
        '  \n{"name": "get_weather", "arguments": {"city": "Paris"}}  ',
    ],
)
def test_parses_one_call_in_every_observed_form(text: str) -> None:
    assert parse_tool_calls(text, DECLARED) == [WEATHER]


@pytest.mark.parametrize(("written", "declared", "meant"), [
    ("get_weather", {"get_weather", "get.weather"}, "get_weather"),  # declared as written: itself
    ("employee.fetch_data", {"employee_fetch_data"}, "employee_fetch_data"),  # BFCL parallel_139, the 0.5B
    ("Random_Forest.Train", {"random_forest_train", "forest_plot"}, "random_forest_train"),
    ("factorial", {"math_factorial", "math_gcd"}, "math_factorial"),  # BFCL parallel_144: the name's last part
    ("search", {"recipe_search", "restaurant_search"}, None),  # two declared names end so: neither is meant
    ("gcd", {"number_theory_gcd"}, "number_theory_gcd"),
    ("cd", {"os_cd"}, None),  # too short to stand for a name's last part
    ("move", {"mv"}, None),
    ("fetch_data", {"employee_fetch_data", "fetch_data_v2"}, "employee_fetch_data"),
    (None, {"get_weather"}, None),
])
def test_a_call_means_the_declared_function_it_spells_with_other_separators(
    written: object, declared: set[str], meant: str | None
) -> None:
    assert declared_name(written, declared) == meant


def test_a_call_written_with_the_dotted_name_is_read_as_the_declared_function() -> None:
    text = '```json\n{"name": "employee.fetch_data", "arguments": {"employee_id": 12345}}\n```'
    assert parse_tool_calls(text, {"employee_fetch_data"}) == [
        ParsedToolCall("employee_fetch_data", '{"employee_id": 12345}')]


def test_parses_several_calls() -> None:
    text = (
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
        '<tool_call>{"name": "get_time", "arguments": {"tz": "CET"}}</tool_call>'
    )
    assert parse_tool_calls(text, DECLARED) == [WEATHER, ParsedToolCall("get_time", '{"tz": "CET"}')]
    fenced = '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n{"name": "get_time"}\n```'
    assert parse_tool_calls(fenced, DECLARED) == [WEATHER, ParsedToolCall("get_time", "{}")]


def test_parses_calls_listed_without_brackets() -> None:
    """qwen2.5-coder-0.5b on BFCL parallel_multiple_39: two calls separated by a comma, no list."""
    text = '{"name": "get_weather", "arguments": {"city": "Paris"}},\n{"name": "get_time", "arguments": {"tz": "CET"}}'
    assert parse_tool_calls(text, DECLARED) == [WEATHER, ParsedToolCall("get_time", '{"tz": "CET"}')]
    assert parse_tool_calls(text.replace("}},", "}}, ,"), DECLARED) is None  # one comma between, no more


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "The weather in Paris is sunny.",
        '{"name": "delete_everything", "arguments": {}}',  # not declared
        '{"name": "get_weather", "arguments": {"city": "Paris"}} and some prose',
        'Sure! {"name": "get_weather", "arguments": {"city": "Paris"}}',
        '{"name": "get_weather", "arguments": "not json"}',
        '{"name": "get_weather", "arguments": [1, 2]}',
        '{"arguments": {"city": "Paris"}}',
        '{"name": "get_weather", "arguments": {"city": "Par',  # cut off inside a value
        '{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2',  # a list left open
        '{"name": "get_weather", "arguments": {"city": {"name": {"x": "Paris"}',  # three braces short
        '```python\nprint("hi")\n```',
        "[1, 2, 3]",
        "[]",
        '{"city": "Paris"}',
        '[{"name": "get_weather", "arguments": {}}, {"name": "nope"}]',  # one bad call spoils all
    ],
)
def test_anything_else_is_not_a_tool_call(text: str) -> None:
    assert parse_tool_calls(text, DECLARED) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"city": "Paris"}',  # qwen2.5-coder-0.5b, BFCL multiple_110
        '{"name": "get_weather", "arguments": {"city": "Paris"\n',
        '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}\n```',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>',
    ],
)
def test_a_last_call_one_or_two_braces_short_is_closed(text: str) -> None:
    assert parse_tool_calls(text, DECLARED) == [ParsedToolCall("get_weather", '{"city": "Paris"}')]
    two_short = '{"name": "get_weather", "arguments": {"city": "Paris"'
    assert parse_tool_calls(two_short, DECLARED) == [ParsedToolCall("get_weather", '{"city": "Paris"}')]
    first = '{"name": "get_time", "arguments": {}}\n'
    assert parse_tool_calls(first + text, DECLARED) == [ParsedToolCall("get_time", "{}"),
                                                       ParsedToolCall("get_weather", '{"city": "Paris"}')]


def test_only_the_last_call_is_closed() -> None:
    short = '{"name": "get_weather", "arguments": {"city": "Paris"}'
    assert parse_tool_calls(short + '\n{"name": "get_time", "arguments": {}}', DECLARED) is None
    assert parse_tool_calls(short + "\nand then some prose", DECLARED) is None
    assert parse_tool_calls('{"name": "nope", "arguments": {}', DECLARED) is None  # still a declared name only


def test_arguments_come_back_as_a_json_object_string() -> None:
    calls = parse_tool_calls('{"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}}', DECLARED)
    assert calls is not None
    assert json.loads(calls[0].arguments) == {"city": "Zürich", "days": 2}


@given(st.text())
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    parse_tool_calls(text, DECLARED)
    classify_tool_call_start(text)


fragments = st.sampled_from(
    ["{", "}", "[", "]", "```", "```json", "<tool_call>", "</tool_call>", '"name"', ":", ",", '"get_weather"',
     '"arguments"', '"{}"', "\n", " ", "null", "[" * 3000, "\\", '"']
)


@given(st.lists(fragments, max_size=30))
def test_parser_never_raises_on_near_miss_text(parts: list[str]) -> None:
    text = "".join(parts)
    parse_tool_calls(text, DECLARED)
    classify_tool_call_start(text)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
arguments = st.dictionaries(st.text(max_size=8), json_scalars, max_size=4)
calls = st.lists(st.tuples(st.sampled_from(sorted(DECLARED)), arguments), min_size=1, max_size=3)
styles = st.sampled_from(["bare", "fenced", "tagged", "list", "stray_fence"])


def render(call_list: list[tuple[str, dict[str, Any]]], style: str, indent: int | None) -> str:
    objects = [json.dumps({"name": name, "arguments": args}, indent=indent) for name, args in call_list]
    if style == "fenced":
        return "```json\n" + "\n".join(objects) + "\n```"
    if style == "tagged":
        return "\n".join(f"<tool_call>\n{text}\n</tool_call>" for text in objects)
    if style == "list":
        return "[" + ", ".join(objects) + "]"
    if style == "stray_fence":
        return "\n".join(objects) + "\n```"
    return "\n".join(objects)


@given(calls, styles, st.sampled_from([None, 2]))
def test_rendered_calls_parse_back(call_list: list[tuple[str, dict[str, Any]]], style: str, indent: int | None) -> None:
    parsed = parse_tool_calls(render(call_list, style, indent), DECLARED)
    assert parsed is not None
    assert [(c.name, json.loads(c.arguments)) for c in parsed] == call_list


@given(calls, styles)
def test_every_prefix_of_a_call_is_held_back_in_a_stream(call_list: list[tuple[str, dict[str, Any]]],
                                                         style: str) -> None:
    text = render(call_list, style, 2)
    assert all(classify_tool_call_start(text[:end]) is not False for end in range(len(text) + 1))


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("", None), ("  \n", None), ("{", None), ('{ "', True), ("``", None), ("```json\n", None),
        ("```json\n{", None), ('```json\n{"', True), ("<tool", None), ('<tool_call>\n{"na', True),
        ("[", None), ('[{"', True), ("Hello", False), ("{Hello", False), ("```python\nimport", False),
        ("<b>", False), ("[1]", False), ("- item", False),
    ],
)
def test_classify_stream_start(text: str, verdict: bool | None) -> None:
    assert classify_tool_call_start(text) is verdict


def test_written_call_names_reads_every_whole_call_shaped_object_declared_or_not() -> None:
    text = ('First ```json\n{"name": "cd", "arguments": {"folder": "docs"}}\n``` then\n'
            '<tool_call>{"name": "move", "parameters": {"source": "a"}}</tool_call> and '
            '{"name": "grep", "arguments": "{\\"pattern\\": \\"x\\"}"}')
    assert written_call_names(text) == ["cd", "move", "grep"]
    assert written_call_names('{"name": "Ada", "born": 1815}') == []
    assert written_call_names('{"name": "move", "arguments": {"source": "a"') == []  # cut short
    assert written_call_names('{"name": "move", "arguments": 3}') == []  # no arguments object
    assert written_call_names("no json here") == []
    echoed = '{"name": "no function named \\"move\\". The functions are: mv", "arguments": {}}'
    assert written_call_names(echoed) == ['no function named "move". The functions are: mv']


@given(st.text(max_size=300))
def test_written_call_names_never_raises(text: str) -> None:
    assert isinstance(written_call_names(text), list)
