"""Seconds of audio a session's speech engines handled, for charging them (`server/speech_spend`).

    meter = SpeechMeter()
    engines = metered_engines(shared_engines, meter)   # one per session; the engines stay shared
    ...
    stt_s, tts_s = meter.take()                         # what was used since the last take

`MeteredSTT` counts the audio of every `transcribe` call that returned (a speculative transcript
too: the recogniser did the work), `MeteredTTS` the audio each synthesis yielded, stopped early
(barge-in) or not. Counts come from the PCM's length, never from the words.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace

from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.protocols import SpeechToText, TextToSpeech, Transcript

PCM16_BYTES_PER_SAMPLE = 2


def pcm16_seconds(pcm16_bytes: int, sample_rate_hz: int) -> float:
    """Seconds of mono 16-bit audio in `pcm16_bytes` bytes."""
    return pcm16_bytes / PCM16_BYTES_PER_SAMPLE / sample_rate_hz


@dataclass
class SpeechMeter:
    """Seconds transcribed and synthesised since the last `take` (owned by one session)."""

    stt_s: float = 0.0
    tts_s: float = 0.0

    def take(self) -> tuple[float, float]:
        """(stt_s, tts_s) counted so far, and start again from zero."""
        used = (self.stt_s, self.tts_s)
        self.stt_s = self.tts_s = 0.0
        return used


class MeteredSTT:
    """A shared recogniser seen by one session: each transcription's audio is added to the meter."""

    def __init__(self, inner: SpeechToText, meter: SpeechMeter) -> None:
        self.inner = inner
        self._meter = meter

    @property
    def sample_rate_hz(self) -> int:
        return self.inner.sample_rate_hz

    async def load(self) -> None:
        await self.inner.load()

    async def transcribe(self, pcm16: bytes) -> Transcript:
        transcript = await self.inner.transcribe(pcm16)
        self._meter.stt_s += pcm16_seconds(len(pcm16), self.inner.sample_rate_hz)
        return transcript

    def close(self) -> None:
        """Nothing: the shared recogniser is closed by its owner (the gateway)."""


class MeteredTTS:
    """A shared synthesiser seen by one session: the audio it yields is added to the meter."""

    def __init__(self, inner: TextToSpeech, meter: SpeechMeter) -> None:
        self.inner = inner
        self._meter = meter

    @property
    def sample_rate_hz(self) -> int:
        return self.inner.sample_rate_hz

    async def load(self) -> None:
        await self.inner.load()

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        async with contextlib.aclosing(self.inner.synthesize(text)) as pieces:
            async for pcm16 in pieces:
                self._meter.tts_s += pcm16_seconds(len(pcm16), self.inner.sample_rate_hz)
                yield pcm16

    def close(self) -> None:
        """Nothing: the shared synthesiser is closed by its owner (the gateway)."""


def engine_name(engine: SpeechToText | TextToSpeech) -> str:
    """The class name of the engine doing the work (a metered one's inner engine), for traces."""
    inner = engine.inner if isinstance(engine, MeteredSTT | MeteredTTS) else engine
    return type(inner).__name__


def metered_engines(engines: VoiceEngines, meter: SpeechMeter) -> VoiceEngines:
    """The same engines, their speech-to-text and text-to-speech counted into `meter`."""
    return replace(engines, stt=MeteredSTT(engines.stt, meter), tts=MeteredTTS(engines.tts, meter))
