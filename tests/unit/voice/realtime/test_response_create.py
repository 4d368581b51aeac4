"""`response.create` parsed without a session: overrides, metadata, input items, `conversation`."""

from __future__ import annotations

import itertools

import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.response_create import ResponseCreate, parse_response_create, reply_request_for
from voxgate.voice.realtime.session_config import SessionConfig

TOOL: JSONObject = {"type": "function", "name": "get_weather", "description": "Weather",
                    "parameters": {"type": "object", "properties": {}}}


def _conversation() -> Conversation:
    conversation = Conversation()
    conversation.add({"id": "item_q", "type": "message", "role": "user",
                      "content": [{"type": "input_text", "text": "What is the capital of France?"}]})
    return conversation


def _parse(body: JSONObject, conversation: Conversation | None = None) -> ResponseCreate:
    counter = itertools.count(1)
    return parse_response_create(body, conversation or _conversation(), lambda: f"item_new{next(counter)}")


def test_an_empty_response_create_asks_for_a_plain_response() -> None:
    assert _parse({}) == ResponseCreate()


def test_fields_of_either_shape_override_the_session_config_for_one_response() -> None:
    request = _parse({"instructions": "Be brief.", "modalities": ["text"], "max_response_output_tokens": 42,
                      "voice": "ash", "tools": [TOOL], "tool_choice": "required", "metadata": {"n": 1}})
    config = request.applied_to(SessionConfig())
    assert (config.instructions, config.speaks, config.max_output_tokens, config.voice) == ("Be brief.", False, 42,
                                                                                             "ash")
    assert request.metadata == {"n": "1"}
    assert (request.input_items, request.out_of_band) == (None, False)


def test_input_copies_referenced_items_when_the_request_arrives() -> None:
    conversation = _conversation()
    request = _parse({"conversation": "none", "input": [
        {"type": "item_reference", "id": "item_q"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "One word."}]}]},
        conversation)
    conversation.get("item_q").item["content"][0]["text"] = "changed later"
    assert request.out_of_band
    assert request.input_items is not None
    assert [item["id"] for item in request.input_items] == ["item_q", "item_new1"]
    assert request.input_items[0]["content"][0]["text"] == "What is the capital of France?"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"conversation": "other"}, "invalid_value", "response.conversation"),
        ({"input": "hello"}, "invalid_value", "response.input"),
        ({"input": [{"type": "item_reference", "id": "nope"}]}, "item_not_found", "response.input"),
        ({"modalities": ["smell"]}, "invalid_value", "response.modalities"),
    ],
)
def test_bad_fields_name_their_parameter(body: JSONObject, code: str, param: str) -> None:
    with pytest.raises(InvalidRequestError) as error:
        _parse(body)
    assert (error.value.code, error.value.param) == (code, param)


def test_the_reply_request_carries_chat_tools_and_the_history() -> None:
    config = _parse({"tools": [TOOL], "tool_choice": {"type": "function", "name": "get_weather"},
                     "instructions": "Use tools."}).applied_to(SessionConfig())
    request = reply_request_for(config, _conversation(), default_max_tokens=300, session_id="sess_1")
    assert request.tools == [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                               "parameters": {"type": "object", "properties": {}}}}]
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert [m["role"] for m in request.messages] == ["system", "user"]
    assert (request.max_tokens, request.session_id) == (300, "sess_1")
    plain = reply_request_for(SessionConfig(), Conversation(), default_max_tokens=300, session_id="sess_1")
    assert (plain.tools, plain.tool_choice, plain.messages) == ([], None, [])
