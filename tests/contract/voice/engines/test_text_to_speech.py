"""What every TextToSpeech must do, whatever voice is behind it."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

from voxgate.voice.engines.protocols import TextToSpeech


async def _collect(tts: TextToSpeech, text: str) -> list[bytes]:
    async with contextlib.aclosing(tts.synthesize(text)) as chunks:
        return [chunk async for chunk in chunks]


def test_satisfies_the_protocol(tts: TextToSpeech) -> None:
    assert isinstance(tts, TextToSpeech)
    assert 8_000 <= tts.sample_rate_hz <= 48_000


async def test_load_is_idempotent(tts: TextToSpeech) -> None:
    await tts.load()
    await tts.load()


async def test_speech_is_non_silent_pcm16_of_plausible_length(tts: TextToSpeech) -> None:
    chunks = await _collect(tts, "Hello, this is a short test sentence.")
    assert chunks
    assert all(isinstance(chunk, bytes) and chunk and len(chunk) % 2 == 0 for chunk in chunks)
    samples = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float64) / 32768
    duration_s = samples.size / tts.sample_rate_hz
    assert 0.8 < duration_s < 6.0
    assert np.sqrt(np.mean(samples**2)) > 0.01


async def test_blank_text_gives_no_audio(tts: TextToSpeech) -> None:
    assert await _collect(tts, "") == []
    assert await _collect(tts, "  \n ") == []


async def test_closing_early_stops_and_the_engine_stays_usable(tts: TextToSpeech) -> None:
    long_text = " ".join(["This sentence is here to make the reply long."] * 6)
    async with contextlib.aclosing(tts.synthesize(long_text)) as chunks:
        async for chunk in chunks:
            assert chunk
            break
    assert await _collect(tts, "Still here.")


async def test_concurrent_syntheses(tts: TextToSpeech) -> None:
    first, second = await asyncio.gather(_collect(tts, "One two three."), _collect(tts, "Four five six."))
    assert first
    assert second
