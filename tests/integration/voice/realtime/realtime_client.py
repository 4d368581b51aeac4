"""Driving voxgate's realtime API with the official `openai` SDK: stream audio at real-time pace,
collect every server event, wait for the ones a test cares about."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from tests.support.realtime_events import EventRecorder
from voxgate.voice.audio.codecs import encode_ulaw, float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample

CHUNK_MS = 100
WAIT_S = 120.0


class EventLog(EventRecorder):
    """Every server event as a plain dict, in arrival order (a background task reads them)."""

    def __init__(self, connection: Any) -> None:
        super().__init__(timeout_s=WAIT_S)
        self.connection = connection

    async def read_forever(self) -> None:
        async for event in self.connection:
            await self.record(event.model_dump(mode="json"))


@contextlib.asynccontextmanager
async def reading(connection: Any) -> AsyncIterator[EventLog]:
    log = EventLog(connection)
    task = asyncio.create_task(log.read_forever())
    try:
        yield log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def to_rate(pcm16_16k: bytes, rate_hz: int) -> bytes:
    return float_to_pcm16(resample(pcm16_to_float(pcm16_16k), 16_000, rate_hz))


async def stream_audio(connection: Any, audio: bytes, bytes_per_s: int, *, real_time: bool = True) -> None:
    """Append `audio` in 100 ms chunks, paced at real time unless `real_time` is False."""
    chunk = bytes_per_s * CHUNK_MS // 1000
    for start in range(0, len(audio), chunk):
        encoded = base64.b64encode(audio[start : start + chunk]).decode()
        await connection.input_audio_buffer.append(audio=encoded)
        await asyncio.sleep(CHUNK_MS / 1000 if real_time else 0)


async def stream_clip(connection: Any, pcm16_16k: bytes, *, ulaw: bool = False, silence_s: float = 1.0) -> None:
    """A real-speech clip at real-time pace, then `silence_s` of silence sent fast."""
    rate_hz = 8_000 if ulaw else 24_000
    speech = to_rate(pcm16_16k, rate_hz)
    silence = bytes(2 * int(rate_hz * silence_s))
    if ulaw:
        speech, silence = encode_ulaw(speech), encode_ulaw(silence)
    bytes_per_s = rate_hz if ulaw else 2 * rate_hz
    await stream_audio(connection, speech, bytes_per_s)
    await stream_audio(connection, silence, bytes_per_s, real_time=False)


def audio_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(base64.b64decode(e["delta"]) for e in events)


def peak(pcm16: bytes) -> int:
    samples = np.frombuffer(pcm16, dtype="<i2")
    return int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0
