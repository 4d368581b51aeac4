"""Voice sessions proxied to a native-audio model (`backend: openai-realtime`), end to end.

The native model is a second real voxgate (`scripted_voice_server`: Whisper base and Piper hear and
speak, a scripted chat upstream answers), reached over its OpenAI realtime socket by the proxy
voxgate, which loads no speech engines itself (`voice.enabled: false`). The official `openai` SDK
talks to the proxy with real recorded speech. Faults come from a scripted websocket upstream
(tests/support/scripted_realtime): each must reach the client as an `error` event and close 1014.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.integration.voice.conftest import SCRIPTED_REPLY
from tests.integration.voice.realtime.realtime_client import audio_of, peak, reading, stream_clip
from tests.support.native_sessions import finished_decision, raw_session, sdk_client
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.scripted_realtime import ScriptedRealtime, serve_scripted_realtime
from tests.support.speech_corpus import Clip
from voxgate.voice.audio.codecs import decode_ulaw
from voxgate.voice.engines.wer import word_error_rate

pytestmark = pytest.mark.integration

NATIVE_KEY = "sk-native-upstream"
WER_BOUND = 0.35  # one decode of one clip, through the telephone band in the beta test
CLOSE_BAD_GATEWAY = 1014
WAIT_S = 60.0


def _native(model_id: str, url: str, ttft_ms: int) -> str:
    return (f"  - id: {model_id}\n    backend: openai-realtime\n    base_url: {url}\n    api_model: auto\n"
            f"    api_key_env: NATIVE_KEY\n    locality: local\n    ttft_ms: {ttft_ms}\n"
            "    price: {input_per_mtok: 32, output_per_mtok: 64}\n")


@pytest.fixture(scope="module")
def scripted_upstream() -> Iterator[ScriptedRealtime]:
    with serve_scripted_realtime() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def proxy(scripted_voice_server: RunningProcess, scripted_upstream: ScriptedRealtime,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    # the upstream voxgate's own extension events stay off: the proxy adds its own
    native_url = f"ws://127.0.0.1:{scripted_voice_server.port}/v1/realtime?voxgate_events=off"
    catalog = "models:\n" + _native("native-voice", native_url, 300) + _native(
        "native-close", scripted_upstream.url_for("close"), 900)
    yield from _proxy(tmp_path_factory, catalog)


@pytest.fixture(scope="module")
def fault_proxy(scripted_upstream: ScriptedRealtime, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningProcess]:
    """A proxy whose native models are all scripted (no speech engines anywhere: starts in seconds)."""
    catalog = "models:\n" + _native("native-speak", scripted_upstream.url_for("speak"), 100) + "".join(
        _native(f"native-{fault}", scripted_upstream.url_for(fault), 900) for fault in ("refuse", "close", "garbage"))
    yield from _proxy(tmp_path_factory, catalog)


def _proxy(tmp_path_factory: pytest.TempPathFactory, catalog: str) -> Iterator[RunningProcess]:
    catalog += "include_default_models: false\nvoice: {enabled: false}\n"
    running = start_voxgate(tmp_path_factory.mktemp("native-proxy"), catalog, env={"NATIVE_KEY": NATIVE_KEY})
    try:
        yield running
    finally:
        stop_process(running.process)



async def test_auto_session_is_routed_to_the_native_model_and_hears_and_speaks(
    proxy: RunningProcess, librivox: list[Clip]
) -> None:
    clip = min(librivox, key=lambda c: c.duration_s)
    async with sdk_client(proxy).realtime.connect(model="auto") as connection, reading(connection) as log:
        routed = await log.wait_for("voxgate.session.routed")
        await connection.session.update(session={
            "type": "realtime", "instructions": "Answer briefly.",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500}}}})
        await log.wait_for("session.updated")
        await stream_clip(connection, clip.pcm16)
        transcript = await log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await log.wait_for("response.done")
        metrics = await log.wait_for("voxgate.turn.metrics")
    assert routed["model"] == "native-voice"
    assert word_error_rate(clip.transcript, transcript["transcript"]) <= WER_BOUND
    response = done["response"]
    assert response["status"] == "completed"
    assert response["metadata"]["voxgate_model"] == "native-voice"
    assert response["metadata"]["voxgate_decision_id"] == routed["decision_id"]
    spoken = "".join(e["delta"] for e in log.of_type("response.output_audio_transcript.delta"))
    assert spoken.strip() == SCRIPTED_REPLY
    audio = audio_of(log.of_type("response.output_audio.delta"))
    assert len(audio) > 2 * 24_000 * 1.0  # a sentence of speech, PCM16 24 kHz
    assert peak(audio) > 1_000
    assert len(log.of_type("voxgate.turn.metrics")) == 1  # the proxy's, not the upstream's too
    assert metrics["decision_id"] == routed["decision_id"]
    assert metrics["latency"]["first_audio_ms"] is not None
    decision = await finished_decision(proxy, routed["decision_id"])
    assert decision["request"]["kind"] == "voice_session"
    assert decision["chosen"] == decision["answered_by"] == "native-voice"
    assert decision["outcome"] == "ok"
    assert decision["usage"]["completion_tokens"] == response["usage"]["output_tokens"] > 0
    assert decision["cost_usd"] > 0


async def test_beta_g711_client_is_converted_both_ways(proxy: RunningProcess, librivox: list[Clip]) -> None:
    clip = sorted(librivox, key=lambda c: c.duration_s)[1]
    client = sdk_client(proxy)
    async with client.beta.realtime.connect(model="native-voice") as connection, reading(connection) as log:
        await connection.session.update(session={
            "instructions": "Answer briefly.", "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
            "turn_detection": {"type": "server_vad"}})
        updated = await log.wait_for("session.updated")
        await stream_clip(connection, clip.pcm16, ulaw=True)
        transcript = await log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await log.wait_for("response.done")
    assert updated["session"]["input_audio_format"] == "g711_ulaw"  # the upstream ran PCM16; the client sees its own
    assert word_error_rate(clip.transcript, transcript["transcript"]) <= WER_BOUND
    assert done["response"]["status"] == "completed"
    ulaw = audio_of(log.of_type("response.audio.delta"))
    assert len(ulaw) > 8_000 * 1.0  # one byte a sample at 8 kHz
    assert peak(decode_ulaw(ulaw)) > 1_000


@pytest.mark.parametrize(("model_id", "code"), [
    ("native-refuse", "upstream_auth_failed"),
    ("native-close", "upstream_closed"),
    ("native-garbage", "upstream_protocol_error"),
])
async def test_upstream_faults_reach_the_client_as_an_error_and_a_1014_close(
    fault_proxy: RunningProcess, scripted_upstream: ScriptedRealtime, model_id: str, code: str
) -> None:
    events, close_code = await raw_session(fault_proxy, model_id)
    errors = [e for e in events if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == [code]
    assert close_code == CLOSE_BAD_GATEWAY
    assert scripted_upstream.headers_seen[-1]["authorization"] == f"Bearer {NATIVE_KEY}"
    if code == "upstream_closed":  # mid-turn: the response had started
        assert "response.created" in [e["type"] for e in events]


def test_route_voice_explains_the_session_decision(fault_proxy: RunningProcess) -> None:
    response = httpx.post(f"{fault_proxy.base_url}/v1/realtime/route", json={"model": "auto"}, timeout=30)
    assert response.status_code == 200
    decision = response.json()
    assert decision["chosen"] == "native-speak"
    assert decision["outcome"] == "explained"
    reasons = {c["model"]: c["reason"] for c in decision["candidates"]}
    assert reasons["native-refuse"].startswith("slower")
    capped = httpx.post(f"{fault_proxy.base_url}/v1/realtime/route", json={"model": "auto", "routing": {
        "max_cost_usd": 0.00001}}, timeout=30)
    assert capped.status_code == 400
    assert "max_cost_usd" in capped.json()["error"]["rejections"]["native-speak"]


async def test_an_instant_native_model_answers_through_the_proxy_and_is_charged(fault_proxy: RunningProcess) -> None:
    url = f"ws://127.0.0.1:{fault_proxy.port}/v1/realtime?model=native-speak"
    async with asyncio.timeout(WAIT_S), websockets.connect(url) as socket:
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] != "voxgate.turn.metrics":
            events.append(json.loads(await socket.recv()))
            if events[-1]["type"] == "session.created":
                await socket.send(json.dumps({"type": "response.create"}))
    routed = next(e for e in events if e["type"] == "voxgate.session.routed")
    decision = await finished_decision(fault_proxy, routed["decision_id"])
    assert decision["usage"]["prompt_tokens"] == 10
    assert decision["usage"]["completion_tokens"] == 5
    assert decision["cost_usd"] == pytest.approx((10 * 32 + 5 * 64) / 1e6)
