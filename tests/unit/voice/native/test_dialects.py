"""Realtime events translated between the GA and beta shapes (`voice.native.dialects`), checked against
the official SDK's types (tests/support/realtime_shapes): every translated event is well shaped in the
target shape, and comes back as it was where the shapes carry the same information."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.realtime_shapes import BETA_CLIENT, BETA_SERVER, GA_CLIENT, GA_SERVER, shape_errors
from voxgate.core.types import RealtimeDialect
from voxgate.voice.native.dialects import (
    SERVER_RENAMES,
    Untranslatable,
    client_event_to,
    server_event_class,
    server_events_to,
)

GA, BETA = RealtimeDialect.GA, RealtimeDialect.BETA
TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
GA_SESSION = {
    "type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime",
    "output_modalities": ["audio"], "instructions": "Answer briefly.", "tools": [TOOL], "tool_choice": "auto",
    "max_output_tokens": "inf",
    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24_000}, "transcription": {"model": "whisper-1"},
                        "noise_reduction": {"type": "near_field"},
                        "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                           "silence_duration_ms": 500, "create_response": True}},
              "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy", "speed": 1.1}},
}
USER_ITEM = {"id": "item_u", "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
             "content": [{"type": "input_audio", "transcript": None}]}
SPOKEN_ITEM = {"id": "item_a", "object": "realtime.item", "type": "message", "role": "assistant",
               "status": "completed", "content": [{"type": "output_audio", "transcript": "It is sunny."}]}
CALL_ITEM = {"id": "item_c", "object": "realtime.item", "type": "function_call", "status": "completed",
             "name": "get_weather", "call_id": "call_1", "arguments": '{"city": "Oslo"}'}
OUTPUT_ITEM = {"id": "item_o", "object": "realtime.item", "type": "function_call_output", "call_id": "call_1",
               "output": '{"sky": "clear"}'}
GA_RESPONSE = {"id": "resp_1", "object": "realtime.response", "status": "completed", "conversation_id": "conv_1",
               "output_modalities": ["audio"], "max_output_tokens": 200,
               "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24_000}, "voice": "alloy"}},
               "output": [CALL_ITEM, SPOKEN_ITEM], "metadata": {"topic": "weather"},
               "usage": {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10}}
AUDIO_REF = {"response_id": "resp_1", "item_id": "item_a", "output_index": 1, "content_index": 0}


def _ga_server_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "session.created", "session": GA_SESSION},
        {"type": "session.updated", "session": GA_SESSION},
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "item_u"},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "item_u"},
        {"type": "input_audio_buffer.committed", "item_id": "item_u", "previous_item_id": None},
        {"type": "conversation.item.added", "previous_item_id": None, "item": USER_ITEM},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_u",
         "content_index": 0, "transcript": "What is the weather?"},
        {"type": "response.created", "response": {**GA_RESPONSE, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
         "item": {**CALL_ITEM, "status": "in_progress", "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "response_id": "resp_1", "item_id": "item_c",
         "output_index": 0, "call_id": "call_1", "delta": '{"city"'},
        {"type": "response.function_call_arguments.done", "response_id": "resp_1", "item_id": "item_c",
         "output_index": 0, "call_id": "call_1", "arguments": '{"city": "Oslo"}'},
        {"type": "response.content_part.added", **AUDIO_REF, "part": {"type": "audio", "transcript": ""}},
        {"type": "response.output_audio_transcript.delta", **AUDIO_REF, "delta": "It is"},
        {"type": "response.output_audio.delta", **AUDIO_REF, "delta": "AAAAAA=="},
        {"type": "response.output_audio.done", **AUDIO_REF},
        {"type": "response.output_audio_transcript.done", **AUDIO_REF, "transcript": "It is sunny."},
        {"type": "response.output_text.delta", **AUDIO_REF, "delta": "It"},
        {"type": "response.output_text.done", **AUDIO_REF, "text": "It is sunny."},
        {"type": "response.content_part.done", **AUDIO_REF, "part": {"type": "audio", "transcript": "It is sunny."}},
        {"type": "response.done", "response": GA_RESPONSE},
        {"type": "conversation.item.truncated", "item_id": "item_a", "content_index": 0, "audio_end_ms": 640},
        {"type": "conversation.item.deleted", "item_id": "item_a"},
        {"type": "conversation.item.retrieved", "item": SPOKEN_ITEM},
        {"type": "rate_limits.updated", "rate_limits": [{"name": "tokens", "limit": 10, "remaining": 9,
                                                         "reset_seconds": 1.0}]},
        {"type": "error", "error": {"type": "invalid_request_error", "code": "item_truncate_invalid_item_id",
                                    "message": "No such item.", "param": None, "event_id": "evt_9"}},
    ]
    return [{"event_id": f"event_{n}", **e} for n, e in enumerate(events)]


GA_SERVER_EVENTS = _ga_server_events()


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_the_fixtures_are_well_shaped_ga_events() -> None:
    for event in GA_SERVER_EVENTS:
        assert shape_errors(event, GA_SERVER) == [], event["type"]


@pytest.mark.parametrize("event", GA_SERVER_EVENTS, ids=_ids(GA_SERVER_EVENTS))
def test_every_ga_server_event_reaches_a_beta_client_well_shaped_and_comes_back(event: dict[str, Any]) -> None:
    original = copy.deepcopy(event)
    (beta,) = server_events_to(event, BETA)
    assert shape_errors(beta, BETA_SERVER) == []
    assert beta["type"] == SERVER_RENAMES.get(event["type"], event["type"])
    back = server_events_to(beta, GA)
    assert back[0] == event
    assert event == original  # the translation copies, never edits in place
    if back[1:]:  # a finished item: GA also says conversation.item.done
        assert [e["type"] for e in back[1:]] == ["conversation.item.done"]
        assert back[1]["item"] == back[0]["item"]
        assert shape_errors(back[1], GA_SERVER) == []


def test_a_beta_session_is_flat_and_a_ga_one_nested() -> None:
    (beta,) = server_events_to({"type": "session.created", "session": GA_SESSION}, BETA)
    session = beta["session"]
    assert session["modalities"] == ["text", "audio"]
    assert session["voice"] == "alloy"
    assert session["speed"] == 1.1
    assert session["input_audio_format"] == "pcm16"
    assert session["output_audio_format"] == "g711_ulaw"
    assert session["turn_detection"]["silence_duration_ms"] == 500
    assert session["input_audio_transcription"] == {"model": "whisper-1"}
    assert session["max_response_output_tokens"] == "inf"
    assert "audio" not in session
    assert "type" not in session


def test_beta_only_and_ga_only_server_fields_are_left_out_not_passed() -> None:
    beta_session = {"id": "sess_b", "modalities": ["text"], "temperature": 0.8, "voice": "verse",
                    "input_audio_format": "g711_alaw"}
    (ga,) = server_events_to({"type": "session.updated", "event_id": "e", "session": beta_session}, GA)
    assert shape_errors(ga, GA_SERVER) == []
    assert ga["session"] == {"type": "realtime", "id": "sess_b", "output_modalities": ["text"],
                             "audio": {"output": {"voice": "verse"}, "input": {"format": {"type": "audio/pcma"}}}}
    ga_session = {**GA_SESSION, "truncation": "auto", "include": ["item.input_audio_transcription.logprobs"]}
    (beta,) = server_events_to({"type": "session.updated", "event_id": "e", "session": ga_session}, BETA)
    assert "truncation" not in beta["session"]
    assert "include" not in beta["session"]


def test_a_finished_beta_item_is_added_and_done_for_a_ga_client_and_done_is_dropped_for_beta() -> None:
    item: dict[str, Any] = {**SPOKEN_ITEM, "content": [{"type": "audio", "transcript": "Hi."}]}
    created = {"type": "conversation.item.created", "event_id": "e1", "previous_item_id": None, "item": item}
    added, done = server_events_to(created, GA)
    assert (added["type"], done["type"]) == ("conversation.item.added", "conversation.item.done")
    assert added["item"]["content"][0]["type"] == "output_audio"
    assert done["event_id"] != added["event_id"]
    in_progress = {**created, "item": {**item, "status": "in_progress"}}
    assert _ids(server_events_to(in_progress, GA)) == ["conversation.item.added"]
    assert server_events_to({"type": "conversation.item.done", "item": SPOKEN_ITEM}, BETA) == []


@pytest.mark.parametrize(("kind", "target", "expected"), [
    ("response.output_audio.delta", BETA, "translated"),
    ("response.audio.delta", GA, "translated"),
    ("response.function_call_arguments.done", BETA, "shared"),
    ("conversation.item.input_audio_transcription.segment", BETA, "no_equivalent"),
    ("mcp_list_tools.completed", BETA, "no_equivalent"),
    ("transcription_session.updated", GA, "no_equivalent"),
    ("vendor.heartbeat", GA, "unknown"),
    ("vendor.heartbeat", BETA, "unknown"),
])
def test_server_events_are_classed(kind: str, target: RealtimeDialect, expected: str) -> None:
    assert server_event_class(kind, target) == expected


# --- client events ------------------------------------------------------------------------------

GA_CLIENT_EVENTS: list[dict[str, Any]] = [
    {"type": "session.update", "event_id": "c1", "session": {k: v for k, v in GA_SESSION.items()
                                                            if k not in ("id", "object")}},
    {"type": "input_audio_buffer.append", "audio": "AAAA"},
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.clear"},
    {"type": "conversation.item.create", "previous_item_id": None, "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}},
    {"type": "conversation.item.create", "item": {
        "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there."}]}},
    {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_1",
                                                  "output": '{"sky": "clear"}'}},
    {"type": "conversation.item.truncate", "item_id": "item_a", "content_index": 0, "audio_end_ms": 640},
    {"type": "conversation.item.delete", "item_id": "item_a"},
    {"type": "conversation.item.retrieve", "item_id": "item_a"},
    {"type": "response.create", "event_id": "c2", "response": {
        "output_modalities": ["audio"], "instructions": "Say hi.", "tools": [TOOL], "tool_choice": "required",
        "max_output_tokens": 100, "conversation": "none", "metadata": {"kind": "greeting"},
        "audio": {"output": {"voice": "alloy", "format": {"type": "audio/pcmu"}}},
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}},
    {"type": "response.cancel", "response_id": "resp_1"},
    {"type": "output_audio_buffer.clear"},
]


@pytest.mark.parametrize("event", GA_CLIENT_EVENTS, ids=_ids(GA_CLIENT_EVENTS))
def test_every_ga_client_event_reaches_a_beta_upstream_well_shaped_and_comes_back(event: dict[str, Any]) -> None:
    assert shape_errors(event, GA_CLIENT) == []
    beta = client_event_to(event, BETA)
    assert shape_errors(beta, BETA_CLIENT) == []
    assert client_event_to(beta, GA) == event


def test_a_beta_session_update_reaches_a_ga_upstream() -> None:
    update = {"type": "session.update", "session": {
        "modalities": ["text", "audio"], "voice": "ash", "input_audio_format": "g711_ulaw",
        "output_audio_format": "pcm16", "turn_detection": {"type": "semantic_vad"},
        "input_audio_transcription": {"model": "whisper-1"}, "tools": [TOOL], "max_response_output_tokens": 300}}
    assert shape_errors(update, BETA_CLIENT) == []
    ga = client_event_to(update, GA)
    assert shape_errors(ga, GA_CLIENT) == []
    assert ga["session"] == {
        "type": "realtime", "output_modalities": ["audio"], "tools": [TOOL], "max_output_tokens": 300,
        "audio": {"output": {"voice": "ash", "format": {"type": "audio/pcm", "rate": 24_000}},
                  "input": {"format": {"type": "audio/pcmu"}, "turn_detection": {"type": "semantic_vad"},
                            "transcription": {"model": "whisper-1"}}}}


def test_a_beta_response_create_reaches_a_ga_upstream() -> None:
    create = {"type": "response.create", "response": {
        "modalities": ["text"], "max_response_output_tokens": 50, "voice": "alloy",
        "input": [{"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Earlier."}]}]}}
    assert shape_errors(create, BETA_CLIENT) == []
    ga = client_event_to(create, GA)
    assert shape_errors(ga, GA_CLIENT) == []
    assert ga["response"]["input"][0]["content"][0]["type"] == "output_text"
    assert ga["response"]["max_output_tokens"] == 50


@pytest.mark.parametrize(("event", "target", "param"), [
    ({"type": "session.update", "session": {"type": "realtime", "truncation": "auto"}}, BETA, "session.truncation"),
    ({"type": "session.update", "session": {"type": "realtime", "prompt": {"id": "pmpt_1"}}}, BETA, "session.prompt"),
    ({"type": "session.update", "session": {"type": "transcription"}}, BETA, "session.type"),
    ({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {
        "type": "audio/pcm", "rate": 16_000}}}}}, BETA, "session.audio.input.format"),
    ({"type": "session.update", "session": {"type": "realtime", "tools": [
        {"type": "mcp", "server_label": "x"}]}}, BETA, "session.tools"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]}}, BETA, "item.content[0].type"),
    ({"type": "conversation.item.create", "item": {"type": "mcp_approval_response", "approve": True,
                                                   "approval_request_id": "a"}}, BETA, "item.type"),
    ({"type": "response.create", "response": {"prompt": {"id": "pmpt_1"}}}, BETA, "response.prompt"),
    ({"type": "response.create", "response": {"input": [{"type": "message", "role": "user", "content": [
        {"type": "input_image", "image_url": "x"}]}]}}, BETA, "response.input[0].content[0].type"),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "item_reference", "id": "item_1"}]}}, GA, "item.content[0].type"),
    ({"type": "session.update", "session": {"voice": "ash", "temperature": 0.7}}, GA, "session.temperature"),
    ({"type": "response.create", "response": {"modalities": ["text"], "temperature": 0.6}}, GA,
     "response.temperature"),
])
def test_a_client_event_with_no_equivalent_is_refused_naming_the_field(event: dict[str, Any],
                                                                         target: RealtimeDialect,
                                                                         param: str) -> None:
    with pytest.raises(Untranslatable) as info:
        client_event_to(event, target)
    assert info.value.param == param
    assert info.value.code == "dialect_untranslatable"
    assert ("beta" if target is BETA else "GA") in info.value.message


@pytest.mark.parametrize(("kind", "key"), [("session.update", "session"), ("response.create", "response")])
@pytest.mark.parametrize("temperature", [0.0, 0.8, 1.2])
def test_a_beta_temperature_towards_ga_is_refused_saying_to_remove_it(kind: str, key: str,
                                                                       temperature: float) -> None:
    event = {"type": kind, key: {"modalities": ["text"], "instructions": "Be brief.", "temperature": temperature}}
    assert shape_errors(event, BETA_CLIENT) == []
    with pytest.raises(Untranslatable) as info:
        client_event_to(event, GA)
    assert info.value.param == f"{key}.temperature"
    assert "the event was not sent" in info.value.message
    assert "Remove `temperature`" in info.value.message
    assert "GA realtime models take none" in info.value.message


@pytest.mark.parametrize(("kind", "key"), [("session.update", "session"), ("response.create", "response")])
def test_a_null_beta_temperature_asks_for_nothing_and_is_left_out(kind: str, key: str) -> None:
    ga = client_event_to({"type": kind, key: {"instructions": "Be brief.", "temperature": None}}, GA)
    assert "temperature" not in ga[key]
    assert ga[key]["instructions"] == "Be brief."


def test_a_beta_servers_temperature_is_left_out_of_a_ga_clients_objects() -> None:
    (session,) = server_events_to({"type": "session.created", "session": {"id": "s", "temperature": 0.8}}, GA)
    (response,) = server_events_to({"type": "response.done", "response": {"id": "r", "temperature": 0.8}}, GA)
    assert "temperature" not in session["session"]
    assert "temperature" not in response["response"]


FIELD_NAMES = ["type", "audio", "input", "output", "format", "voice", "modalities", "output_modalities", "content",
               "input_audio_format", "turn_detection", "tools", "item", "temperature", "truncation", "rate", "id"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["audio", "text", "pcm16", "realtime", "mcp", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4),
    max_leaves=12)



@settings(max_examples=300)
@given(kind_key=st.sampled_from([("session.update", "session"), ("response.create", "response"),
                                  ("conversation.item.create", "item")]),
       body=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=6), target=st.sampled_from([GA, BETA]))
def test_any_client_event_is_translated_or_refused_and_never_edited(kind_key: tuple[str, str], body: dict[str, Any],
                                                                    target: RealtimeDialect) -> None:
    kind, key = kind_key
    event = {"type": kind, key: body}
    original = copy.deepcopy(event)
    refused: list[Untranslatable] = []
    try:
        translated = client_event_to(event, target)
    except Untranslatable as exc:
        refused.append(exc)
    assert all(exc.param for exc in refused)  # a refusal names the field
    assert refused or translated["type"] == kind
    assert event == original


@settings(max_examples=300)
@given(kind=st.sampled_from(sorted({*SERVER_RENAMES, *SERVER_RENAMES.values(), "session.created", "response.done",
                                    "response.output_item.done", "conversation.item.done"})),
       key=st.sampled_from(["session", "response", "item"]), body=JSON_VALUES, target=st.sampled_from([GA, BETA]))
def test_any_server_event_is_translated_and_never_edited(kind: str, key: str, body: Any,
                                                         target: RealtimeDialect) -> None:
    event = {"type": kind, key: body}
    original = copy.deepcopy(event)
    translated = server_events_to(event, target)
    assert all(isinstance(e, dict) and isinstance(e["type"], str) for e in translated)
    assert event == original
