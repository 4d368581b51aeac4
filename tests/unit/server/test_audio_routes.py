"""The audio endpoints on fake engines, in memory (Starlette's TestClient: no sockets, no models),
and their charges: spend rows of kind `audio`, a virtual key's budget and RPM."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from voxgate.config import Settings, VoiceSettings
from voxgate.core.clock import ManualClock
from voxgate.core.errors import VoxgateError
from voxgate.core.keys import BudgetPeriod, KeyPolicy, VirtualKey
from voxgate.core.types import SpeechPrice
from voxgate.server import audio_routes
from voxgate.server.errors import handle_voxgate_error
from voxgate.server.keys import STATE_KEY
from voxgate.server.limits import KeyGate
from voxgate.server.metrics import GatewayMetrics
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.audio.containers import decode_recording, wav_file
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()
PRICED = Settings(voice=VoiceSettings(price=SpeechPrice(stt_per_minute=6.0, tts_per_minute=12.0)))


def _client(transcripts: list[str]) -> TestClient:
    return TestClient(_app(transcripts, Settings()))


def _app(transcripts: list[str], settings: Settings) -> Starlette:
    app = Starlette(routes=[Route("/v1/audio/transcriptions", audio_routes.transcriptions, methods=["POST"]),
                            Route("/v1/audio/speech", audio_routes.speech, methods=["POST"])],
                    exception_handlers={VoxgateError: handle_voxgate_error})
    engines = VoiceEngines(stt=ScriptedSTT(transcripts), tts=ToneTTS(tone_ms_per_char=20), new_vad=EnergyVAD)
    clock = ManualClock(NOON_S)
    app.state.gateway = SimpleNamespace(settings=settings, voice=engines, clock=clock, key_gate=KeyGate(clock),
                                        decision_log=RecordedSpeech(), metrics=GatewayMetrics())
    return app


def _charged(transcripts: list[str], key: VirtualKey) -> tuple[TestClient, list[dict[str, Any]]]:
    """A client whose requests carry `key` (as the auth middleware leaves it), and the spend rows."""
    app = _app(transcripts, PRICED)

    async def keyed(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[STATE_KEY] = key
        await app(scope, receive, send)

    return TestClient(keyed), app.state.gateway.decision_log.rows


class RecordedSpeech:
    """The decision log's speech-row queue, kept in memory."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record_speech(self, entry: dict[str, Any]) -> None:
        self.rows.append(entry)


def _two_phrases() -> bytes:
    times_s = np.arange(16_000) / 16_000
    tone = 0.3 * np.sin(2 * np.pi * 300.0 * times_s)
    silence = np.zeros(16_000)
    return wav_file(float_to_pcm16(np.concatenate([silence, tone, silence, tone, silence])), 16_000)


def _transcribe(client: TestClient, **fields: str) -> tuple[int, str]:
    response = client.post("/v1/audio/transcriptions", data={"model": "whisper-1", **fields},
                           files={"file": ("two.wav", _two_phrases(), "audio/wav")})
    return response.status_code, response.text


def test_json_verbose_srt_and_vtt() -> None:
    assert json.loads(_transcribe(_client(["One.", "Two."]))[1]) == {
        "text": "One. Two.", "usage": {"type": "duration", "seconds": 5.0}}
    verbose = json.loads(_transcribe(_client(["One.", "Two."]), response_format="verbose_json")[1])
    assert [(s["id"], s["text"]) for s in verbose["segments"]] == [(0, "One."), (1, "Two.")]
    assert 0.6 <= verbose["segments"][0]["start"] <= 1.0 <= verbose["segments"][0]["end"] <= 2.6
    assert _transcribe(_client(["One.", "Two."]), response_format="text")[1] == "One. Two.\n"
    srt = _transcribe(_client(["One.", "Two."]), response_format="srt")[1]
    assert srt.startswith("1\n00:00:00,")
    assert "\n\n2\n00:00:0" in srt
    assert _transcribe(_client(["One.", "Two."]), response_format="vtt")[1].startswith("WEBVTT\n\n00:00:00.")


def test_stream_sends_a_delta_per_segment_then_done() -> None:
    status, body = _transcribe(_client(["One.", "Two."]), stream="true")
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]
    assert status == 200
    assert events == [{"type": "transcript.text.delta", "delta": "One."},
                      {"type": "transcript.text.delta", "delta": " Two."},
                      {"type": "transcript.text.done", "text": "One. Two."}]


@pytest.mark.parametrize("response_format", ["wav", "pcm", "mp3"])
def test_speech_comes_back_at_24_khz(response_format: str) -> None:
    response = _client([]).post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Hi there.",
                                                           "response_format": response_format})
    assert response.status_code == 200
    audio = response.content
    pcm = audio if response_format == "pcm" else decode_recording(audio, 24_000, max_duration_s=10)
    assert abs(len(pcm) / 2 - 24_000 * 0.02 * len("Hi there.")) < 2_400  # the tone voice: 20 ms per character


def test_voice_switched_off_is_a_503() -> None:
    client = _client([])
    client.app.state.gateway = SimpleNamespace(settings=Settings(), voice=None)  # type: ignore[attr-defined]
    response = client.post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Hi"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"


def _key(**policy: Any) -> VirtualKey:
    return VirtualKey(id="0123456789ab", name="team-a", key_hash="", created_at=0.0, policy=KeyPolicy(**policy))


@pytest.mark.parametrize("stream", ["false", "true"])
def test_a_transcription_is_charged_the_recordings_seconds_as_an_audio_request(stream: str) -> None:
    client, rows = _charged(["One.", "Two."], _key())
    assert _transcribe(client, stream=stream)[0] == 200
    (row,) = rows
    assert (row["kind"], row["engines"], row["key_id"]) == ("audio", "stt:whisper-base", "0123456789ab")
    assert (row["stt_s"], row["tts_s"]) == (5.0, 0.0), "the upload's duration, as usage.seconds says"
    assert row["cost_usd"] == pytest.approx(5.0 / 60 * 6.0)


def test_speech_is_charged_the_seconds_synthesised() -> None:
    client, rows = _charged([], _key())
    response = client.post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Hi there.",
                                                     "response_format": "pcm"})
    assert response.status_code == 200
    (row,) = rows
    assert (row["kind"], row["engines"]) == ("audio", "tts:piper")
    assert row["tts_s"] == pytest.approx(len(response.content) / 2 / 24_000, abs=0.01)
    assert row["cost_usd"] == pytest.approx(row["tts_s"] / 60 * 12.0)


def test_a_key_past_its_budget_or_rpm_gets_429_before_any_work() -> None:
    client, rows = _charged(["One.", "Two."], _key(budget_usd={BudgetPeriod.DAY: 0.5}, rpm=2))
    status, _ = _transcribe(client)
    assert status == 200, "5 s at 0.1 USD a second: past the budget after it"
    status, body = _transcribe(client)
    assert status == 429
    assert json.loads(body)["error"]["code"] == "insufficient_quota"
    assert len(rows) == 1, "refused before any work: nothing charged"
    limited, _ = _charged([], _key(rpm=1))
    speak = {"model": "tts-1", "voice": "alloy", "input": "Hi."}
    assert limited.post("/v1/audio/speech", json=speak).headers["x-ratelimit-remaining-requests"] == "0"
    refused = limited.post("/v1/audio/speech", json=speak)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"]
