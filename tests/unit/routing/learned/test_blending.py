"""Head blending, distance-weighted kNN, old predictor saves, the BLAS thread cap and the prompt memo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.embedders import CountingEmbedder
from voxgate.core.types import ModelCard
from voxgate.routing.features import extract_features
from voxgate.routing.learned import HashingEmbedder, TrainingConfig, load_predictor, save_predictor, train_predictor
from voxgate.routing.learned.blas_threads import limit_blas_threads
from voxgate.routing.learned.heads import KnnHead
from voxgate.routing.learned.selection import HeadSpec, blend_weights, choose_blends, simplex_grid
from voxgate.routing.learned.serving import LearnedQualityPredictor
from voxgate.routing.learned.trained_predictor import feature_matrix

DIM = 16


def test_simplex_grid_covers_single_heads_and_equal_mixtures() -> None:
    grid = simplex_grid(3, 12)
    assert grid.shape == (91, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert (grid >= 0).all()
    rows = {tuple(np.round(r, 6)) for r in grid}
    assert (1.0, 0.0, 0.0) in rows
    assert tuple(np.round([1 / 3] * 3, 6)) in rows
    assert simplex_grid(1).tolist() == [[1.0]]


def test_blend_keeps_the_informative_head_alone_and_mixes_two_noisy_ones() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(4000)
    observed = (rng.random(4000) < truth).astype(float)
    useless = np.full(4000, observed.mean())
    weights, _ = blend_weights(np.vstack([useless, truth]), observed)
    assert weights == (0.0, 1.0)
    noisy_a = np.clip(truth + rng.normal(0, 0.25, 4000), 0.01, 0.99)
    noisy_b = np.clip(truth + rng.normal(0, 0.25, 4000), 0.01, 0.99)
    weights, loss = blend_weights(np.vstack([noisy_a, noisy_b]), observed)
    assert 0.25 <= weights[0] <= 0.75
    assert loss < float(blend_weights(noisy_a[None, :], observed)[1])


def test_choose_blends_drops_zero_weights_and_reports_the_blend_loss() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random((3000, 2))
    y = (rng.random((3000, 2)) < truth).astype(float)
    candidates: list[HeadSpec] = [
        {"kind": "logistic", "l2": 1.0},
        {"kind": "knn", "k": 5, "embed_dim": 0, "prior_weight": 0.0},
    ]
    oof = np.stack([truth, np.full_like(truth, 0.5)])
    selection = choose_blends(candidates, oof, y)
    assert selection.choice == [(0,), (0,)]
    assert selection.weights == [(1.0,), (1.0,)]
    np.testing.assert_allclose(selection.oof_predictions, truth)
    assert selection.cv_loss.shape == (3, 2)


def test_distance_weighted_knn_trusts_the_closest_neighbour_more() -> None:
    keys = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    targets = np.array([[1.0], [0.0], [0.0], [0.0]])
    uniform, weighted = KnnHead(k=4, prior_weight=0.0), KnnHead(k=4, prior_weight=0.0, temperature=0.1)
    for head in (uniform, weighted):
        head.fit(keys, targets)
    query = np.array([[1.0, 0.05]])
    assert float(uniform.predict_proba(query)[0, 0]) == pytest.approx(0.25)
    assert float(weighted.predict_proba(query)[0, 0]) > 0.8
    assert weighted.spec()["temperature"] == 0.1
    assert "temperature" not in uniform.spec()


def _trained(n: int = 240) -> tuple[HashingEmbedder, list[str], np.ndarray, object]:
    embedder = HashingEmbedder(dim=DIM)
    texts = [f"{'hard integral ' if i % 3 == 0 else ''}question number {i}" for i in range(n)]
    scores = np.column_stack([[0.0 if i % 3 == 0 else 1.0 for i in range(n)], np.ones(n)])
    emb = embedder.embed(texts).astype(np.float64)
    config = TrainingConfig(
        folds=3,
        candidates=(
            {"kind": "logistic", "l2": 1.0},
            {"kind": "knn", "k": 15, "embed_dim": DIM, "prior_weight": 2.0, "temperature": 0.05},
            {"kind": "mlp", "hidden": 8, "weight_decay": 0.01, "epochs": 5},
        ),
    )
    return embedder, texts, emb, train_predictor(emb, texts, scores, ("a", "b"), embedder.embedder_id, config)


def test_a_format_1_save_loads_with_equal_blend_weights(tmp_path: Path) -> None:
    embedder, texts, emb, predictor = _trained()
    save_predictor(predictor, tmp_path)  # type: ignore[arg-type]
    meta = json.loads((tmp_path / "predictor.json").read_text())
    assert meta["format"] == "voxgate-learned-predictor/2"
    meta["format"] = "voxgate-learned-predictor/1"
    meta["choice"] = [list(range(len(meta["heads"])))] * 2
    del meta["blend_weights"]
    (tmp_path / "predictor.json").write_text(json.dumps(meta))
    old = load_predictor(tmp_path, embedder)
    assert old.blend_weights == []
    x = (feature_matrix(emb, texts) - old.scaler_mean) / old.scaler_std
    expected = np.mean([head.predict_proba(x) for head in old.heads], axis=0)
    old.platt_slope, old.platt_intercept = np.ones(2), np.zeros(2)
    np.testing.assert_allclose(old.predict_matrix(emb, texts), expected, rtol=1e-6, atol=1e-6)


def test_limit_blas_threads_caps_numpy_or_reports_no_library() -> None:
    assert limit_blas_threads(1) in (None, 1)
    a = np.arange(400 * 400, dtype=np.float64).reshape(400, 400) / 1e5
    np.testing.assert_allclose(a @ np.eye(400), a)


def test_a_repeated_prompt_is_not_embedded_twice() -> None:
    _, _, _, predictor = _trained()
    counting = CountingEmbedder(dim=DIM)
    predictor.embedder = counting  # type: ignore[attr-defined]
    serving = LearnedQualityPredictor(predictor, recent_prompts=2)  # type: ignore[arg-type]
    cards = [ModelCard("a"), ModelCard("b")]
    for prompt in ("hard integral of x", "question number 7", "hard integral of x"):
        serving.predict(prompt, extract_features(prompt, 4, 1), cards)
    assert counting.calls == 2
    first = serving.predict("hard integral of x", extract_features("x", 4, 1), cards)
    later = serving.predict("question number 7", extract_features("x", 4, 1), cards)
    assert first["a"].quality < later["a"].quality
