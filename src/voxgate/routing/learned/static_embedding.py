"""Static token embeddings: the router's fast prompt embedder.

`WordLlamaEmbedder` reads the 256-dimensional token table that the `wordllama` PyPI package
ships (`l2_supercat_256.safetensors`: a vector per token of Llama-2's 32,000-token vocabulary,
trained for sentence similarity from several LLMs' input embeddings) with numpy, tokenises
with its bundled Llama-2 tokenizer (`tokenizers`, already a dependency of faster-whisper) and
averages the token vectors. Nothing of `wordllama`
is imported: only its two data files are used, so no network or torch is ever touched.

An average of token vectors costs ~20 µs for a short prompt on this machine against ~17 ms for
one pass of multilingual-e5-small (`bench/routing_decision.py`), which is what lets a routing
decision, embedding included, stay within DESIGN's 10 ms.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from voxgate.core.errors import ConfigError
from voxgate.models.weights import installed_distribution
from voxgate.routing.learned.embedding import FOCUS_MAX_CHARS, FloatArray, focus_text, unit_rows

PACKAGE = "wordllama"
TABLE_FILE = "wordllama/weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "wordllama/tokenizers/l2_supercat_tokenizer_config.json"
TABLE_TENSOR = "embedding.weight"
_SAFETENSORS_DTYPES = {"F16": np.float16, "F32": np.float32}


def read_safetensors_tensor(raw: bytes, name: str, path: Path) -> np.ndarray:
    """One tensor of the bytes of a .safetensors file (8-byte header length, JSON header, raw data)."""
    if len(raw) < 8:
        raise ConfigError(f"{path} is not a safetensors file (only {len(raw)} bytes)")
    header_bytes = struct.unpack("<Q", raw[:8])[0]
    try:
        header: dict[str, Any] = json.loads(raw[8 : 8 + header_bytes])
        entry = header[name]
        dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
        start, end = (8 + header_bytes + int(offset) for offset in entry["data_offsets"])
        shape = tuple(int(size) for size in entry["shape"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} has no readable tensor {name!r}: {exc}") from exc
    if end > len(raw) or end - start != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        raise ConfigError(f"{path}: tensor {name!r} does not fit its declared shape {shape}; reinstall {PACKAGE}")
    return np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=start).reshape(shape)


class WordLlamaEmbedder:
    """Mean of WordLlama's token vectors over the focused prompt (with Llama-2's `<s>`), L2-normalised."""

    cpu_heavy = False  # ~20 µs a prompt

    def __init__(self, max_chars: int = FOCUS_MAX_CHARS) -> None:
        from tokenizers import Tokenizer  # faster-whisper's dependency; typed loosely below

        distribution = installed_distribution(PACKAGE, "the router's prompt embeddings")
        table_path = Path(str(distribution.locate_file(TABLE_FILE)))
        tokenizer_path = Path(str(distribution.locate_file(TOKENIZER_FILE)))
        table_bytes, tokenizer_bytes = table_path.read_bytes(), tokenizer_path.read_bytes()
        self._table = read_safetensors_tensor(table_bytes, TABLE_TENSOR, table_path).astype(np.float32)
        self._tokenizer: Any = Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
        digest = hashlib.sha256(table_bytes)
        digest.update(tokenizer_bytes)
        self._content_digest = digest.hexdigest()[:12]  # not the package version: a re-release loads
        self._max_chars = max_chars

    @property
    def embedder_id(self) -> str:
        return f"wordllama/l2-supercat-256-{self._content_digest}/mean/focus{self._max_chars}"

    @property
    def dim(self) -> int:
        return int(self._table.shape[1])

    def embed(self, texts: list[str]) -> FloatArray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # the tokenizer refuses a str holding a lone surrogate: such characters become "?"
        focused = [focus_text(t, self._max_chars).encode("utf-8", "replace").decode("utf-8") or " " for t in texts]
        encodings = [self._tokenizer.encode(focused[0])] if len(focused) == 1 else self._tokenizer.encode_batch(focused)
        return unit_rows(np.stack([self._table[encoding.ids].mean(axis=0) for encoding in encodings]))
