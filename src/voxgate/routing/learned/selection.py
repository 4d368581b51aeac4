"""Choosing a head per model by K-fold cross-validation on the training rows only.

Every candidate spec is fitted K times (multi-output, so once per fold for all models); its
out-of-fold predictions are scored per model by cross-entropy against the (possibly soft)
targets. Each model gets the candidate with the lowest loss; the chosen out-of-fold
predictions are kept to fit the calibrator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxgate.routing.learned.heads import Array, build_head

HeadSpec = dict[str, float | int | str]
StepFn = Callable[[], None]


def default_candidates(embed_dim: int, n_rows: int) -> list[HeadSpec]:
    """Logistic at four strengths (the last is nearly the per-model mean), kNN at two sizes, a small MLP."""
    candidates: list[HeadSpec] = [{"kind": "logistic", "l2": l2} for l2 in (30.0, 300.0, 3000.0, 30000.0)]
    candidates += [{"kind": "knn", "k": k, "embed_dim": embed_dim, "prior_weight": 2.0} for k in (20, 80)]
    candidates.append(mlp_spec(n_rows))
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
    """Per model the candidates whose mean it uses, those out-of-fold predictions, and every CV loss.

    `cv_loss` has a row per candidate and a last row for the ensemble (the mean of the best
    candidate of each kind), which a model uses only where cross-validation prefers it.
    """

    choice: list[tuple[int, ...]]
    oof_predictions: Array
    cv_loss: Array  # (n_candidates + 1, n_models)


def _best_of_each_kind(candidates: Sequence[HeadSpec], losses: Array, model: int) -> tuple[int, ...]:
    best: dict[str, int] = {}
    for index, spec in enumerate(candidates):
        kind = str(spec["kind"])
        if kind not in best or losses[index, model] < losses[best[kind], model]:
            best[kind] = index
    return tuple(sorted(best.values()))


def select_heads(
    candidates: Sequence[HeadSpec],
    x: Array,
    y: Array,
    folds: int,
    seed: int,
    on_step: StepFn | None = None,
) -> Selection:
    ids = fold_ids(x.shape[0], folds, seed)
    oof = np.stack([out_of_fold(spec, x, y, ids, on_step) for spec in candidates])
    losses = np.stack([cross_entropy_per_model(pred, y) for pred in oof])
    ensembles = [_best_of_each_kind(candidates, losses, j) for j in range(y.shape[1])]
    ensemble_oof = np.column_stack([oof[list(e), :, j].mean(axis=0) for j, e in enumerate(ensembles)])
    losses = np.vstack([losses, cross_entropy_per_model(ensemble_oof, y)])
    choice: list[tuple[int, ...]] = []
    for j, ensemble in enumerate(ensembles):
        best = int(np.argmin(losses[:, j]))
        choice.append(ensemble if best == len(candidates) else (best,))
    chosen = np.column_stack([oof[list(c), :, j].mean(axis=0) for j, c in enumerate(choice)])
    return Selection(choice=choice, oof_predictions=chosen, cv_loss=losses)
