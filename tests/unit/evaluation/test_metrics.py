"""RouterBench and RouteLLM metrics on tiny examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.evaluation import metrics


def test_hull_drops_points_under_the_chord_and_after_the_peak() -> None:
    points = np.array([[1.0, 0.5], [2.0, 0.6], [3.0, 0.9], [4.0, 0.8]])
    hull = metrics.nondecreasing_hull(points)
    assert hull.tolist() == [[1.0, 0.5], [3.0, 0.9]]


def test_hull_keeps_the_best_of_equal_costs() -> None:
    hull = metrics.nondecreasing_hull(np.array([[1.0, 0.2], [1.0, 0.4], [2.0, 0.5]]))
    assert hull.tolist() == [[1.0, 0.4], [2.0, 0.5]]


def test_aiq_of_a_known_hull() -> None:
    # Trapezoid from cost 1 to 3 (area 1.4), then flat at 0.9 up to 5 (area 1.8): 3.2 / 4.
    points = np.array([[1.0, 0.5], [2.0, 0.6], [3.0, 0.9], [4.0, 0.8]])
    assert metrics.aiq(points, 1.0, 5.0) == pytest.approx(0.8)


def test_aiq_counts_nothing_below_the_cheapest_point() -> None:
    assert metrics.aiq(np.array([[2.0, 0.8]]), 0.0, 4.0) == pytest.approx(0.4)


def test_hull_value_and_cost_lookups() -> None:
    points = np.array([[1.0, 0.5], [3.0, 0.9]])
    assert metrics.hull_value_at(points, 2.0) == pytest.approx(0.7)
    assert metrics.hull_value_at(points, 0.5) == 0.0
    assert metrics.hull_value_at(points, 10.0) == pytest.approx(0.9)
    assert metrics.hull_cost_for(points, 0.8) == pytest.approx(2.5)
    assert metrics.hull_cost_for(points, 0.4) == pytest.approx(1.0)
    assert metrics.hull_cost_for(points, 0.95) is None


def test_apgr_of_a_straight_line_is_one_half_and_cpt_is_proportional() -> None:
    pct = np.linspace(0.0, 100.0, 11)
    curve = np.column_stack([pct, 0.6 + 0.2 * pct / 100.0])
    assert metrics.apgr(curve, 0.8, 0.6) == pytest.approx(0.5)
    assert metrics.cpt(curve, 0.8, 0.6, 0.5) == pytest.approx(50.0)
    assert metrics.cpt(curve, 0.8, 0.6, 0.8) == pytest.approx(80.0)


def test_apgr_of_a_router_that_recovers_the_gap_early() -> None:
    curve = np.array([[0.0, 0.6], [20.0, 0.8], [100.0, 0.8]])
    # area = 0.2 * 0.7 + 0.8 * 0.8 = 0.78; weak 0.6, strong 0.8 -> (0.78 - 0.6) / 0.2
    assert metrics.apgr(curve, 0.8, 0.6) == pytest.approx(0.9)
    assert metrics.cpt(curve, 0.8, 0.6, 0.5) == pytest.approx(10.0)


def test_cpt_is_none_when_never_reached() -> None:
    curve = np.array([[0.0, 0.6], [100.0, 0.7]])
    assert metrics.cpt(curve, 0.8, 0.6, 0.8) is None


def test_threshold_curve_spans_all_to_none_strong_calls() -> None:
    rng = np.random.default_rng(0)
    win = rng.random(1000)
    strong, weak = np.ones(1000), np.zeros(1000)
    curve = metrics.threshold_curve(win, strong, weak)
    assert curve.shape == (11, 2)
    assert curve[0].tolist() == [0.0, 0.0]
    assert curve[-1].tolist() == [100.0, 1.0]
    assert np.all(np.diff(curve[:, 0]) >= 0)


def test_random_router_apgr_is_about_one_half() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    strong = (rng.random(n) < 0.8).astype(float)
    weak = (rng.random(n) < 0.6).astype(float)
    curve = metrics.threshold_curve(rng.random(n), strong, weak)
    assert metrics.apgr(curve, strong.mean(), weak.mean()) == pytest.approx(0.5, abs=0.05)


def test_an_informed_router_beats_random() -> None:
    rng = np.random.default_rng(2)
    n = 5_000
    strong = (rng.random(n) < 0.8).astype(float)
    weak = (rng.random(n) < 0.6).astype(float)
    win = strong - weak + 0.1 * rng.random(n)
    curve = metrics.threshold_curve(win, strong, weak)
    assert metrics.apgr(curve, strong.mean(), weak.mean()) > 0.8


def test_auc_counts_right_over_wrong_pairs_and_shares_ties() -> None:
    observed = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, np.nan], [0.0, 0.0, 1.0]])
    predicted = np.array([[0.9, 0.1, 0.5], [0.2, 0.9, 0.5], [0.6, 0.3, 0.0], [0.4, 0.2, 0.5]])
    perfect, half_reversed, tied = metrics.auc_per_model(predicted, observed)
    assert perfect == 1.0  # both right rows (0.9, 0.6) above both wrong ones (0.2, 0.4)
    # right rows 0.1 and 0.9 against wrong rows 0.3 and 0.2: 2 of 4 pairs in order
    assert half_reversed == pytest.approx(0.5)
    assert tied == pytest.approx(0.5)  # every pair tied at 0.5; the unknown row is left out


def test_auc_is_none_where_a_model_never_fails() -> None:
    observed = np.array([[1.0, 0.0], [1.0, 1.0], [np.nan, 0.0]])
    predicted = np.array([[0.3, 0.1], [0.8, 0.7], [0.5, 0.9]])
    always_right, reversed_ = metrics.auc_per_model(predicted, observed)
    assert always_right is None
    assert reversed_ == pytest.approx(0.5)  # right 0.7 vs wrong 0.1 (in order) and 0.9 (not)
