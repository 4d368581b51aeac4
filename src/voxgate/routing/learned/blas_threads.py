"""Limiting numpy's BLAS threads, set from code (no environment variable needed).

A routing decision multiplies a few small matrices; OpenBLAS would hand each one to worker
threads that then spin, waiting for more work, on the same cores as the embedding engine's
OpenMP threads. On a 2-core machine that contention made one prediction ~8x slower (p50
109 ms against 13 ms with one BLAS thread, `bench/eval_embedding.py`). `limit_blas_threads`
does what `threadpoolctl` does for OpenBLAS, for the copy numpy ships in `numpy.libs`: it
calls the library's own `*openblas_set_num_threads*` through ctypes. Without such a library
(another BLAS, another platform layout) it changes nothing and says so.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = tuple(name.replace("set_", "get_") for name in _SETTERS)


def _openblas_libraries() -> list[Path]:
    root = Path(np.__file__).resolve().parent
    folders = (root.parent / "numpy.libs", root / ".libs", root.parent / "numpy" / ".dylibs")
    return sorted(path for folder in folders if folder.is_dir() for path in folder.glob("*openblas*"))


def _function(library: ctypes.CDLL, names: tuple[str, ...]) -> Any:
    for name in names:
        function = getattr(library, name, None)
        if function is not None:
            return function
    return None


def limit_blas_threads(count: int) -> int | None:
    """Cap numpy's OpenBLAS at `count` threads; the count now in force, or None if not found."""
    for path in _openblas_libraries():
        try:
            library = ctypes.CDLL(str(path))  # numpy loaded it already: the same handle
        except OSError:
            continue
        setter, getter = _function(library, _SETTERS), _function(library, _GETTERS)
        if setter is None:
            continue
        setter(ctypes.c_int(count))
        if getter is None:
            return count
        getter.restype = ctypes.c_int
        return int(getter())
    return None
