"""The remote (OpenAI audio API) engines' requests and answers, over httpx's in-memory transport."""

from __future__ import annotations

import json

import httpx
import pytest

from voxgate.core.errors import BackendError, BackendStatusError
from voxgate.voice.engines.openai_audio import OpenAIAudioSTT, OpenAIAudioTTS, RemoteAudioConfig

CONFIG = RemoteAudioConfig(base_url="https://audio.example/v1/", api_key="sk-remote", voice="nova")


async def test_a_turn_is_uploaded_as_wav_with_the_model_and_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"text": " hello there "})

    stt = OpenAIAudioSTT(CONFIG, transport=httpx.MockTransport(answer))
    try:
        transcript = await stt.transcribe(b"\x01\x00" * 1600)
        empty = await stt.transcribe(b"")
    finally:
        stt.close()
    assert (transcript.text, transcript.duration_s, empty.text) == ("hello there", 0.1, "")
    assert len(seen) == 1
    request = seen[0]
    assert str(request.url) == "https://audio.example/v1/audio/transcriptions"
    assert request.headers["authorization"] == "Bearer sk-remote"
    body = request.read()
    assert b'name="model"\r\n\r\nwhisper-1' in body
    assert b"RIFF" in body
    assert b"WAVE" in body


@pytest.mark.parametrize(
    ("response", "error"),
    [(httpx.Response(500, json={"error": {}}), BackendStatusError), (httpx.Response(200, json={}), BackendError)],
)
async def test_remote_failures_are_backend_errors(response: httpx.Response, error: type[BackendError]) -> None:
    stt = OpenAIAudioSTT(CONFIG, transport=httpx.MockTransport(lambda request: response))
    try:
        with pytest.raises(error):
            await stt.transcribe(b"\0\0" * 160)
    finally:
        stt.close()


async def test_speech_is_asked_for_as_pcm_and_yielded_in_even_pieces() -> None:
    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.read()))
        return httpx.Response(200, content=b"\x01" * 9_601, headers={"content-type": "audio/pcm"})

    tts = OpenAIAudioTTS(CONFIG, transport=httpx.MockTransport(answer))
    try:
        pieces = [piece async for piece in tts.synthesize("Good evening.")]
        nothing = [piece async for piece in tts.synthesize("   ")]
    finally:
        tts.close()
    assert seen == [{"model": "tts-1", "voice": "nova", "input": "Good evening.", "response_format": "pcm"}]
    assert all(len(piece) % 2 == 0 for piece in pieces)
    assert sum(map(len, pieces)) == 9_600  # a trailing odd byte is not a sample
    assert nothing == []
    assert tts.sample_rate_hz == 24_000
