"""ItemLog: the conversation's items and the events that announce them, in the GA and beta shapes,
and an out-of-band response's private log that announces nothing."""

from __future__ import annotations

import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.item_log import ItemLog
from voxgate.voice.realtime.protocol import ClientEvent, EventNames, IdFactory

USER_TEXT: JSONObject = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}


def _log(*, beta: bool = False, private: bool = False) -> tuple[ItemLog, list[JSONObject]]:
    events: list[JSONObject] = []
    names = EventNames.for_shape(beta=beta)
    make = ItemLog.private if private else ItemLog
    return make(Conversation(), events.append, names, IdFactory()), events


def _event(kind: str, **body: object) -> ClientEvent:
    return ClientEvent(kind, "evt_1", {"type": kind, **body})


def test_a_committed_turn_is_announced_and_done_once_transcribed() -> None:
    items, events = _log()
    item = items.commit_user_audio("item_1", final=False)
    assert [e["type"] for e in events] == ["input_audio_buffer.committed", "conversation.item.added"]
    assert events[0]["previous_item_id"] is None
    items.transcribed(item, "hello there", 1.2345)
    assert [e["type"] for e in events[2:]] == ["conversation.item.input_audio_transcription.completed",
                                               "conversation.item.done"]
    assert events[2]["usage"] == {"type": "duration", "seconds": 1.234}
    assert items.conversation.get("item_1").item["content"][0]["transcript"] == "hello there"
    assert not items.ends_unheard()


def test_beta_has_no_item_done_and_names_creation_its_way() -> None:
    items, events = _log(beta=True)
    item = items.commit_user_audio("item_1", final=True)
    items.transcription_failed(item, "RuntimeError")
    assert [e["type"] for e in events] == ["input_audio_buffer.committed", "conversation.item.created",
                                           "conversation.item.input_audio_transcription.failed"]
    assert events[2]["error"]["message"] == "RuntimeError"
    assert items.ends_unheard()  # no transcript: the turn said nothing


def test_a_silent_turn_is_done_at_once() -> None:
    items, events = _log()
    items.commit_user_audio("item_1", final=True)
    assert [e["type"] for e in events] == ["input_audio_buffer.committed", "conversation.item.added",
                                           "conversation.item.done"]


def test_response_output_in_the_conversation_and_in_a_private_log() -> None:
    shared, shared_events = _log()
    private, private_events = _log(private=True)
    for items in (shared, private):
        items.add_output({"id": "item_a", "type": "message", "role": "assistant", "content": []}, "resp_1", 0)
        items.finish_output(items.conversation.get("item_a").item, "resp_1", 0)
    assert [e["type"] for e in shared_events] == ["response.output_item.added", "conversation.item.added",
                                                  "response.output_item.done", "conversation.item.done"]
    assert [e["type"] for e in private_events] == ["response.output_item.added", "response.output_item.done"]
    assert (shared.in_conversation, private.in_conversation) == (True, False)
    assert private.conversation.last_id() == "item_a"  # kept, just not announced


def test_client_items_go_after_previous_item_id_and_root_means_last() -> None:
    items, events = _log()
    items.create(_event("conversation.item.create", item={"id": "a", **USER_TEXT}))
    items.create(_event("conversation.item.create", item={"id": "b", **USER_TEXT}, previous_item_id="root"))
    items.create(_event("conversation.item.create", item={"id": "c", **USER_TEXT}, previous_item_id="a"))
    assert [entry.id for entry in items.conversation.items] == ["a", "c", "b"]
    added = [e for e in events if e["type"] == "conversation.item.added"]
    assert [(e["item"]["id"], e["previous_item_id"]) for e in added] == [("a", None), ("b", None), ("c", "a")]
    assert [e["type"] for e in events].count("conversation.item.done") == 3


def test_retrieve_delete_and_their_errors() -> None:
    items, events = _log()
    items.create(_event("conversation.item.create", item={"id": "a", **USER_TEXT}))
    items.retrieve(_event("conversation.item.retrieve", item_id="a"))
    items.delete(_event("conversation.item.delete", item_id="a"))
    assert [e["type"] for e in events[-2:]] == ["conversation.item.retrieved", "conversation.item.deleted"]
    with pytest.raises(InvalidRequestError) as missing:
        items.retrieve(_event("conversation.item.retrieve", item_id="a"))
    assert missing.value.code == "item_not_found"
    items.create(_event("conversation.item.create", item={"id": "b", **USER_TEXT}))
    with pytest.raises(InvalidRequestError) as unspoken:
        items.truncate(_event("conversation.item.truncate", item_id="b", audio_end_ms=10))
    assert unspoken.value.param == "item_id"  # only a spoken assistant message can be truncated
