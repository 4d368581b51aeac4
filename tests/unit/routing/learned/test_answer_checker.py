"""The learned answer checker: it learns what an answer's text says, calibrates, and saves by content hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxgate.core.errors import ConfigError
from voxgate.routing.learned.answer_checker import (
    CHECKER_FEATURE_NAMES,
    CheckedAnswer,
    checker_feature_matrix,
    checker_features,
    load_checker,
    margin_quantiles,
    peer_features,
    save_checker,
    train_checker,
)


def _arithmetic_answers(n: int, seed: int = 0) -> tuple[list[CheckedAnswer], np.ndarray]:
    """Answers whose working is right (good) or off by one (bad): only the recomputed arithmetic tells."""
    rng = np.random.default_rng(seed)
    items, scores = [], []
    for _ in range(n):
        a, b = int(rng.integers(10, 99)), int(rng.integers(10, 99))
        good = bool(rng.random() < 0.5)
        result = a * b if good else a * b + 1
        items.append(CheckedAnswer(f"What is {a} * {b}?", f"{a} * {b} = {result}. The answer is {result}.",
                                   prior_quality=0.6))  # fmt: skip
        scores.append(float(good))
    return items, np.array(scores)


def test_features_have_one_column_per_name_and_are_length_neutral_in_log_probs() -> None:
    item = CheckedAnswer("What is 2 + 2?", "4", token_logprobs=[-0.1], margins=[3.0], prior_quality=0.9)
    row = checker_features(item)
    assert len(row) == len(CHECKER_FEATURE_NAMES)
    short = margin_quantiles([0.2, 5.0])
    long = margin_quantiles([0.2, 5.0] * 50)
    assert short[1] == long[1] == pytest.approx(0.2)  # the minimum does not grow with length
    assert margin_quantiles(None) == [0.0] * 5


def test_checker_learns_that_wrong_arithmetic_is_a_bad_answer_and_is_calibrated() -> None:
    items, scores = _arithmetic_answers(300)
    checker = train_checker(checker_feature_matrix(items), scores)
    test_items, test_scores = _arithmetic_answers(200, seed=1)
    p_good = checker.predict_features(checker_feature_matrix(test_items))
    assert p_good[test_scores == 1].mean() > 0.8
    assert p_good[test_scores == 0].mean() < 0.2
    assert checker.report["ece_oof_calibrated"] < 0.1
    assert checker.oof_p_good is not None
    assert checker.oof_p_good.shape == (300,)


def test_saved_checker_loads_with_the_same_predictions_and_a_content_version(tmp_path: Path) -> None:
    items, scores = _arithmetic_answers(120)
    features = checker_feature_matrix(items)
    checker = train_checker(features, scores)
    again = train_checker(features, scores)
    assert checker.version == again.version
    assert checker.version.startswith("checker-v1-")
    save_checker(checker, tmp_path / "c")
    loaded = load_checker(tmp_path / "c")
    assert loaded.version == checker.version
    np.testing.assert_allclose(loaded.predict_features(features), checker.predict_features(features))
    assert loaded.p_good(items[0]) == pytest.approx(float(checker.predict_features(features[:1])[0]))
    other = train_checker(features, 1.0 - scores)
    assert other.version != checker.version


def test_a_damaged_or_foreign_checker_is_refused(tmp_path: Path) -> None:
    items, scores = _arithmetic_answers(60)
    checker = train_checker(checker_feature_matrix(items), scores)
    save_checker(checker, tmp_path / "c")
    meta = (tmp_path / "c" / "checker.json").read_text()
    (tmp_path / "c" / "checker.json").write_text(meta.replace(checker.version, "checker-v1-000000000000"))
    with pytest.raises(ConfigError, match="do not match"):
        load_checker(tmp_path / "c")
    (tmp_path / "c" / "checker.json").write_text(meta.replace("voxgate-answer-checker/1", "other/9"))
    with pytest.raises(ConfigError, match="not a voxgate-answer-checker"):
        load_checker(tmp_path / "c")
    with pytest.raises(ConfigError, match="cannot read"):
        load_checker(tmp_path / "missing")


def test_too_few_answers_to_train_are_refused() -> None:
    items, scores = _arithmetic_answers(6)
    with pytest.raises(ValueError, match="too few"):
        train_checker(checker_feature_matrix(items), scores)


def test_peer_agreement_is_the_share_of_peers_with_the_same_final_answer() -> None:
    assert peer_features("B", []) == [0.0, 0.0]
    count, share = peer_features("B", ["B", "C", None])
    assert share == pytest.approx(1 / 3)
    assert count == pytest.approx(np.log1p(3))
    assert peer_features(None, [None, None])[1] == 0.0  # no final answer agrees with nothing
    item = CheckedAnswer("Which? A) x B) y", "B", peer_answers=("B) y", "B"))
    assert checker_features(item)[-1] == 1.0


def test_checker_learns_that_agreeing_with_peers_is_a_good_sign() -> None:
    rng = np.random.default_rng(3)
    items, scores = [], []
    for _ in range(300):
        good = bool(rng.random() < 0.5)
        letter, other = ("A", "C") if good else ("C", "A")
        peers = ("A", "A" if rng.random() < 0.8 else other)  # the right answer is A; peers mostly know it
        items.append(CheckedAnswer("Pick A, B, C or D.", letter, peer_answers=peers))
        scores.append(float(good))
    checker = train_checker(checker_feature_matrix(items), np.array(scores))
    agreeing = checker.p_good(CheckedAnswer("Pick A, B, C or D.", "B", peer_answers=("B", "B")))
    alone = checker.p_good(CheckedAnswer("Pick A, B, C or D.", "B", peer_answers=("D", "C")))
    assert agreeing > alone + 0.3
