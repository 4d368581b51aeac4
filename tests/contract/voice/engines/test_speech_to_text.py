"""What every SpeechToText must do, whatever model is behind it."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.protocols import SpeechToText, Transcript


def _quiet_noise_pcm16(duration_s: float, rate_hz: int) -> bytes:
    noise = np.random.default_rng(3).normal(0.0, 0.001, int(duration_s * rate_hz))
    return float_to_pcm16(noise)


def test_satisfies_the_protocol(stt: SpeechToText) -> None:
    assert isinstance(stt, SpeechToText)
    assert stt.sample_rate_hz == 16_000


async def test_load_is_idempotent(stt: SpeechToText) -> None:
    await stt.load()
    await stt.load()


async def test_empty_audio_gives_an_empty_transcript(stt: SpeechToText) -> None:
    transcript = await stt.transcribe(b"")
    assert transcript.duration_s == 0.0
    assert isinstance(transcript.language, str)


async def test_reports_the_audio_duration(stt: SpeechToText) -> None:
    transcript = await stt.transcribe(_quiet_noise_pcm16(1.5, stt.sample_rate_hz))
    assert isinstance(transcript, Transcript)
    assert isinstance(transcript.text, str)
    assert transcript.text == transcript.text.strip()
    assert transcript.duration_s == pytest.approx(1.5)


async def test_odd_byte_count_is_an_invalid_request(stt: SpeechToText) -> None:
    with pytest.raises(InvalidRequestError):
        await stt.transcribe(b"\x00\x01\x02")


async def test_concurrent_calls_do_not_block_the_event_loop(stt: SpeechToText) -> None:
    audio = _quiet_noise_pcm16(1.0, stt.sample_rate_hz)
    await stt.load()
    loop = asyncio.get_running_loop()
    gaps_s: list[float] = []

    async def tick() -> None:
        last_s = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now_s = loop.time()
            gaps_s.append(now_s - last_s)
            last_s = now_s

    async with asyncio.TaskGroup() as group:
        ticker = group.create_task(tick())
        results = await asyncio.gather(stt.transcribe(audio), stt.transcribe(audio))
        ticker.cancel()
    assert [r.duration_s for r in results] == [1.0, 1.0]
    assert max(gaps_s, default=0.0) < 0.25  # the loop kept turning while the model ran
