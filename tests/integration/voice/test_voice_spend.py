"""Voice sessions are charged for their speech engines: a real voxgate (Whisper tiny.en, espeak-ng)
whose `voice.price` puts a price on each minute heard and spoken. After a realtime voice turn
under a virtual key, `/v1/spend` shows the seconds transcribed and synthesised, the key's spend
grows by seconds x price (beside the LLM's tokens), and the key's budget counts it: the next turn
is refused with `insufficient_quota`. The same prices apply to OpenAI's audio routes under a key
(rows of kind `audio`, one per request, in `/v1/spend` and `voxgate spend`; the budget and RPM
refuse with 429 before any work), and to phone calls (Twilio Media Streams) under a key given as
the stream's `api_key` parameter: checked, holding one of the key's voice-session slots, charged
like a realtime session, and never written to the log."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect

from tests.fake_upstream import serve_in_thread
from tests.integration.voice.realtime.realtime_client import audio_of, reading, stream_clip
from tests.integration.voice.test_twilio import STREAM_SID, Caller, start_message, ulaw_8k
from tests.support.native_sessions import sdk_client
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.speech_corpus import Clip
from voxgate.voice.audio.containers import wav_file

pytestmark = pytest.mark.integration
ADMIN = {"authorization": "Bearer sk-voice-spend-admin"}
STT_PER_MINUTE, TTS_PER_MINUTE = 6.0, 12.0  # USD: 0.1 per second heard, 0.2 per second spoken
SPEECH_ENGINES = "stt:whisper-tiny.en tts:espeak"
AUDIO_BUDGET_USD = 0.4  # the shortest clip (3 s heard: 0.3 USD) fits; with a spoken sentence it is spent


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-spend")


@pytest.fixture(scope="module")
def priced_gateway(workdir: Path) -> Iterator[RunningProcess]:
    with serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                   "    price: {input_per_mtok: 100, output_per_mtok: 200}\n"
                   "include_default_models: false\n"
                   "voice: {enabled: true, stt_model: tiny.en, tts_engine: espeak, max_latency_ms: null,\n"
                   f"        price: {{stt_per_minute: {STT_PER_MINUTE}, tts_per_minute: {TTS_PER_MINUTE}}}}}\n")
        running = start_voxgate(workdir, catalog,
                                env={"VOXGATE_ADMIN_KEY": ADMIN["authorization"][7:]})
        try:
            yield running
        finally:
            stop_process(running.process)


async def _new_key(gateway: RunningProcess, **spec: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        created = await http.post(f"{gateway.base_url}/v1/admin/keys", headers=ADMIN, json={"name": "audio"} | spec)
    assert created.status_code == 201, created.text
    key: dict[str, Any] = created.json()
    return key


async def _spend(gateway: RunningProcess, key_id: str, group_by: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{gateway.base_url}/v1/spend", params={"key": key_id, "group_by": group_by},
                                headers=ADMIN)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["data"]
    return rows


async def _voice_turn(gateway: RunningProcess, secret: str, clip: Clip) -> tuple[dict[str, Any], bytes]:
    client = sdk_client(gateway, secret)
    async with client.realtime.connect(model="auto") as connection, reading(connection) as log:
        await connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
        await log.wait_for("session.updated")
        await stream_clip(connection, clip.pcm16)
        done = await log.wait_for("response.done")
    return done["response"], audio_of(log.of_type("response.output_audio.delta"))


async def test_a_voice_turn_charges_the_seconds_heard_and_spoken_to_the_key_and_its_budget(
    priced_gateway: RunningProcess, librivox: list[Clip]
) -> None:
    async with httpx.AsyncClient() as http:
        created = await http.post(f"{priced_gateway.base_url}/v1/admin/keys", headers=ADMIN,
                                  json={"name": "voice-team", "budget_usd": {"day": 0.5}})
    assert created.status_code == 201, created.text
    key = created.json()
    clip = min(librivox, key=lambda c: c.duration_s)
    response, reply = await _voice_turn(priced_gateway, key["key"], clip)
    assert response["status"] == "completed", response
    by_model = {row["model"]: row for row in await _spend(priced_gateway, key["id"], "model")}
    speech, llm = by_model[SPEECH_ENGINES], by_model["scripted"]
    heard_s = clip.duration_s
    spoken_s = len(reply) / 2 / 24_000
    assert heard_s <= speech["stt_s"] <= 3 * (heard_s + 1.0), "the committed turn at least, speculation at most"
    assert spoken_s - 0.05 <= speech["tts_s"] <= spoken_s + 2.0, "what was synthesised (silence trimmed is not sent)"
    expected_usd = speech["stt_s"] * STT_PER_MINUTE / 60 + speech["tts_s"] * TTS_PER_MINUTE / 60
    assert speech["cost_usd"] == pytest.approx(expected_usd, rel=1e-3)
    assert (speech["requests"], llm["requests"]) == (0, 1)
    assert llm["prompt_tokens"] > 0
    assert llm["stt_s"] == 0.0
    (total,) = await _spend(priced_gateway, key["id"], "key")
    assert total["cost_usd"] == pytest.approx(speech["cost_usd"] + llm["cost_usd"], rel=1e-6)
    assert total["cost_usd"] > 0.5, "the clip alone (0.1 USD a second heard) is past the key's budget"
    refused, _ = await _voice_turn(priced_gateway, key["key"], clip)
    assert refused["status"] == "failed"
    assert refused["status_details"]["error"]["code"] == "insufficient_quota", refused


async def test_the_audio_routes_are_charged_per_second_and_held_to_the_keys_budget_and_rpm(
    priced_gateway: RunningProcess, librivox: list[Clip], workdir: Path
) -> None:
    key = await _new_key(priced_gateway, budget_usd={"day": AUDIO_BUDGET_USD})
    sdk = AsyncOpenAI(base_url=f"{priced_gateway.base_url}/v1", api_key=key["key"], max_retries=0, timeout=120)
    clip = min(librivox, key=lambda c: c.duration_s)
    upload = ("clip.wav", wav_file(clip.pcm16, 16_000))
    transcript = await sdk.audio.transcriptions.create(model="whisper-1", file=upload)
    assert transcript.text
    spoken = await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Your table is booked.",
                                           response_format="pcm")
    spoken_s = len(spoken.content) / 2 / 24_000
    by_model = {row["model"]: row for row in await _spend(priced_gateway, key["id"], "model")}
    heard, said = by_model["stt:whisper-tiny.en"], by_model["tts:espeak"]
    assert (heard["requests"], said["requests"]) == (1, 1), "each an audio request"
    assert heard["stt_s"] == pytest.approx(clip.duration_s, abs=0.01), "the recording's duration (usage.seconds)"
    assert said["tts_s"] == pytest.approx(spoken_s, abs=0.05), "what was synthesised"
    assert heard["cost_usd"] == pytest.approx(heard["stt_s"] * STT_PER_MINUTE / 60, rel=1e-3)
    assert said["cost_usd"] == pytest.approx(said["tts_s"] * TTS_PER_MINUTE / 60, rel=1e-3)
    assert heard["cost_usd"] < AUDIO_BUDGET_USD < heard["cost_usd"] + said["cost_usd"], "both admitted; now past it"
    with pytest.raises(openai.RateLimitError) as refused:
        await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Again.", response_format="pcm")
    assert refused.value.code == "insufficient_quota"
    printed = _voxgate_spend(workdir, "--key", key["id"], "--group-by", "model")
    assert "stt:whisper-tiny.en" in printed
    assert "tts:espeak" in printed

    limited = await _new_key(priced_gateway, rpm=1)
    sdk = AsyncOpenAI(base_url=f"{priced_gateway.base_url}/v1", api_key=limited["key"], max_retries=0, timeout=120)
    await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hi.", response_format="pcm")
    with pytest.raises(openai.RateLimitError) as limited_out:
        await sdk.audio.transcriptions.create(model="whisper-1", file=upload)
    assert limited_out.value.code == "rate_limit_exceeded"
    assert limited_out.value.response.headers["retry-after"]


def _voxgate_spend(workdir: Path, *args: str) -> str:
    env = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db"), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "voxgate.cli", "spend", *args, "--config",
                           str(workdir / "voxgate.yaml")], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _refused_call(gateway: RunningProcess, parameters: dict[str, str]) -> tuple[int | None, str | None]:
    """A call that sends `start` and is closed: (close code, reason)."""
    async with connect(f"ws://127.0.0.1:{gateway.port}/v1/twilio/media-stream") as socket:
        await socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await socket.send(json.dumps(start_message(parameters)))
        async with asyncio.timeout(30):
            await socket.wait_closed()
    return socket.close_code, socket.close_reason


async def test_a_phone_call_under_a_virtual_key_holds_a_voice_slot_and_is_charged(
    priced_gateway: RunningProcess, librivox: list[Clip]
) -> None:
    key = await _new_key(priced_gateway, name="phones", max_voice_sessions=1, budget_usd={"day": 100.0})
    clip = min(librivox, key=lambda c: c.duration_s)
    async with connect(f"ws://127.0.0.1:{priced_gateway.port}/v1/twilio/media-stream") as socket:
        caller = Caller(socket)
        await caller.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await caller.send(start_message({"api_key": key["key"]}))
        await caller.speak(ulaw_8k(clip), real_time=False)
        await caller.speak(b"\xff" * 8000 * 2, real_time=False)  # two seconds of μ-law silence
        await caller.read_until("mark", timeout_s=120)
        assert await _refused_call(priced_gateway, {"api_key": key["key"]}) == (1013, "voice_session_limit")
        await caller.send({"event": "stop", "streamSid": STREAM_SID, "stop": {}})
        await socket.wait_closed()
    assert socket.close_code == 1000
    by_model = {row["model"]: row for row in await _spend(priced_gateway, key["id"], "model")}
    speech, llm = by_model[SPEECH_ENGINES], by_model["scripted"]
    assert speech["stt_s"] >= clip.duration_s * 0.9, "the caller's turn heard (at 8 kHz, resampled)"
    assert speech["tts_s"] > 0.5, "the reply spoken"
    assert speech["cost_usd"] == pytest.approx(speech["stt_s"] * STT_PER_MINUTE / 60
                                               + speech["tts_s"] * TTS_PER_MINUTE / 60, rel=1e-3)
    assert llm["requests"] == 1
    assert llm["prompt_tokens"] > 0

    assert await _refused_call(priced_gateway, {"api_key": "sk-vg-000000000000-wrong"}) == (1008, "invalid_api_key")
    assert await _refused_call(priced_gateway, {}) == (1008, "invalid_api_key"), "an admin key is set: not open"
    async with httpx.AsyncClient() as http:
        revoked = await http.delete(f"{priced_gateway.base_url}/v1/admin/keys/{key['id']}", headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    assert await _refused_call(priced_gateway, {"api_key": key["key"]}) == (1008, "revoked_api_key")
    assert key["key"] not in priced_gateway.log_path.read_text()
