"""Voice sessions proxied to a `backend: gemini-live` model, end to end, against a scripted Live API.

The upstream is tests/support/scripted_gemini_live: a real WebSocket server speaking the Live API's
documented messages (setup, realtimeInput, serverContent, toolCall, usageMetadata, goAway). The
proxy is a real `voxgate serve` with no speech engines; the client is the official `openai` SDK
(faults: a raw websocket client). The scripted server cannot understand speech: user audio is a
440 Hz tone, which also shows the 24 kHz -> 16 kHz conversion kept its pitch and length.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.voice.realtime.realtime_client import audio_of, peak, reading, stream_audio
from tests.support.native_sessions import finished_decision, raw_session, sdk_client
from tests.support.processes import RunningProcess, free_port, start_voxgate, stop_process
from tests.support.scripted_gemini_live import (
    REPLY_CHUNKS,
    REPLY_TEXT,
    ScriptedGeminiLive,
    serve_scripted_gemini_live,
    tone,
)
from voxgate.voice.audio.codecs import decode_ulaw, encode_ulaw

pytestmark = pytest.mark.integration

GEMINI_KEY = "AIza-scripted-key-not-for-logs"
CLOSE_BAD_GATEWAY = 1014
WAIT_S = 30.0
TONE_MS, QUIET_MS = 1_000, 500


def _gemini(model_id: str, url: str, input_per_mtok: int = 3) -> str:
    return (f"  - id: {model_id}\n    backend: gemini-live\n    base_url: {url}\n"
            "    api_model: gemini-test-native-audio\n    api_key_env: GEMINI_KEY\n    locality: cloud\n"
            f"    ttft_ms: 300\n    price: {{input_per_mtok: {input_per_mtok}, output_per_mtok: 12}}\n")


@pytest.fixture(scope="module")
def live() -> Iterator[ScriptedGeminiLive]:
    with serve_scripted_gemini_live(GEMINI_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gemini-proxy")


@pytest.fixture(scope="module")
def proxy(live: ScriptedGeminiLive, workdir: Path) -> Iterator[RunningProcess]:
    behaviours = ("tool", "long", "goaway", "refuse", "close", "garbage")
    catalog = "models:\n" + "".join(_gemini(f"gemini-{b}", live.url_for(b)) for b in behaviours)
    # `auto:cost` ranks gemini-down (cheaper; nobody listens there) before gemini-speak: the fallback test
    catalog += _gemini("gemini-speak", live.url_for("speak"))
    catalog += _gemini("gemini-down", f"ws://127.0.0.1:{free_port()}/down", 1)
    catalog += "include_default_models: false\nvoice: {enabled: false}\n"
    running = start_voxgate(workdir, catalog, env={"GEMINI_KEY": GEMINI_KEY})
    try:
        yield running
    finally:
        stop_process(running.process)



def _dominant_hz(pcm16: bytes, rate_hz: int) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate_hz / samples.size)


async def _speak_tone(connection: Any, *, ulaw: bool = False) -> None:
    """A 1 s 440 Hz tone, then 0.5 s of quiet, as the session's input format."""
    rate_hz = 8_000 if ulaw else 24_000
    audio = tone(TONE_MS, rate_hz) + bytes(2 * rate_hz * QUIET_MS // 1000)
    if ulaw:
        audio = encode_ulaw(audio)
    await stream_audio(connection, audio, rate_hz if ulaw else 2 * rate_hz, real_time=False)


async def _received_16k(live: ScriptedGeminiLive, delay_bytes: int) -> bytes:
    """What the scripted server received of the last session's audio, once all of it is there."""
    expected = 2 * 16_000 * (TONE_MS + QUIET_MS) // 1000
    async with asyncio.timeout(5):
        while True:
            if len(live.audio_16k[-1]) >= expected - delay_bytes:
                break
            await asyncio.sleep(0.05)
    received = bytes(live.audio_16k[-1])
    assert len(received) <= expected
    return received


async def test_a_spoken_turn_is_translated_both_ways_and_charged(
    proxy: RunningProcess, live: ScriptedGeminiLive, workdir: Path
) -> None:
    async with asyncio.timeout(WAIT_S), sdk_client(proxy).realtime.connect(model="gemini-speak") as connection, \
            reading(connection) as log:
        routed = await log.wait_for("voxgate.session.routed")
        await connection.session.update(session={
            "type": "realtime", "instructions": "Answer briefly.",
            "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 400}},
                      "output": {"voice": "Puck"}}})
        updated = await log.wait_for("session.updated")
        await _speak_tone(connection)
        heard = await log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await log.wait_for("response.done")
        metrics = await log.wait_for("voxgate.turn.metrics")
    setup = live.setups[-1]
    assert setup["model"] == "models/gemini-test-native-audio"
    assert setup["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Puck"
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": False, "silenceDurationMs": 400}
    assert updated["session"]["audio"]["output"]["voice"] == "Puck"
    assert live.keys_seen[-1] == GEMINI_KEY  # Google's documented `?key=`
    assert live.bad_mime_types == []
    received = await _received_16k(live, 2 * 32)  # 1.5 s at 16 kHz less the resampler's delay; still 440 Hz
    assert abs(_dominant_hz(received[: 2 * 16_000 * TONE_MS // 1000], 16_000) - 440) < 5
    assert heard["transcript"].startswith("heard ")
    response = done["response"]
    assert response["status"] == "completed"
    assert response["usage"]["input_tokens"] == 12
    assert response["usage"]["output_tokens"] == 7
    assert response["metadata"]["voxgate_model"] == "gemini-speak"
    spoken = "".join(e["delta"] for e in log.of_type("response.output_audio_transcript.delta"))
    assert spoken == "".join(REPLY_TEXT)
    audio = audio_of(log.of_type("response.output_audio.delta"))
    assert len(audio) == REPLY_CHUNKS * 2 * 2_400  # 100 ms chunks of PCM16 24 kHz, untouched
    assert peak(audio) > 10_000
    assert metrics["latency"]["first_audio_ms"] is not None
    decision = await finished_decision(proxy, routed["decision_id"])
    assert decision["answered_by"] == "gemini-speak"
    assert decision["outcome"] == "ok"
    assert (decision["usage"]["prompt_tokens"], decision["usage"]["completion_tokens"]) == (12, 7)
    assert decision["cost_usd"] == pytest.approx((12 * 3 + 7 * 12) / 1e6)
    assert GEMINI_KEY not in (workdir / "voxgate.log").read_text()


async def test_a_beta_g711_client_reaches_gemini_at_16_khz(proxy: RunningProcess, live: ScriptedGeminiLive) -> None:
    async with asyncio.timeout(WAIT_S), sdk_client(proxy).beta.realtime.connect(model="gemini-speak") as connection, \
            reading(connection) as log:
        await connection.session.update(session={
            "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw", "turn_detection": {
                "type": "server_vad"}})
        updated = await log.wait_for("session.updated")
        await _speak_tone(connection, ulaw=True)
        done = await log.wait_for("response.done")
    assert updated["session"]["input_audio_format"] == "g711_ulaw"
    received = await _received_16k(live, 2 * 128)  # 8 -> 24 -> 16 kHz: two filter delays
    assert abs(_dominant_hz(received[: 2 * 16_000 * TONE_MS // 1000], 16_000) - 440) < 5
    assert done["response"]["status"] == "completed"
    ulaw = audio_of(log.of_type("response.audio.delta"))  # beta names; 8 kHz, one byte a sample
    assert abs(len(ulaw) - REPLY_CHUNKS * 800) <= 64  # less the 24 -> 8 kHz filter delay
    reply = decode_ulaw(ulaw)
    assert abs(_dominant_hz(reply, 8_000) - 440) < 10


async def test_a_tool_call_round_trips_with_manual_turns(proxy: RunningProcess, live: ScriptedGeminiLive) -> None:
    weather: Any = {"type": "function", "name": "get_weather", "description": "Weather for a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    async with asyncio.timeout(WAIT_S), sdk_client(proxy).realtime.connect(model="gemini-tool") as connection, \
            reading(connection) as log:
        await connection.session.update(session={"type": "realtime", "tools": [weather],
                                                 "audio": {"input": {"turn_detection": None}}})
        await log.wait_for("session.updated")
        await _speak_tone(connection)
        await connection.input_audio_buffer.commit()
        await connection.response.create()
        first = await log.wait_for("response.done")
        call = first["response"]["output"][0]
        await connection.conversation.item.create(item={
            "type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21 C"})
        await connection.response.create()
        second = await log.wait_for("response.done", 2)
    setup = live.setups[-1]
    assert setup["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert setup["tools"][0]["functionDeclarations"][0]["parameters"] == weather["parameters"]
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}
    assert call["type"] == "function_call"
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert live.tool_responses[-1]["functionResponses"] == [
        {"id": call["call_id"], "name": "get_weather", "response": {"output": "sunny, 21 C"}}]
    assert second["response"]["status"] == "completed"
    spoken = [e["delta"] for e in log.of_type("response.output_audio_transcript.delta")]
    assert "The answer is sunny, 21 C." in spoken


async def test_barge_in_cancels_the_reply_and_truncate_is_answered(proxy: RunningProcess) -> None:
    async with asyncio.timeout(WAIT_S), sdk_client(proxy).realtime.connect(model="gemini-long") as connection, \
            reading(connection) as log:
        await connection.session.update(session={"type": "realtime"})
        await log.wait_for("session.updated")
        await _speak_tone(connection)
        delta = await log.wait_for("response.output_audio.delta")
        await _speak_tone(connection)  # the user talks over the reply
        started = await log.wait_for("input_audio_buffer.speech_started")
        cancelled = await log.wait_for("response.done")
        await connection.conversation.item.truncate(item_id=delta["item_id"], content_index=0, audio_end_ms=100)
        truncated = await log.wait_for("conversation.item.truncated")
        second = await log.wait_for("response.done", 2)
    assert cancelled["response"]["status"] == "cancelled"
    assert cancelled["response"]["status_details"]["reason"] == "turn_detected"
    assert started["item_id"]
    assert truncated["item_id"] == delta["item_id"]
    assert second["response"]["status"] == "completed"
    assert len(audio_of(log.of_type("response.output_audio.delta"))) < 30 * 2 * 2_400  # not the 20 s reply


@pytest.mark.parametrize(("model_id", "code"), [
    ("gemini-refuse", "upstream_auth_failed"),
    ("gemini-close", "upstream_closed"),
    ("gemini-garbage", "upstream_protocol_error"),
    ("gemini-goaway", "upstream_going_away"),
])
async def test_upstream_faults_reach_the_client_as_an_error_and_a_1014_close(
    proxy: RunningProcess, model_id: str, code: str
) -> None:
    events, close_code = await raw_session(proxy, model_id)
    errors = [e for e in events if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == [code]
    assert close_code == CLOSE_BAD_GATEWAY
    kinds = [e["type"] for e in events]
    if code == "upstream_auth_failed":
        assert "API key not valid" in errors[0]["error"]["message"]
    if code == "upstream_closed":  # mid-turn: the reply had started
        assert "response.output_audio.delta" in kinds
    if code == "upstream_going_away":  # the turn in flight finished first
        assert kinds.index("response.done") < kinds.index("error")


async def test_a_native_model_down_at_session_start_falls_back_to_the_next_candidate(proxy: RunningProcess) -> None:
    allowed = {"x-voxgate-models": "gemini-down,gemini-speak"}  # the plan: down first (cheaper), then speak
    async with asyncio.timeout(WAIT_S), sdk_client(proxy).realtime.connect(model="auto:cost", extra_headers=allowed) \
            as connection, reading(connection) as log:
        routed = await log.wait_for("voxgate.session.routed")
        await connection.response.create()
        done = await log.wait_for("response.done")
    assert routed["model"] == "gemini-speak"
    assert done["response"]["status"] == "completed"
    assert log.of_type("error") == []
    decision = await finished_decision(proxy, routed["decision_id"])
    assert decision["chosen"] == "gemini-down"
    assert decision["answered_by"] == "gemini-speak"
    assert [(a["model"], a["status"]) for a in decision["attempts"]] == [("gemini-down", "error"),
                                                                         ("gemini-speak", "ok")]
    assert "fell back to gemini-speak: gemini-down failed at session start (upstream_unavailable)" \
        in decision["reason"]
