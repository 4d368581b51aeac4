"""Out-of-band responses (`conversation: "none"`, `input`): what they read, what they leave alone,
running beside the conversation's own response, and each bad field's error."""

from __future__ import annotations

import pytest

from tests.unit.voice.realtime.realtime_harness import running_session
from voxgate.voice.realtime.reply import ScriptedReplySource


def _user_text(text: str) -> dict[str, object]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


ADD_ITEM = {"type": "conversation.item.create",
            "item": {"id": "item_q", **_user_text("What is the capital of France?")}}


async def test_an_out_of_band_response_reads_its_input_and_leaves_the_conversation_alone() -> None:
    replies = ScriptedReplySource(["Topic: geography."])
    async with running_session(replies) as (session, transport):
        transport.push(ADD_ITEM)
        transport.push({"type": "response.create", "response": {
            "conversation": "none", "output_modalities": ["text"], "metadata": {"purpose": "classify"},
            "instructions": "Name the topic.",
            "input": [{"type": "item_reference", "id": "item_q"}, _user_text("One word, please.")]}})
        done = await transport.wait_for("response.done")
        conversation_ids = [item.id for item in session.items.conversation.items]
    assert done["response"]["conversation_id"] is None
    assert done["response"]["metadata"]["purpose"] == "classify"
    assert done["response"]["output"][0]["content"][0]["text"] == "Topic: geography."
    assert conversation_ids == ["item_q"]  # the answer is not in the conversation
    added = transport.of_type("conversation.item.added")
    assert [event["item"]["id"] for event in added] == ["item_q"]  # no conversation.item.* for its output
    messages = replies.requests[0].messages
    assert messages[0] == {"role": "system", "content": "Name the topic."}
    assert [m["content"] for m in messages[1:]] == ["What is the capital of France?", "One word, please."]


async def test_without_input_it_reads_the_conversation_so_far() -> None:
    replies = ScriptedReplySource(["Summary."])
    async with running_session(replies) as (session, transport):
        transport.push(ADD_ITEM)
        transport.push({"type": "response.create", "response": {"conversation": "none",
                                                                 "output_modalities": ["text"]}})
        await transport.wait_for("response.done")
        assert len(session.items.conversation.items) == 1
    assert replies.requests[0].messages[-1]["content"] == "What is the capital of France?"


async def test_it_runs_beside_the_conversation_s_own_response() -> None:
    replies = ScriptedReplySource(["Paris is the capital of France, on the Seine.", "geography"], delay_s=0.01)
    async with running_session(replies) as (session, transport):
        transport.push(ADD_ITEM)
        transport.push({"type": "response.create", "response": {"output_modalities": ["text"]}})
        transport.push({"type": "response.create", "response": {"conversation": "none",
                                                                 "output_modalities": ["text"]}})
        first = await transport.wait_for("response.done", 1)
        second = await transport.wait_for("response.done", 2)
        roles = [item.item["role"] for item in session.items.conversation.items]
    assert "error" not in transport.types()  # no conversation_already_has_active_response
    assert {first["response"]["conversation_id"], second["response"]["conversation_id"]} == {"conv_default", None}
    assert roles == ["user", "assistant"]  # only the conversation's response was added


async def test_input_also_shapes_a_response_that_writes_to_the_conversation() -> None:
    replies = ScriptedReplySource(["Hello!"])
    async with running_session(replies) as (session, transport):
        transport.push(ADD_ITEM)
        transport.push({"type": "response.create", "response": {"output_modalities": ["text"],
                                                                 "input": [_user_text("Just say hello.")]}})
        done = await transport.wait_for("response.done")
        items = session.items.conversation.items
    assert done["response"]["conversation_id"] == "conv_default"
    assert [m["content"] for m in replies.requests[0].messages if m["role"] == "user"] == ["Just say hello."]
    assert [item.item["role"] for item in items] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("response", "code", "param"),
    [
        ({"conversation": "other"}, "invalid_value", "response.conversation"),
        ({"conversation": "none", "input": "hello"}, "invalid_value", "response.input"),
        ({"conversation": "none", "input": [{"type": "item_reference", "id": "nope"}]}, "item_not_found",
         "response.input"),
        ({"conversation": "none", "input": [{"type": "message", "role": "robot", "content": []}]}, "invalid_value",
         "item.role"),
    ],
)
async def test_bad_out_of_band_fields_get_an_error_and_start_nothing(response: dict[str, object], code: str,
                                                                      param: str) -> None:
    replies = ScriptedReplySource(["never"])
    async with running_session(replies) as (_, transport):
        transport.push({"type": "response.create", "event_id": "evt_7", "response": response})
        error = await transport.wait_for("error")
    assert (error["error"]["code"], error["error"]["param"], error["error"]["event_id"]) == (code, param, "evt_7")
    assert replies.requests == []
    assert "response.created" not in transport.types()
