"""`voxgate train`'s library half: the predictor and the answer checker from TRAIN rows only."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from voxgate.evaluation.training import CHECKER_DIR, train_from_sources
from voxgate.routing.learned.answer_checker import CheckedAnswer, load_checker
from voxgate.routing.learned.embedding import HashingEmbedder
from voxgate.routing.learned.trained_predictor import load_predictor


def _file(path: Path, models: tuple[str, ...], with_answers: bool, rows: int = 80) -> Path:
    rng = np.random.default_rng(len(models))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        answers = [f"{m}|answer" for m in models] if with_answers else []
        writer.writerow(["prompt", *models, *answers, "split"])
        for i in range(rows):
            a, b = int(rng.integers(10, 99)), int(rng.integers(10, 99))
            right = [bool(rng.random() < 0.6) for _ in models]
            texts = [f"{a} * {b} = {a * b if ok else a * b + 7}" for ok in right] if with_answers else []
            split = "test" if i % 4 == 0 else "train"
            # TEST rows lie: were they used, the checker would learn that wrong arithmetic is good
            scores = [float(ok) if split == "train" else float(not ok) for ok in right]
            writer.writerow([f"What is {a} * {b}?", *scores, *texts, split])
    return path


def test_train_fits_the_predictor_and_the_checker_from_train_rows(tmp_path: Path) -> None:
    source = _file(tmp_path / "mine.csv", ("small", "big"), with_answers=True)
    trained = train_from_sources([source], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder())
    assert trained.predictor is not None
    assert trained.checker is not None
    assert not trained.notes
    assert load_predictor(tmp_path / "out").version == trained.predictor.version
    checker = load_checker(tmp_path / "out" / CHECKER_DIR)
    assert checker.version == trained.checker.version
    assert checker.report["rows"] == 2 * 60  # TRAIN rows only, both models' answers
    right = checker.p_good(CheckedAnswer("What is 12 * 11?", "12 * 11 = 132"))
    wrong = checker.p_good(CheckedAnswer("What is 12 * 11?", "12 * 11 = 139"))
    assert right > 0.8 > 0.2 > wrong


def test_sources_with_different_models_train_one_checker_and_say_why_no_predictor(tmp_path: Path) -> None:
    first = _file(tmp_path / "a.csv", ("small", "big"), with_answers=True)
    second = _file(tmp_path / "b.csv", ("tiny", "small", "huge"), with_answers=True)
    trained = train_from_sources([first, second], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder())
    assert trained.predictor is None
    assert trained.checker is not None
    assert trained.checker.report["rows"] == 5 * 60
    assert any("different models" in note for note in trained.notes)
    plain = _file(tmp_path / "plain.csv", ("small", "big"), with_answers=False)
    only_predictor = train_from_sources([plain], tmp_path, tmp_path / "p", tmp_path / "cache", HashingEmbedder())
    assert only_predictor.checker is None
    assert any("no source has answer texts" in n for n in only_predictor.notes)


def test_too_few_scored_answers_stop_training_and_say_how_to_get_more(tmp_path: Path) -> None:
    source = _file(tmp_path / "mine.csv", ("small", "big"), with_answers=True, rows=20)  # 15 TRAIN rows x 2
    with pytest.raises(ValueError, match=r"needs at least 100 scored answers in TRAIN rows, the sources have 30") \
            as err:
        train_from_sources([source], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder())
    assert "record_answers: true" in str(err.value)
    assert "--min-answers" in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing fitted, nothing half-written
    trained = train_from_sources([source], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder(),
                                 min_answers=30)
    assert trained.checker is not None
    assert trained.checker.report["rows"] == 30


def test_answers_all_scored_alike_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "happy.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "small", "small|answer", "split"])
        for i in range(40):
            writer.writerow([f"Say hello to friend {i}", 1, f"Hello, friend {i}!", "train"])
    refusal = r"needs bad \(score < 0.5\) answers too: all 40 scored TRAIN answers are good"
    with pytest.raises(ValueError, match=refusal):
        train_from_sources([path], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder(), min_answers=10)


def test_a_model_that_only_escalated_trains_the_checker_but_not_the_predictor(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rng = np.random.default_rng(3)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "big", "small", "big|answer", "small|answer", "split"])
        for i in range(40):
            a, b = int(rng.integers(10, 99)), int(rng.integers(10, 99))
            ok = i % 3 != 0
            writer.writerow([f"What is {a} * {b}? ({i})", float(ok), "", f"{a} * {b} = {a * b if ok else a * b + 1}",
                             f"{a} * {b} = {a * b + 3}", "train"])
    trained = train_from_sources([path], tmp_path, tmp_path / "out", tmp_path / "cache", HashingEmbedder(),
                                 min_answers=10)
    assert trained.predictor is not None
    assert trained.predictor.models == ("big",)
    assert trained.checker is not None
    assert trained.checker.report["rows"] == 40  # big's scored answers; small's are their peers
