"""The learned predictor on synthetic data: heads, selection, calibration, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxgate.core.errors import ConfigError
from voxgate.routing.learned import (
    HashingEmbedder,
    TrainingConfig,
    expected_calibration_error,
    load_predictor,
    save_predictor,
    train_predictor,
)
from voxgate.routing.learned.calibration import reliability_bins
from voxgate.routing.learned.heads import KnnHead, LogisticHead, MlpHead, sigmoid

DIM = 16
FAST = TrainingConfig(
    folds=3,
    candidates=(
        {"kind": "logistic", "l2": 1.0},
        {"kind": "logistic", "l2": 10_000.0},
        {"kind": "knn", "k": 25, "embed_dim": DIM, "prior_weight": 2.0},
        {"kind": "mlp", "hidden": 16, "weight_decay": 0.01, "epochs": 10},
    ),
)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Model 'sharp' succeeds with probability sigmoid(3 * x0); model 'flat' with 0.7 always."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    p_sharp = sigmoid(3.0 * emb[:, 0] * np.sqrt(DIM))
    scores = np.column_stack([rng.random(n) < p_sharp, rng.random(n) < 0.7]).astype(float)
    return emb, [f"prompt {i}" for i in range(n)], scores


def test_every_head_learns_a_clear_signal_and_ignores_unknown_cells() -> None:
    emb, _, scores = _synthetic(600, 0)
    scores[::7, 0] = np.nan
    x = emb * np.sqrt(DIM)
    for head in (LogisticHead(l2=1.0), KnnHead(k=25), MlpHead(hidden=16, epochs=20)):
        head.fit(x, scores)
        predicted = head.predict_proba(x)
        assert predicted.shape == (600, 2)
        assert np.corrcoef(predicted[:, 0], x[:, 0])[0, 1] > 0.7, head.kind


def test_selection_picks_a_signal_head_for_the_sharp_model_and_calibrates() -> None:
    emb, texts, scores = _synthetic(900, 1)
    predictor = train_predictor(emb, texts, scores, ("sharp", "flat"), "synthetic", FAST)
    assert "l2=10000" not in predictor.report["sharp"]["head"]
    test_emb, test_texts, test_scores = _synthetic(2000, 2)
    quality = predictor.predict_matrix(test_emb, test_texts)
    assert expected_calibration_error(quality, test_scores) < 0.05
    assert abs(float(quality[:, 1].mean()) - 0.7) < 0.05
    assert predictor.report["sharp"]["ece_oof_calibrated"] < 0.06


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dim=DIM)
    texts = [f"{'hard integral ' if i % 3 == 0 else ''}question number {i}" for i in range(300)]
    scores = np.column_stack([[0.0 if i % 3 == 0 else 1.0 for i in range(300)], np.ones(300)])
    emb = embedder.embed(texts).astype(np.float64)
    predictor = train_predictor(emb, texts, scores, ("a", "b"), embedder.embedder_id, FAST)
    save_predictor(predictor, tmp_path / "predictor")
    loaded = load_predictor(tmp_path / "predictor", embedder)
    assert loaded.version == predictor.version
    assert loaded.version.startswith("learned-v1-")
    before = predictor.predict_matrix(emb, texts)
    after = loaded.predict(texts)
    np.testing.assert_allclose(after["a"], before[:, 0], rtol=1e-6)
    assert float(after["a"][0]) < float(after["a"][1])


def test_load_refuses_another_embedder_and_a_missing_directory(tmp_path: Path) -> None:
    emb, texts, scores = _synthetic(120, 3)
    predictor = train_predictor(emb, texts, scores, ("sharp", "flat"), "synthetic", FAST)
    save_predictor(predictor, tmp_path)
    with pytest.raises(ConfigError):
        load_predictor(tmp_path, HashingEmbedder(dim=DIM))
    with pytest.raises(ConfigError):
        load_predictor(tmp_path / "absent")


def test_predict_without_an_embedder_is_a_config_error() -> None:
    emb, texts, scores = _synthetic(120, 4)
    predictor = train_predictor(emb, texts, scores, ("sharp", "flat"), "synthetic", FAST)
    with pytest.raises(ConfigError):
        predictor.predict(["hello"])


def test_ece_of_perfectly_and_badly_calibrated_predictions() -> None:
    observed = np.array([1.0, 0.0] * 50)
    assert expected_calibration_error(np.full(100, 0.5), observed) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(100, 0.9), observed) == pytest.approx(0.4)


def test_reliability_bins_give_the_diagram_and_skip_unknown_cells() -> None:
    predicted = np.array([[0.05, 0.95], [0.15, 0.9], [0.12, 0.5]])
    observed = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, np.nan]])
    bins = reliability_bins(predicted, observed, bins=10)
    assert [count for _, _, count in bins] == [1, 2, 2]  # 0.5 is unknown: not counted
    assert bins[1] == pytest.approx((0.135, 0.5, 2))
    assert bins[2] == pytest.approx((0.925, 1.0, 2))
    assert reliability_bins(np.zeros(3), np.full(3, np.nan)) == []
