"""Engines for tests: deterministic, instant, no model files. They pass the same contract suite
(`tests/contract/voice/engines`) as the real engines, so a session test can swap them in.

    EnergyVAD          speech probability from frame loudness (a tone or noise counts as speech)
    ScriptedSTT        returns the next scripted transcript (with `signals` if given), records the audio
    ToneTTS            "speaks" a 440 Hz tone, `tone_ms_per_char` per character, in chunks
    FixedEndOfTurn     an audio end-of-turn model that always answers `probability`
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Iterable

import numpy as np
import numpy.typing as npt

from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_samples, pcm16_seconds
from voxgate.voice.engines.protocols import DecodeSignals, Transcript


class EnergyVAD:
    """VoiceActivityDetector: RMS level mapped to [0, 1]; `speech_rms` and louder give 1."""

    def __init__(
        self, sample_rate_hz: int = 16_000, frame_samples: int = 512, speech_rms: float = 0.02
    ) -> None:
        self._sample_rate_hz = sample_rate_hz
        self._frame_samples = frame_samples
        self._speech_rms = speech_rms

    @property
    def sample_rate_hz(self) -> int:
        return self._sample_rate_hz

    @property
    def frame_samples(self) -> int:
        return self._frame_samples

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        if frame.shape != (self._frame_samples,):
            raise ValueError(f"a frame must hold {self._frame_samples} samples, got shape {frame.shape}")
        rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
        return min(1.0, rms / self._speech_rms)

    def reset(self) -> None:
        """Stateless: nothing to forget."""


class ScriptedSTT:
    """SpeechToText that answers from a script (then "" when it runs out), after `delay_s`."""

    def __init__(
        self, transcripts: Iterable[str] = (), *, delay_s: float = 0.0, language: str = "en",
        signals: DecodeSignals | None = None,
    ) -> None:
        self._script = deque(transcripts)
        self._signals = signals
        self._delay_s = delay_s
        self._language = language
        self.received: list[bytes] = []
        self.closed = False

    @property
    def sample_rate_hz(self) -> int:
        return 16_000

    async def load(self) -> None:
        """Nothing to load."""

    async def transcribe(self, pcm16: bytes) -> Transcript:
        pcm16_samples(pcm16)  # same validation as a real engine
        self.received.append(pcm16)
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        if not pcm16:
            return Transcript(text="", language=self._language, duration_s=0.0)
        text = self._script.popleft() if self._script else ""
        return Transcript(text=text, language=self._language, duration_s=pcm16_seconds(len(pcm16), self.sample_rate_hz),
                          signals=self._signals)

    def close(self) -> None:
        self.closed = True


class ToneTTS:
    """TextToSpeech that yields a tone whose length follows the text, in `chunk_ms` pieces."""

    def __init__(
        self, sample_rate_hz: int = 24_000, *, tone_ms_per_char: int = 40, chunk_ms: int = 100
    ) -> None:
        self._sample_rate_hz = sample_rate_hz
        self._tone_ms_per_char = tone_ms_per_char
        self._chunk_samples = max(1, sample_rate_hz * chunk_ms // 1000)
        self.spoken: list[str] = []
        self.closed = False

    @property
    def sample_rate_hz(self) -> int:
        return self._sample_rate_hz

    async def load(self) -> None:
        """Nothing to load."""

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        if not text.strip():
            return
        self.spoken.append(text)
        total = self._sample_rate_hz * self._tone_ms_per_char * len(text.strip()) // 1000
        times_s = np.arange(total, dtype=np.float64) / self._sample_rate_hz
        tone = 0.3 * np.sin(2 * np.pi * 440.0 * times_s)
        for start in range(0, total, self._chunk_samples):
            await asyncio.sleep(0)
            yield float_to_pcm16(tone[start : start + self._chunk_samples])

    def close(self) -> None:
        self.closed = True


class FixedEndOfTurn:
    """EndOfTurnModel: the same probability for every turn; records the audio it was given."""

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.calls: list[bytes] = []

    @property
    def sample_rate_hz(self) -> int:
        return 16_000

    async def load(self) -> None:
        return None

    async def probability_finished(self, pcm16: bytes) -> float:
        self.calls.append(pcm16)
        await asyncio.sleep(0)
        return self.probability

    def close(self) -> None:
        return None
