"""How learned models (the quality predictor, the answer checker) are written and named.

A model is a directory: named numpy arrays in `weights.npz` beside a JSON file of metadata. Its
version is a hash of its content (array names and float64 bytes, plus what the caller adds),
so the same training gives the same version and a decision can name the model it used.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


def content_version(prefix: str, weights: dict[str, NDArray[Any]], suffix: bytes = b"") -> str:
    """`<prefix>-<12 hex digits>` of sha256 over every array (name, bytes) by sorted name, then `suffix`."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(weights[name]).tobytes())
    digest.update(suffix)
    return f"{prefix}-{digest.hexdigest()[:12]}"


def write_model_files(directory: Path, weights: dict[str, NDArray[Any]], meta_name: str, meta: dict[str, Any]) -> None:
    """Write `weights.npz` and `meta_name` (JSON) into `directory`, created if missing."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **weights)  # type: ignore[arg-type]
    (directory / "weights.npz").write_bytes(buffer.getvalue())
    (directory / meta_name).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
