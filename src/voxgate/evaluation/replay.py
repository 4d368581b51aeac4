"""Replaying routers over known outcomes: which model each query goes to, what that scores and costs.

A predictive router picks, per query, `argmax_m quality[m] - lambda * cost[m]` with the cost the
router *expects* (never the query's realised cost); sweeping lambda from 0 (quality only) to
large (cheapest only) traces its accuracy-vs-cost points. Accuracy and cost of a choice are then
read from the realised outcomes.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from voxgate.evaluation.loaders import estimate_tokens
from voxgate.evaluation.metrics import nondecreasing_hull
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.learned.heads import Array

LAMBDA_GRID = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 121)])
RANDOM_SEED = 0
RANDOM_STEPS = 10


class CostEstimator:
    """Per model, cost ~ mean + slope * (prompt tokens - mean tokens), fitted on TRAIN rows."""

    def __init__(self, train: OutcomeTable) -> None:
        tokens = np.array([estimate_tokens(p) for p in train.prompts], dtype=np.float64)
        self._mean_tokens = float(tokens.mean())
        centred = tokens - self._mean_tokens
        self._mean_cost = train.costs_usd.mean(axis=0)
        spread = float((centred**2).sum())
        self._slope = (
            centred @ (train.costs_usd - self._mean_cost) / spread if spread > 0 else 0.0 * self._mean_cost
        )
        self._floor = np.maximum(train.costs_usd.min(axis=0), 0.0)

    def estimate(self, prompts: list[str]) -> Array:
        tokens = np.array([estimate_tokens(p) for p in prompts], dtype=np.float64) - self._mean_tokens
        estimate = self._mean_cost[None, :] + tokens[:, None] * self._slope[None, :]
        return np.asarray(np.maximum(estimate, self._floor[None, :]), dtype=np.float64)


def outcome_point(choice: Array, table: OutcomeTable) -> tuple[float, float]:
    """(total cost USD, accuracy) of sending query i to model `choice[i]`."""
    rows = np.arange(len(table.prompts))
    scores = table.filled_scores()
    return float(table.costs_usd[rows, choice].sum()), float(scores[rows, choice].mean())


def lambda_choices(quality: Array, expected_cost: Array) -> list[tuple[float, Array]]:
    """Each λ of `LAMBDA_GRID` with the predictive router's per-query choice (`lambda_choice`); the
    costs are normalised once for the whole grid."""
    normalised = _normalised(expected_cost)
    return [(float(lam), _choice(quality, normalised, float(lam))) for lam in LAMBDA_GRID]


def lambda_choice(quality: Array, expected_cost: Array, lam: float) -> Array:
    """The predictive router's per-query choice at `lam`: `argmax_m quality[m] - λ * cost[m]`, costs
    normalised by the dearest model's mean."""
    return _choice(quality, _normalised(expected_cost), lam)


def _normalised(expected_cost: Array) -> Array:
    scale = float(expected_cost.mean(axis=0).max()) or 1.0
    return np.asarray(expected_cost / scale)


def _choice(quality: Array, normalised_cost: Array, lam: float) -> Array:
    return np.asarray(np.argmax(quality - lam * normalised_cost, axis=1))


def lambda_sweep(quality: Array, expected_cost: Array, table: OutcomeTable) -> Array:
    """Points of a predictive router over `LAMBDA_GRID`."""
    points = {outcome_point(choice, table) for _, choice in lambda_choices(quality, expected_cost)}
    return np.array(sorted(points))


def single_model_points(table: OutcomeTable) -> dict[str, tuple[float, float]]:
    n = len(table.prompts)
    return {model: outcome_point(np.full(n, j), table) for j, model in enumerate(table.models)}


def oracle_choice(table: OutcomeTable) -> Array:
    """Per query, the cheapest of the best-scoring models (RouterBench's oracle)."""
    scores = table.filled_scores()
    best = scores >= scores.max(axis=1, keepdims=True) - 1e-12
    return np.asarray(np.argmin(np.where(best, table.costs_usd, np.inf), axis=1))


def random_points(table: OutcomeTable, seed: int = RANDOM_SEED) -> Array:
    """Random mixing between neighbouring single models on their hull, realised per query."""
    rng = np.random.default_rng(seed)
    singles = single_model_points(table)
    hull = nondecreasing_hull(np.array(list(singles.values())))
    index = {point: j for j, point in enumerate(singles.values())}
    vertices = [index[(float(c), float(a))] for c, a in hull]
    n = len(table.prompts)
    points = {outcome_point(np.full(n, vertices[0]), table)}
    for low, high in pairwise(vertices):
        for share in np.linspace(0.0, 1.0, RANDOM_STEPS + 1)[1:]:
            choice = np.where(rng.random(n) < share, high, low)
            points.add(outcome_point(choice, table))
    return np.array(sorted(points))


def strong_weak(table: OutcomeTable, train: OutcomeTable) -> tuple[int, int]:
    """Indices of the strong and weak model of a pair: strong = higher mean TRAIN score."""
    means = train.filled_scores().mean(axis=0)
    strong = int(np.argmax(means))
    return strong, 1 - strong
