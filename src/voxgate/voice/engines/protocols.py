"""The speech engines' protocols: what any voice activity detector, recogniser or synthesiser offers.

Implementations are named for what they wrap (`SileroVAD`, `WhisperSTT`, `PiperTTS`, `EspeakTTS`);
fakes for tests live in `voxgate.voice.engines.testing`; every implementation passes the suite in
`tests/contract/voice/engines`.

Sharing: a `SpeechToText` or `TextToSpeech` is loaded once per process and shared by all sessions;
its methods are safe to call concurrently and never block the event loop (blocking work runs in
the engine's own worker threads). A `VoiceActivityDetector` carries per-stream state: one per
session, cheap to create.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class DecodeSignals:
    """How sure the recogniser was of its words, for telling speech from invented text.

    `no_speech_probability`: the model's own belief that the window held no speech;
    `average_logprob`: mean log-probability per text token; `compression_ratio`: the text's
    gzip ratio (a decoder repeating itself compresses well)."""

    no_speech_probability: float
    average_logprob: float
    compression_ratio: float


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard. `text` is user content: never log it.

    `signals`: the decode's confidence, when the recogniser reports it; `withheld`: why a filter
    (`hallucinations.GuardedSTT`) emptied `text` (reason names only, never the words)."""

    text: str
    language: str
    duration_s: float
    signals: DecodeSignals | None = None
    withheld: tuple[str, ...] = ()


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Speech probability for fixed-size frames of one mono float32 stream (stateful)."""

    @property
    def sample_rate_hz(self) -> int: ...

    @property
    def frame_samples(self) -> int: ...

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        """Probability in [0, 1] that `frame` (exactly `frame_samples` long) holds speech."""
        ...

    def reset(self) -> None:
        """Forget the stream so far, before an unrelated stream."""
        ...


@runtime_checkable
class SpeechToText(Protocol):
    """Transcribes one utterance of 16-bit little-endian mono PCM at `sample_rate_hz`."""

    @property
    def sample_rate_hz(self) -> int: ...

    async def load(self) -> None:
        """Load the model now (idempotent); otherwise the first `transcribe` loads it."""
        ...

    async def transcribe(self, pcm16: bytes) -> Transcript: ...

    def close(self) -> None:
        """Release worker threads; a call still running finishes first."""
        ...


@runtime_checkable
class TextToSpeech(Protocol):
    """Synthesises text as 16-bit little-endian mono PCM at `sample_rate_hz`, streamed in pieces."""

    @property
    def sample_rate_hz(self) -> int: ...

    async def load(self) -> None:
        """Load the voice now (idempotent); otherwise the first `synthesize` loads it."""
        ...

    def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Yield PCM16 chunks as they are ready; `aclose()` stops synthesis (barge-in).

        Iterate inside `contextlib.aclosing(...)`, so an abandoned stream stops at once rather than
        when the garbage collector finds it.
        """
        ...

    def close(self) -> None:
        """Release worker threads and processes."""
        ...


@runtime_checkable
class EndOfTurnModel(Protocol):
    """Judges from the sound of a turn so far (16 kHz mono PCM16) whether the speaker has finished."""

    @property
    def sample_rate_hz(self) -> int: ...

    async def load(self) -> None: ...

    async def probability_finished(self, pcm16: bytes) -> float:
        """0..1: how likely the turn is over."""
        ...

    def close(self) -> None: ...
