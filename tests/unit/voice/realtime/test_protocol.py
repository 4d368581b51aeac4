"""Realtime protocol parsing: each bad input gets its error code, param and the client's event_id."""

from __future__ import annotations

import base64
import json

import pytest

from tests.unit.voice.realtime.realtime_harness import running_session, tone_pcm16
from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.formats import AudioFormat
from voxgate.voice.realtime.protocol import ProtocolViolation, decode_audio, parse_client_event
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import SessionLimits
from voxgate.voice.realtime.session_config import SessionConfig, apply_session_update, render_session


@pytest.mark.parametrize(
    ("frame", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_json", None),
        ('{"event_id": "e1"}', "missing_required_parameter", "type"),
        ('{"type": "session.explode", "event_id": "e1"}', "unknown_event_type", "type"),
        ("[" * 100_000, "invalid_json", None),  # nested too deeply for json.loads: not a crash
        ('{"type": "conversation.item.create", "event_id": "e2", "item": {"type": "message", "role": "user", '
         '"content": [{"type": "input_text", "text": "\\ud800 hi"}]}}', "invalid_json", "item.content[0].text"),
    ],
)
def test_malformed_frames_are_violations(frame: str, code: str, param: str | None) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        parse_client_event(frame)
    assert caught.value.code == code
    assert caught.value.param == param


def _append(audio: object) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "event_id": "a1", "audio": audio})


@pytest.mark.parametrize(
    ("audio", "code"),
    [("not base64!!", "invalid_base64"), (None, "missing_required_parameter"),
     (base64.b64encode(bytes(64)).decode(), "audio_too_large")],
)
def test_bad_audio_is_refused(audio: object, code: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        decode_audio(parse_client_event(_append(audio)), max_bytes=32)
    assert caught.value.code == code
    assert caught.value.event_id == "a1"


def test_ga_session_update_sets_formats_turn_detection_and_voice() -> None:
    config = apply_session_update(SessionConfig(), {
        "type": "realtime", "instructions": "Be brief.", "output_modalities": ["text"],
        "audio": {"input": {"format": {"type": "audio/pcmu"},
                            "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
                            "transcription": {"model": "gpt-4o-transcribe"}},
                  "output": {"format": {"type": "audio/pcma"}, "voice": "ash"}},
        "tracing": "auto"})
    assert config.input_format is AudioFormat.PCMU
    assert config.output_format is AudioFormat.PCMA
    assert config.turn_detection is not None
    assert config.turn_detection.kind == "semantic_vad"
    assert (config.voice, config.instructions, config.output_modalities) == ("ash", "Be brief.", ("text",))
    rendered = render_session(config, "sess_1", beta=False)
    assert rendered["audio"]["input"]["format"] == {"type": "audio/pcmu"}


def test_beta_session_update_uses_flat_fields() -> None:
    config = apply_session_update(SessionConfig(), {
        "modalities": ["text", "audio"], "input_audio_format": "g711_alaw", "turn_detection": None,
        "voice": "verse", "max_response_output_tokens": "inf"})
    assert config.input_format is AudioFormat.PCMA
    assert config.turn_detection is None
    assert render_session(config, "sess_1", beta=True)["input_audio_format"] == "g711_alaw"


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "transcription"}, "session.type"),
        ({"audio": {"input": {"format": {"type": "audio/opus"}}}}, "session.audio.input.format"),
        ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "session.audio.input.format.rate"),
        ({"input_audio_format": "mp3"}, "session.input_audio_format"),
        ({"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 7}}}},
         "session.audio.input.turn_detection.threshold"),
        ({"output_modalities": ["video"]}, "session.output_modalities"),
        ({"tools": [{"type": "function"}]}, "session.tools[0]"),
        ({"max_output_tokens": 0}, "session.max_output_tokens"),
        ("nope", "session"),
    ],
)
def test_bad_session_fields_name_their_parameter(session: object, param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        apply_session_update(SessionConfig(), session)
    assert caught.value.param == param


async def test_every_bad_event_gets_an_error_event_and_the_session_carries_on() -> None:
    limits = SessionLimits(max_append_bytes=4_800, max_buffered_audio_s=0.3)
    async with running_session(ScriptedReplySource([]), limits=limits) as (_, transport):
        frames = [
            "{not json",
            json.dumps({"type": "nope", "event_id": "e-unknown"}),
            _append("%%%"),
            json.dumps({"type": "input_audio_buffer.append", "event_id": "e-odd",
                        "audio": base64.b64encode(b"\x00\x01\x02").decode()}),
            json.dumps({"type": "input_audio_buffer.append", "event_id": "e-big",
                        "audio": base64.b64encode(bytes(9_600)).decode()}),
            json.dumps({"type": "input_audio_buffer.commit", "event_id": "e-empty"}),
            json.dumps({"type": "conversation.item.truncate", "event_id": "e-missing", "item_id": "item_x",
                        "audio_end_ms": 5}),
            json.dumps({"type": "session.update", "event_id": "e-format",
                        "session": {"audio": {"input": {"format": {"type": "audio/flac"}}}}}),
            json.dumps({"type": "session.update", "session": {"audio": {"input": {"turn_detection": None}}}}),
        ]
        for frame in frames:
            transport.push(frame)
        transport.append_audio(tone_pcm16(200))
        transport.append_audio(tone_pcm16(200))
        errors = [await transport.wait_for("error", n) for n in range(1, 10)]
        transport.push({"type": "input_audio_buffer.clear"})
        await transport.wait_for("input_audio_buffer.cleared")
    got = [(e["error"]["code"], e["error"]["event_id"]) for e in errors]
    assert got == [
        ("invalid_json", None), ("unknown_event_type", "e-unknown"), ("invalid_base64", "a1"),
        ("invalid_audio", "e-odd"), ("audio_too_large", "e-big"), ("input_audio_buffer_commit_empty", "e-empty"),
        ("item_not_found", "e-missing"), ("invalid_value", "e-format"), ("input_audio_buffer_full", None),
    ]
    assert all(e["error"]["type"] == "invalid_request_error" and e["error"]["message"] for e in errors)
