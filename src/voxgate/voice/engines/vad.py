"""From speech probabilities to speech started / stopped events, on a sample-count clock.

    VadSegmenter     pure: one probability per frame in, SpeechStarted / SpeechStopped out
    SpeechDetector   splits a 16 kHz float32 stream into frames, asks a VoiceActivityDetector,
                     feeds the segmenter

Time is counted in samples since the stream began, never read from a wall clock, so a test that
feeds an hour of audio in a millisecond gets the same events as a live microphone.

Speech starts on the first frame whose probability reaches `threshold`; `audio_start_ms` is moved
back by `prefix_padding_ms` (not before 0). Speech stops once probabilities stay below
`threshold - hysteresis` for `silence_duration_ms`; `audio_end_ms` is the time of that decision,
so it includes the silence, as in the OpenAI Realtime API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxgate.voice.engines.protocols import VoiceActivityDetector


@dataclass(frozen=True)
class SpeechStarted:
    """Voice activity began; `audio_start_ms` includes the prefix padding."""

    audio_start_ms: int = 0


@dataclass(frozen=True)
class SpeechStopped:
    """Voice activity ended; `audio_end_ms` includes the trailing silence."""

    audio_end_ms: int = 0


SpeechEvent = SpeechStarted | SpeechStopped


@dataclass(frozen=True)
class VadConfig:
    """server_vad settings; defaults are the OpenAI Realtime API's."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    hysteresis: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.prefix_padding_ms < 0 or self.silence_duration_ms < 0:
            raise ValueError("prefix_padding_ms and silence_duration_ms must not be negative")

    @property
    def release_threshold(self) -> float:
        """Probability below which a frame counts as silence once speech has started."""
        return max(0.0, self.threshold - self.hysteresis)


class VadSegmenter:
    """Turns per-frame speech probabilities into speech events. Pure apart from its own counters."""

    def __init__(self, config: VadConfig, sample_rate_hz: int = 16_000) -> None:
        self._config = config
        self._sample_rate_hz = sample_rate_hz
        self._clock_samples = 0
        self._speaking = False
        self._silence_samples = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def silence_ms(self) -> int:
        """How long speech has been below the release threshold (0 when not speaking or speech goes on)."""
        return self._samples_to_ms(self._silence_samples) if self._speaking else 0

    @property
    def clock_ms(self) -> int:
        """Milliseconds of audio seen so far."""
        return self._samples_to_ms(self._clock_samples)

    def push(self, probability: float, frame_samples: int) -> SpeechEvent | None:
        """Account one frame of `frame_samples` samples with its speech probability."""
        frame_start = self._clock_samples
        self._clock_samples += frame_samples
        if not self._speaking:
            if probability >= self._config.threshold:
                self._speaking = True
                self._silence_samples = 0
                start_ms = self._samples_to_ms(frame_start) - self._config.prefix_padding_ms
                return SpeechStarted(audio_start_ms=max(0, start_ms))
            return None
        if probability >= self._config.release_threshold:
            self._silence_samples = 0
            return None
        self._silence_samples += frame_samples
        if self._samples_to_ms(self._silence_samples) >= self._config.silence_duration_ms:
            self._speaking = False
            self._silence_samples = 0
            return SpeechStopped(audio_end_ms=self.clock_ms)
        return None

    def reset(self) -> None:
        """Forget any speech in progress (the input buffer was cleared or committed); keep the clock."""
        self._speaking = False
        self._silence_samples = 0

    def end_speech(self) -> SpeechStopped | None:
        """End the speech in progress now (semantic end of turn); None when nobody is speaking."""
        if not self._speaking:
            return None
        self.reset()
        return SpeechStopped(audio_end_ms=self.clock_ms)

    def _samples_to_ms(self, samples: int) -> int:
        return samples * 1000 // self._sample_rate_hz


class SpeechDetector:
    """Frames a mono float32 stream for a VoiceActivityDetector and segments its verdicts."""

    def __init__(self, detector: VoiceActivityDetector, config: VadConfig) -> None:
        self._detector = detector
        self._segmenter = VadSegmenter(config, detector.sample_rate_hz)
        self._pending: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self.last_probability = 0.0

    @property
    def speaking(self) -> bool:
        return self._segmenter.speaking

    @property
    def clock_ms(self) -> int:
        return self._segmenter.clock_ms

    @property
    def silence_ms(self) -> int:
        return self._segmenter.silence_ms

    def feed(self, samples: npt.NDArray[np.float32]) -> list[SpeechEvent]:
        """Add samples at the detector's rate; return the events whole frames produced."""
        frame_samples = self._detector.frame_samples
        pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        whole = pending.size - pending.size % frame_samples
        events: list[SpeechEvent] = []
        for start in range(0, whole, frame_samples):
            frame = np.ascontiguousarray(pending[start : start + frame_samples])
            self.last_probability = self._detector.speech_probability(frame)
            event = self._segmenter.push(self.last_probability, frame_samples)
            if event is not None:
                events.append(event)
        self._pending = pending[whole:].copy()
        return events

    def end_speech(self) -> SpeechStopped | None:
        return self._segmenter.end_speech()

    def reset(self) -> None:
        """Forget speech in progress and the detector's stream state; keep the clock."""
        self._segmenter.reset()
        self._detector.reset()
