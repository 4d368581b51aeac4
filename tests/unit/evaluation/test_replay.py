"""Replaying routers over a hand-made outcome table."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.evaluation import replay
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.slices import pareto_models


def _table() -> OutcomeTable:
    # cheap is right on rows 0 and 1, dear on rows 0, 2 and 3; "waste" is dear and never right.
    scores = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, np.nan]])
    costs = np.tile([0.001, 0.01, 0.02], (4, 1))
    return OutcomeTable(
        name="toy",
        prompts=["a", "b", "c", "d"],
        models=("cheap", "dear", "waste"),
        scores=scores,
        costs_usd=costs,
        is_test=np.array([False, False, True, True]),
    )


def test_oracle_takes_the_cheapest_right_model() -> None:
    table = _table()
    assert replay.oracle_choice(table).tolist() == [0, 0, 1, 1]
    assert replay.outcome_point(replay.oracle_choice(table), table) == pytest.approx((0.022, 1.0))


def test_unknown_cells_score_the_models_mean() -> None:
    assert _table().filled_scores()[3, 2] == 0.0


def test_lambda_sweep_runs_from_best_quality_to_cheapest() -> None:
    table = _table()
    quality = np.array([[0.9, 0.8, 0.1], [0.9, 0.2, 0.1], [0.1, 0.9, 0.1], [0.1, 0.9, 0.1]])
    cost = np.tile([0.001, 0.01, 0.02], (4, 1))
    points = replay.lambda_sweep(quality, cost, table)
    assert points[0].tolist() == pytest.approx([0.004, 0.5])  # everything to the cheap model
    assert points[-1].tolist() == pytest.approx([0.022, 1.0])  # quality first: the oracle's choices


def test_single_models_random_mixing_and_pareto_front() -> None:
    table = _table()
    singles = replay.single_model_points(table)
    assert singles["dear"] == pytest.approx((0.04, 0.75))
    points = replay.random_points(table)
    assert points[0].tolist() == pytest.approx([0.004, 0.5])
    assert points[-1].tolist() == pytest.approx([0.04, 0.75])
    assert pareto_models(table) == [0, 1]
    assert replay.strong_weak(table.subset(np.array([True, True, True, False]), "x"), table) == (1, 0)


def test_cost_estimator_follows_prompt_length() -> None:
    table = _table()
    estimate = replay.CostEstimator(table).estimate(["short", "x" * 400])
    assert estimate.shape == (2, 3)
    assert estimate[0].tolist() == pytest.approx([0.001, 0.01, 0.02])
