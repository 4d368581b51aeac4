"""The audio endpoints on fake engines, in memory (Starlette's TestClient: no sockets, no models)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from voxgate.config import Settings
from voxgate.core.errors import VoxgateError
from voxgate.server import audio_routes
from voxgate.server.errors import handle_voxgate_error
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.audio.containers import decode_recording, wav_file
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS


def _client(transcripts: list[str]) -> TestClient:
    app = Starlette(routes=[Route("/v1/audio/transcriptions", audio_routes.transcriptions, methods=["POST"]),
                            Route("/v1/audio/speech", audio_routes.speech, methods=["POST"])],
                    exception_handlers={VoxgateError: handle_voxgate_error})
    engines = VoiceEngines(stt=ScriptedSTT(transcripts), tts=ToneTTS(tone_ms_per_char=20), new_vad=EnergyVAD)
    app.state.gateway = SimpleNamespace(settings=Settings(), voice=engines)
    return TestClient(app)


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
