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

from voxgate.voice.audio.codecs import pcm16_seconds
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.engine_view import EngineView
from voxgate.voice.engines.protocols import SpeechToText, TextToSpeech, Transcript


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


class MeteredSTT(EngineView[SpeechToText]):
    """A shared recogniser seen by one session: each transcription's audio is added to the meter."""

    def __init__(self, inner: SpeechToText, meter: SpeechMeter) -> None:
        super().__init__(inner)
        self._meter = meter

    async def transcribe(self, pcm16: bytes) -> Transcript:
        transcript = await self.inner.transcribe(pcm16)
        self._meter.stt_s += pcm16_seconds(len(pcm16), self.inner.sample_rate_hz)
        return transcript


class MeteredTTS(EngineView[TextToSpeech]):
    """A shared synthesiser seen by one session: the audio it yields is added to the meter."""

    def __init__(self, inner: TextToSpeech, meter: SpeechMeter) -> None:
        super().__init__(inner)
        self._meter = meter

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        async with contextlib.aclosing(self.inner.synthesize(text)) as pieces:
            async for pcm16 in pieces:
                self._meter.tts_s += pcm16_seconds(len(pcm16), self.inner.sample_rate_hz)
                yield pcm16


def engine_name(engine: SpeechToText | TextToSpeech) -> str:
    """The class name of the engine doing the work (a metered one's inner engine), for traces."""
    inner = engine.inner if isinstance(engine, MeteredSTT | MeteredTTS) else engine
    return type(inner).__name__


def metered_engines(engines: VoiceEngines, meter: SpeechMeter) -> VoiceEngines:
    """The same engines, their speech-to-text and text-to-speech counted into `meter`."""
    return replace(engines, stt=MeteredSTT(engines.stt, meter), tts=MeteredTTS(engines.tts, meter))
