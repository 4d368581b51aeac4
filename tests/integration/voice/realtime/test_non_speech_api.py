"""No words from non-speech through the realtime API (the README's `voxgate serve`, the official
`openai` SDK): the generated non-speech set sent in one push-to-talk session (each input committed
by the client with a `response.create`) and in one server-VAD session: every transcript empty, no
response started. Silero rarely fires on this set (its largest frame probability is 0.18, on a loud
60 Hz hum), so the server-VAD session runs at a low threshold (0.17, whose release threshold 0.02
still lies above silence's ~0.009) to let what does fire reach the recogniser and the filter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.voice.realtime.realtime_client import reading, stream_audio, to_rate
from tests.support.native_sessions import sdk_client
from tests.support.non_speech import non_speech_inputs
from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration

RATE_HZ = 24_000
HELD_OUT_SEED = 2  # the filter's thresholds were chosen on seed 0; the engine test uses seed 1
TRANSCRIBED = "conversation.item.input_audio_transcription.completed"
NOTHING_HEARD = "input_audio_without_speech"


def _connect(server: RunningProcess) -> Any:
    client = sdk_client(server)
    return client.realtime.connect(model="auto")


def _session(turn_detection: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "realtime", "output_modalities": ["text"],
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": RATE_HZ}, "turn_detection": turn_detection}}}


async def test_push_to_talk_commits_of_non_speech_give_no_words_and_no_response(
    voxgate_server: RunningProcess,
) -> None:
    inputs = non_speech_inputs(HELD_OUT_SEED)
    async with _connect(voxgate_server) as connection, reading(connection) as log:
        await connection.session.update(session=_session(None))
        await log.wait_for("session.updated")
        for count, item in enumerate(inputs, start=1):
            await stream_audio(connection, to_rate(item.pcm16, RATE_HZ), 2 * RATE_HZ, real_time=False)
            await connection.input_audio_buffer.commit()
            await connection.response.create()
            await log.wait_for(TRANSCRIBED, count)
            await log.wait_until(lambda e: e["type"] == "error" and e["error"]["code"] == NOTHING_HEARD, count)
    heard = {item.name: event["transcript"] for item, event in zip(inputs, log.of_type(TRANSCRIBED), strict=True)}
    assert {name: text for name, text in heard.items() if text} == {}
    assert "response.created" not in log.types()
    assert len(log.of_type("input_audio_buffer.committed")) == len(inputs) >= 50


async def test_server_vad_on_non_speech_gives_no_words_and_no_response(voxgate_server: RunningProcess) -> None:
    inputs = non_speech_inputs(HELD_OUT_SEED)
    silence = bytes(2 * RATE_HZ)  # 1 s after each input: longer than silence_duration_ms
    async with _connect(voxgate_server) as connection, reading(connection) as log:
        await connection.session.update(session=_session(
            {"type": "server_vad", "threshold": 0.17, "silence_duration_ms": 500, "create_response": True}))
        await log.wait_for("session.updated")
        for item in inputs:
            await stream_audio(connection, to_rate(item.pcm16, RATE_HZ) + silence, 2 * RATE_HZ, real_time=False)
        await connection.send({"type": "conversation.item.retrieve", "item_id": "all_sent", "event_id": "all_sent"})
        await log.wait_until(lambda e: e["type"] == "error" and e["error"].get("event_id") == "all_sent")
        committed = len(log.of_type("input_audio_buffer.committed"))
        if committed:  # 0 in the run of 12:51 on seed 2: Silero did not fire at all
            await log.wait_for(TRANSCRIBED, committed)
        await connection.send({"type": "conversation.item.retrieve", "item_id": "settled", "event_id": "settled"})
        await log.wait_until(lambda e: e["type"] == "error" and e["error"].get("event_id") == "settled")
    assert [e["transcript"] for e in log.of_type(TRANSCRIBED)] == [""] * committed
    assert "response.created" not in log.types()
