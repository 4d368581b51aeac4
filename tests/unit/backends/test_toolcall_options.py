"""Left-out optional arguments filled with the one declared option the request names: which options a
schema declares, what is filled and what is not, and the adapter doing it under `trim_choices`, noted."""

from __future__ import annotations

import json

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_options import declared_options, filled_arguments, with_named_options
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ACTION_OPTIONS_FILLED, REASON_OPTIONS_FILLED
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

MODE = {"type": "string", "description": "Mode of analysis, e.g. 'static' or 'dynamic'. Default is 'static'."}
ANALYZE: JSONObject = {"name": "analyze_structure", "parameters": {
    "type": "object", "required": ["building_id"], "properties": {
        "building_id": {"type": "string"}, "mode": MODE,
        "category": {"type": "string", "enum": ["Tourist Attraction", "Museum", "dontcare"]},
        "case_type": {"type": "string", "description": "Type of the lawsuit, e.g., 'IPR', 'Patent', 'Commercial'"}}}}
REQUEST = "What is the structural dynamic analysis of the building with building Id B1004?"


def test_options_come_from_an_enum_or_two_quoted_values_in_the_description() -> None:
    assert declared_options(MODE) == ("static", "dynamic")
    assert declared_options({"type": "string", "enum": ["a", "b"]}) == ("a", "b")
    for schema in ({"type": "string", "description": "The name, e.g. 'Bob'."}, {"type": "integer", "enum": [1, 2]},
                   {"type": "string", "description": "A year such as '2019' or '2020'."}, {"type": "string"}, None):
        assert declared_options(schema) == ()


def test_a_left_out_argument_gets_the_one_option_the_request_names() -> None:
    """BFCL multiple_162 and multiple_139 (the 0.5B's calls)."""
    assert filled_arguments({"building_id": "B1004"}, ANALYZE, REQUEST) == (
        {"building_id": "B1004", "mode": "dynamic"}, ("mode",))
    assert filled_arguments({"building_id": "B1"}, ANALYZE, "Find details of patent lawsuits against Apple")[0][
        "case_type"] == "Patent"


def test_nothing_is_filled_without_one_whole_named_option_that_is_not_the_default() -> None:
    kept = {"building_id": "B1004"}
    for request in ("A static analysis of B1004", "Static and dynamic loads of B1004",  # the default; two named
                    "A dynamically loaded building B1004",  # not the whole word
                    "An analysis of B1004, not dynamic", "Exclude any that are dynamic",  # negated
                    "A tourist guide to B1004", "Any category for B1004, dontcare"):  # part of an option; a catch-all
        assert filled_arguments(kept, ANALYZE, request) == (kept, ()), request
    assert filled_arguments({"building_id": "B1004", "mode": "static"}, ANALYZE, REQUEST)[1] == ()  # given: stays
    required: JSONObject = {**ANALYZE, "parameters": {**ANALYZE["parameters"], "required": ["building_id", "mode"]}}
    assert filled_arguments(kept, required, REQUEST)[1] == ()  # a required argument left out is grounding's matter
    assert filled_arguments(kept, ANALYZE, "museums near building B1004")[0]["category"] == "Museum"  # plural


def test_a_function_called_more_than_once_is_left_alone() -> None:
    one = ParsedToolCall("analyze_structure", '{"building_id": "B1004"}')
    two = ParsedToolCall("analyze_structure", '{"building_id": "B1005"}')
    assert with_named_options([one, two], {"analyze_structure": ANALYZE}, REQUEST) == ([one, two], ())
    out, filled = with_named_options([one], {"analyze_structure": ANALYZE}, REQUEST)
    assert json.loads(out[0].arguments) == {"building_id": "B1004", "mode": "dynamic"}
    assert filled == ("mode",)


async def test_the_adapter_fills_under_trim_choices_and_notes_it() -> None:
    answer = json.dumps({"name": "analyze_structure", "arguments": {"building_id": "B1004"}})
    body: JSONObject = {"messages": [{"role": "user", "content": REQUEST}],
                        "tools": [{"type": "function", "function": ANALYZE}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        completion = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete(body)
    arguments = completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"building_id": "B1004", "mode": "dynamic"}
    assert [note for note in notes if note["action"] == ACTION_OPTIONS_FILLED] == [
        {"model": "qwen", "action": ACTION_OPTIONS_FILLED, "reason": REASON_OPTIONS_FILLED,
         "functions": ["analyze_structure"], "arguments": ["mode"]}]
    off = await FencedToolCallAdapter(AnswersInOrder(answer, ""), trim_choices=False).complete(body)
    assert json.loads(off["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "building_id": "B1004"}
