"""Optional arguments nobody asked for: which are dropped (so the function's default applies), which
stay, and the adapter doing it for `tool_choice` auto only, recorded."""

from __future__ import annotations

import json

from tests.support.chat_backends import ScriptedChatBackend
from voxgate.backends.toolcall_optional import unasked_arguments, without_unasked, without_undeclared
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ACTION_ARGUMENTS_DROPPED, REASON_ARGUMENTS_DROPPED
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

EXECUTE: JSONObject = {"name": "cmd_execute", "parameters": {"type": "object", "required": ["command"], "properties": {
    "command": {"type": "string"},
    "unit": {"type": "string", "description": "The unit of time. Default 'N/A'."},
    "timeout": {"type": "integer"},
    "verbose": {"type": "boolean"},
}}}
ATTRACTIONS: JSONObject = {"name": "find_attractions", "parameters": {"type": "object", "required": ["location"],
                                                                      "properties": {
    "location": {"type": "string"},
    "free_entry": {"type": "string", "enum": ["True", "False", "dontcare"]},
    "goodForKids": {"type": "string", "enum": ["True", "False", "dontcare"]},
    "category": {"type": "string", "description": "'M' for museums, 'P' for parks."},
    "db_type": {"type": "string"},
}}}


def test_an_optional_value_and_name_the_conversation_never_speaks_of_is_dropped() -> None:
    arguments = {"command": "dir C:\\", "unit": "seconds", "timeout": 30}
    assert unasked_arguments(arguments, EXECUTE, "list the files in C drive") == (
        {"command": "dir C:\\"}, ("unit", "timeout"))


def test_required_arguments_stay_even_when_invented() -> None:
    arguments = {"command": "rm -rf /tmp/x"}
    assert unasked_arguments(arguments, EXECUTE, "list the files") == (arguments, ())


def test_a_value_the_conversation_gives_stays() -> None:
    text = "Run dir, give up after 30 seconds"
    arguments = {"command": "dir", "unit": "seconds", "timeout": 30}
    assert unasked_arguments(arguments, EXECUTE, text) == (arguments, ())
    assert unasked_arguments({"location": "Oslo", "db_type": "postgres"}, ATTRACTIONS,
                             "Oslo, our PostgreSQL servers")[1] == ()  # met on its first 5 letters
    assert unasked_arguments({"location": "Oslo", "category": "M"}, ATTRACTIONS, "museums in Oslo")[1] == ()


def test_an_argument_whose_name_the_conversation_speaks_of_stays() -> None:
    arguments = {"location": "Oslo", "free_entry": "True", "goodForKids": "True"}
    assert unasked_arguments(arguments, ATTRACTIONS, "Free places in Oslo, good for my kids")[1] == ()
    assert unasked_arguments(arguments, ATTRACTIONS, "Places in Oslo")[1] == ("free_entry", "goodForKids")


def test_booleans_nulls_and_undeclared_schemas_are_left_alone() -> None:
    arguments = {"command": "dir", "verbose": True, "timeout": None}
    assert unasked_arguments(arguments, EXECUTE, "dir") == (arguments, ())
    assert unasked_arguments({"unit": "seconds"}, None, "dir") == ({"unit": "seconds"}, ())
    assert unasked_arguments({"unit": "seconds"}, {"name": "f"}, "dir") == ({"unit": "seconds"}, ())


RECORD: JSONObject = {"name": "most_points_single_game", "parameters": {
    "type": "object", "required": ["league"], "properties": {"league": {"type": "string"}}}}


def test_an_argument_the_function_does_not_declare_is_dropped_whatever_the_conversation_says() -> None:
    """BFCL multiple_22: `player_name` and `game_date` meet "player" and "game" in the request, so as
    optional arguments they would stay; the function takes `league` alone."""
    text = "What is the record for the most points scored by a single player in an NBA game?"
    arguments = {"league": "NBA", "player_name": "John Doe", "game_date": "2023-04-15"}
    assert unasked_arguments(arguments, RECORD, text) == ({"league": "NBA"}, ("player_name", "game_date"))
    assert unasked_arguments({"league": "NBA", "season": None}, RECORD, text) == ({"league": "NBA"}, ("season",))


def test_undeclared_arguments_stay_where_the_schema_allows_other_keys() -> None:
    arguments = {"league": "NBA", "player_name": "John Doe"}
    parameters = RECORD["parameters"]
    assert isinstance(parameters, dict)
    for allowing in ({"additionalProperties": True}, {"additionalProperties": {"type": "string"}},
                     {"patternProperties": {"^player_": {"type": "string"}}}):
        function: JSONObject = {**RECORD, "parameters": {**parameters, **allowing}}
        assert unasked_arguments(arguments, function, "the most points by a player")[1] == ()
    closed: JSONObject = {**RECORD, "parameters": {**parameters, "additionalProperties": False}}
    assert unasked_arguments(arguments, closed, "the most points by a player")[1] == ("player_name",)


def test_without_unasked_keeps_untouched_calls_as_they_were() -> None:
    fine = ParsedToolCall("cmd_execute", '{"command": "dir"}')
    padded = ParsedToolCall("cmd_execute", '{"command": "dir", "unit": "seconds"}')
    broken = ParsedToolCall("cmd_execute", "not json")
    kept, dropped = without_unasked([fine, padded, broken], {"cmd_execute": EXECUTE}, "run dir")
    assert kept[0] is fine
    assert kept[2] is broken
    assert kept[1] == ParsedToolCall("cmd_execute", '{"command": "dir"}')
    assert dropped == ("unit",)


def completion(content: str) -> JSONObject:
    return {"id": "c", "object": "chat.completion", "created": 1, "model": "qwen",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


async def test_the_adapter_drops_them_for_tool_choice_auto_only_and_records_it() -> None:
    call = json.dumps({"name": "cmd_execute", "arguments": {"command": "dir", "unit": "seconds"}})
    body: JSONObject = {"messages": [{"role": "user", "content": "Run dir please"}],
                        "tools": [{"type": "function", "function": EXECUTE}]}
    arguments = []
    notes: ToolNotes = []
    for options, extra in (({}, {}), ({}, {"tool_choice": "required"}), ({"drop_unasked_arguments": False}, {})):
        adapter = FencedToolCallAdapter(ScriptedChatBackend("qwen", answer=completion(call)), continue_calls=False,
                                        **options)  # type: ignore[arg-type]
        with noting_tools(notes):
            answer = await adapter.complete({**body, **extra})
        arguments.append(json.loads(answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]))
    padded = {"command": "dir", "unit": "seconds"}
    assert arguments == [{"command": "dir"}, padded, padded]
    assert notes == [{"model": "qwen", "action": ACTION_ARGUMENTS_DROPPED, "reason": REASON_ARGUMENTS_DROPPED,
                      "functions": ["cmd_execute"], "arguments": ["unit"]}]


def test_a_label_the_model_numbered_itself_is_dropped_even_where_the_request_names_the_argument() -> None:
    """BFCL multiple_26 (the 0.5B's call): "missions" and "trophies" are in the request, "1" is not."""
    function: JSONObject = {"name": "game_rewards_get", "parameters": {"type": "object", "required": ["game"],
        "properties": {"game": {"type": "string"}, "mission": {"type": "string"}, "trophy": {"type": "string"}}}}
    request = "Find out the rewards for playing Fortnite on Playstation platform with different missions and trophies"
    arguments = {"game": "Fortnite", "mission": "Mission 1", "trophy": "Trophy 1"}
    assert unasked_arguments(arguments, function, request) == ({"game": "Fortnite"}, ("mission", "trophy"))
    for kept in ("Mission 3", "Mission three", "Level 12", "Gold"):  # a number the request gives, or no number
        given = {"game": "Fortnite", "mission": kept}
        assert unasked_arguments(given, function, f"{request}, mission 3 or level 12, gold trophy")[0] == given


def test_without_undeclared_drops_only_what_the_function_does_not_declare() -> None:
    open_schema: JSONObject = {"name": "free", "parameters": {"type": "object", "additionalProperties": True,
                                                              "properties": {"a": {"type": "string"}}}}
    calls = [ParsedToolCall("cmd_execute", '{"command": "dir", "unit": "seconds", "required": ["command"]}'),
             ParsedToolCall("free", '{"a": "x", "b": 1}'), ParsedToolCall("other", '{"z": 1}'),
             ParsedToolCall("cmd_execute", '{"command": "ls"}')]
    kept = without_undeclared(calls, {"cmd_execute": EXECUTE, "free": open_schema})
    assert [json.loads(call.arguments) for call in kept] == [
        {"command": "dir", "unit": "seconds"},  # the unasked optional `unit` stays: that is another rule's
        {"a": "x", "b": 1}, {"z": 1}, {"command": "ls"}]
    assert kept[3] is calls[3]  # a call with nothing to drop is the same call
