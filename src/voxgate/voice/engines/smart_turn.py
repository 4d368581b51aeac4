"""End of turn from the sound of the speech: smart-turn v3.2 (ONNX, BSD-2-Clause) on the turn's last 8 s.

    model = SmartTurn()
    await model.load()
    probability = await model.probability_finished(pcm16_16k)   # 0..1: the speaker has finished

smart-turn is a Whisper-tiny encoder with a classifier head, trained on where people stop
talking: intonation and rhythm, not words. Its input is Whisper's 80-bin log-mel of exactly 8 s at
16 kHz, the audio left-padded with silence (or cut to its last 8 s) and normalised to zero mean
and unit variance first; faster-whisper's feature extractor computes the same features as the
reference (`transformers.WhisperFeatureExtractor(chunk_length=8)`), so nothing else is needed
besides onnxruntime. The weights ship inside the `pipecat-ai` wheel, installed `--no-deps`
(`voice.engines.bundled_weights.smart_turn_model`). One instance per process, shared; inference
runs in its own worker thread, one intra-op thread, no spin-waiting (like Piper's). Audio is user
content: nothing here logs it.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxgate.core.errors import ModelAssemblyError
from voxgate.voice.audio.codecs import pcm16_to_float
from voxgate.voice.engines.bundled_weights import smart_turn_model

SAMPLE_RATE_HZ = 16_000
WINDOW_S = 8
_NORMALISE_EPSILON = 1e-7


def model_window(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The last `WINDOW_S` seconds, left-padded with silence, normalised (the model's input audio)."""
    size = WINDOW_S * SAMPLE_RATE_HZ
    window = np.zeros(size, dtype=np.float32)
    tail = samples[-size:]
    window[size - tail.size :] = tail
    normalised: npt.NDArray[np.float32] = ((window - window.mean()) / np.sqrt(window.var() + _NORMALISE_EPSILON))
    return normalised.astype(np.float32)


class SmartTurn:
    """EndOfTurnModel backed by smart-turn v3.2 on onnxruntime."""

    def __init__(self, model_path: Path | None = None) -> None:
        self._model_path = model_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxgate-smart-turn")
        self._load_lock = threading.Lock()
        self._session: Any = None
        self._features: Any = None

    @property
    def sample_rate_hz(self) -> int:
        return SAMPLE_RATE_HZ

    async def load(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._ensure_loaded)

    async def probability_finished(self, pcm16: bytes) -> float:
        """How likely the speaker has finished their turn, from 16 kHz mono PCM16 of the turn so far."""
        samples = pcm16_to_float(pcm16)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._predict, samples)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _predict(self, samples: npt.NDArray[np.float32]) -> float:
        session, features = self._ensure_loaded()
        log_mel = features(model_window(samples), padding=0)[:, : WINDOW_S * 100]
        outputs = session.run(None, {"input_features": log_mel[np.newaxis].astype(np.float32)})
        return float(np.asarray(outputs[0]).reshape(-1)[0])

    def _ensure_loaded(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._session is None:
                self._session, self._features = self._load()
            return self._session, self._features

    def _load(self) -> tuple[Any, Any]:
        try:
            import onnxruntime  # type: ignore[import-untyped]
            from faster_whisper.feature_extractor import FeatureExtractor  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ModelAssemblyError("smart-turn needs onnxruntime and faster-whisper") from exc
        path = self._model_path or smart_turn_model()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own, unrelated exception types
            raise ModelAssemblyError(f"cannot load the smart-turn model {path.name}: {exc}") from exc
        return session, FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
