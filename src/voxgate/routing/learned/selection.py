"""Choosing a head per model by K-fold cross-validation on the training rows only.

Every candidate spec is fitted K times (multi-output, so once per fold for all models); its
out-of-fold predictions are scored per model by cross-entropy against the (possibly soft)
targets. Each model then takes the best candidate of each kind (logistic, kNN, MLP) and the
convex blend of those with the lowest out-of-fold cross-entropy (weights on a 1/12 grid, so
one head alone is a possible answer); the blended out-of-fold predictions are kept to fit the
calibrator.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxgate.routing.learned.heads import Array, build_head

HeadSpec = dict[str, float | int | str]
StepFn = Callable[[], None]
BLEND_STEPS = 12
KNN_TEMPERATURE = 0.02  # cosine similarity units: a neighbour 0.02 further counts e^-1 as much


def default_candidates(embed_dim: int, n_rows: int) -> list[HeadSpec]:
    """Logistic at four strengths (the last is nearly the per-model mean), kNN at three sizes plain
    and distance-weighted, and two small MLPs (the baselines' shape and a narrower, stronger-decayed one)."""
    candidates: list[HeadSpec] = [{"kind": "logistic", "l2": l2} for l2 in (30.0, 300.0, 3000.0, 30000.0)]
    for k in (10, 40, 100):
        knn: HeadSpec = {"kind": "knn", "k": k, "embed_dim": embed_dim, "prior_weight": 2.0}
        candidates += [knn, knn | {"temperature": KNN_TEMPERATURE}]
    candidates.append(mlp_spec(n_rows))
    candidates.append(mlp_spec(n_rows) | {"hidden": 16, "weight_decay": 1.0})
    return candidates


def mlp_spec(n_rows: int) -> HeadSpec:
    """A small, strongly regularised MLP: roughly 10,000 rows' worth of passes, 5 to 20 epochs."""
    epochs = int(np.clip(10_000 // max(n_rows, 1), 5, 20))
    return {"kind": "mlp", "hidden": 32, "weight_decay": 0.2, "epochs": epochs}


def fold_ids(n_rows: int, folds: int, seed: int) -> Array:
    """A fold number in [0, folds) per row, balanced and shuffled reproducibly."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n_rows) % folds
    rng.shuffle(ids)
    return ids.astype(np.float64)


def out_of_fold(spec: HeadSpec, x: Array, y: Array, folds: Array, on_step: StepFn | None = None) -> Array:
    """Predictions for every row from a head that never saw that row."""
    out = np.zeros(y.shape)
    for fold in np.unique(folds):
        held = folds == fold
        head = build_head(spec)
        head.fit(x[~held], y[~held])
        out[held] = head.predict_proba(x[held])
        if on_step is not None:
            on_step()
    return out


def cross_entropy_per_model(predicted: Array, observed: Array) -> Array:
    """Mean cross-entropy of each column over its known cells."""
    known = ~np.isnan(observed)
    p = np.clip(predicted, 1e-6, 1.0 - 1e-6)
    y = np.where(known, observed, 0.0)
    loss = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)) * known
    return np.asarray(loss.sum(axis=0) / np.maximum(known.sum(axis=0), 1), dtype=np.float64)


@dataclass(frozen=True)
class Selection:
    """Per model the candidates it blends, their weights, the blended out-of-fold predictions, every CV loss.

    `cv_loss` has a row per candidate and a last row for each model's chosen blend.
    """

    choice: list[tuple[int, ...]]
    weights: list[tuple[float, ...]]
    oof_predictions: Array
    cv_loss: Array  # (n_candidates + 1, n_models)


def _best_of_each_kind(candidates: Sequence[HeadSpec], losses: Array, model: int) -> tuple[int, ...]:
    best: dict[str, int] = {}
    for index, spec in enumerate(candidates):
        kind = str(spec["kind"])
        if kind not in best or losses[index, model] < losses[best[kind], model]:
            best[kind] = index
    return tuple(sorted(best.values()))


def simplex_grid(parts: int, steps: int = BLEND_STEPS) -> Array:
    """Every vector of `parts` non-negative multiples of 1/`steps` that sum to 1."""
    combos = [c for c in itertools.product(range(steps + 1), repeat=parts) if sum(c) == steps]
    return np.asarray(combos, dtype=np.float64) / steps


def blend_weights(predictions: Array, observed: Array) -> tuple[tuple[float, ...], float]:
    """Convex weights over `predictions` (heads, n) with the least cross-entropy against `observed`."""
    grid = simplex_grid(predictions.shape[0])
    blended = grid @ predictions  # (grid points, n)
    losses = cross_entropy_per_model(blended.T, np.repeat(observed[:, None], grid.shape[0], axis=1))
    best = int(np.argmin(losses))
    return tuple(float(w) for w in grid[best]), float(losses[best])


def select_heads(
    candidates: Sequence[HeadSpec],
    x: Array,
    y: Array,
    folds: int,
    seed: int,
    on_step: StepFn | None = None,
) -> Selection:
    """Out-of-fold predictions of every candidate, then per model the best blend of the best head of each kind.

    A blend is a convex combination on a 1/`BLEND_STEPS` grid; a weight of 1 on one head is
    one of the grid points, so a model keeps a single head where blending does not help.
    """
    ids = fold_ids(x.shape[0], folds, seed)
    oof = np.stack([out_of_fold(spec, x, y, ids, on_step) for spec in candidates])
    return choose_blends(candidates, oof, y)


def choose_blends(candidates: Sequence[HeadSpec], oof: Array, y: Array) -> Selection:
    """The per-model choice from precomputed out-of-fold predictions `oof` (candidates, n, models)."""
    losses = np.stack([cross_entropy_per_model(pred, y) for pred in oof])
    choice: list[tuple[int, ...]] = []
    weights: list[tuple[float, ...]] = []
    blend_loss = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        kinds = _best_of_each_kind(candidates, losses, j)
        chosen_weights, blend_loss[j] = blend_weights(oof[list(kinds), :, j], y[:, j])
        kept = [(index, w) for index, w in zip(kinds, chosen_weights, strict=True) if w > 0]
        choice.append(tuple(index for index, _ in kept))
        weights.append(tuple(w for _, w in kept))
    pairs = enumerate(zip(choice, weights, strict=True))
    chosen = np.column_stack([np.tensordot(np.array(w), oof[list(c), :, j], axes=1) for j, (c, w) in pairs])
    return Selection(choice, weights, oof_predictions=chosen, cv_loss=np.vstack([losses, blend_loss]))
