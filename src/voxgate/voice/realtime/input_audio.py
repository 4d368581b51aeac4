"""A session's input audio buffer: decode, resample to 16 kHz, detect speech, keep what a commit takes.

    audio = InputAudio(AudioFormat.PCM16, vad, VadConfig(...), max_buffered_s=600)
    events = audio.append(raw_bytes)     # SpeechStarted / SpeechStopped from the VAD (if enabled)
    pcm16_16k = audio.take()             # the committed turn, 16 kHz PCM16, buffer emptied
    audio.clear()

While nobody speaks, only the last `prefix_padding_ms` of audio is kept, so a long silence never
fills the buffer; when speech starts the buffer is cut back to the speech's `audio_start_ms`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_samples
from voxgate.voice.audio.formats import AudioFormat, decode_to_pcm16
from voxgate.voice.audio.resample import StreamingResampler
from voxgate.voice.engines.protocols import VoiceActivityDetector
from voxgate.voice.engines.vad import SpeechDetector, SpeechEvent, SpeechStarted, VadConfig

STT_RATE_HZ = 16_000
_SAMPLES_PER_MS = STT_RATE_HZ // 1000


class InputAudio:
    def __init__(self, audio_format: AudioFormat, vad: VoiceActivityDetector, vad_config: VadConfig | None,
                 *, max_buffered_s: float) -> None:
        self._format = audio_format
        self._resampler = StreamingResampler(audio_format.sample_rate_hz, STT_RATE_HZ)
        self._vad = vad
        self._vad_config = vad_config
        self._detector = SpeechDetector(vad, vad_config) if vad_config else None
        self._max_samples = int(max_buffered_s * STT_RATE_HZ)
        self._buffer: list[npt.NDArray[np.float32]] = []
        self._buffered = 0
        self._buffer_start_ms = 0  # on the detector's clock
        self._clock_ms = 0

    @property
    def audio_format(self) -> AudioFormat:
        return self._format

    @property
    def buffered_ms(self) -> int:
        return self._buffered // _SAMPLES_PER_MS

    @property
    def clock_ms(self) -> int:
        """Milliseconds of input audio received in this session."""
        return self._clock_ms

    def reconfigure(self, audio_format: AudioFormat, vad_config: VadConfig | None) -> None:
        """Apply a session.update: a new input format or turn detection starts a fresh stream state."""
        if audio_format is not self._format:
            self._format = audio_format
            self._resampler = StreamingResampler(audio_format.sample_rate_hz, STT_RATE_HZ)
        if vad_config != self._vad_config:
            self._vad_config = vad_config
            self._vad.reset()
            self._detector = SpeechDetector(self._vad, vad_config) if vad_config else None
            self.clear()

    def append(self, raw: bytes) -> list[SpeechEvent]:
        """Add input audio; return the speech events it completes (none when VAD is off)."""
        samples_in = pcm16_samples(decode_to_pcm16(raw, self._format)).astype(np.float32) / np.float32(32768.0)
        samples = self._resampler.process(samples_in)
        if self._buffered + samples.size > self._max_samples and (self._detector is None or self._detector.speaking):
            raise InvalidRequestError(
                f"the input audio buffer holds at most {self._max_samples // STT_RATE_HZ} s; commit or clear it.",
                param="audio", code="input_audio_buffer_full",
            )
        self._buffer.append(samples)
        self._buffered += samples.size
        self._clock_ms += samples.size // _SAMPLES_PER_MS
        if self._detector is None:
            return []
        events = self._detector.feed(samples)
        for event in events:
            if isinstance(event, SpeechStarted):
                self._drop_before(event.audio_start_ms)
        if not self._detector.speaking and not events:
            assert self._vad_config is not None
            self._drop_before(self._detector.clock_ms - self._vad_config.prefix_padding_ms)
        return events

    def end_speech(self) -> SpeechEvent | None:
        """With server VAD: end the speech in progress now (semantic end of turn)."""
        return self._detector.end_speech() if self._detector is not None else None

    @property
    def speaking(self) -> bool:
        """With server VAD: speech is in progress (its pause included, until the VAD ends it)."""
        return self._detector is not None and self._detector.speaking

    @property
    def trailing_silence_ms(self) -> int:
        """With server VAD: how long the current speech has been silent (0 when nobody speaks)."""
        return self._detector.silence_ms if self._detector is not None else 0

    def peek(self) -> bytes:
        """The buffered audio as 16 kHz PCM16, left in the buffer."""
        return float_to_pcm16(np.concatenate(self._buffer)) if self._buffer else b""

    def take(self) -> bytes:
        """Return the buffered audio as 16 kHz PCM16 and empty the buffer."""
        audio = np.concatenate(self._buffer) if self._buffer else np.zeros(0, dtype=np.float32)
        self._reset_buffer()
        return float_to_pcm16(audio)

    def clear(self) -> None:
        self._reset_buffer()

    def _reset_buffer(self) -> None:
        self._buffer = []
        self._buffered = 0
        self._buffer_start_ms = self._detector.clock_ms if self._detector else self._clock_ms

    def _drop_before(self, start_ms: int) -> None:
        drop = (start_ms - self._buffer_start_ms) * _SAMPLES_PER_MS
        if drop <= 0 or not self._buffer:
            return
        audio = np.concatenate(self._buffer)
        drop = min(drop, audio.size)
        self._buffer = [audio[drop:]]
        self._buffered = audio.size - drop
        self._buffer_start_ms += drop // _SAMPLES_PER_MS
