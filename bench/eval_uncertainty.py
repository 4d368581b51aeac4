"""How sure is a TEST difference? Bootstrap of AIQ over the TEST rows of each slice.

Reads the predictors a finished `voxgate eval` saved (nothing is trained or tuned again), rebuilds
the baselines exactly as `voxgate eval` does, and resamples the TEST rows with replacement: each
resample replays every router and recomputes AIQ over that resample's cost range. Prints, per
slice, voxgate's AIQ minus the best of kNN-5/10/40 and MLP on the full TEST set, the 95 %
bootstrap interval of that difference, and how often voxgate comes out ahead.

    .venv/bin/python bench/eval_uncertainty.py routerbench --report reports/routerbench
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxgate.evaluation import metrics, replay
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.report import plot_file_name
from voxgate.evaluation.slices import baseline_qualities
from voxgate.routing.learned.embedders import embedder_for_id
from voxgate.routing.learned.embedding import CachedEmbedder
from voxgate.routing.learned.trained_predictor import load_predictor

BASELINES = ("knn-5", "knn-10", "knn-40", "mlp")


def aiq_margin(test: OutcomeTable, qualities: dict[str, np.ndarray], cost: np.ndarray) -> float:
    """voxgate's AIQ minus the best baseline's, with the cost range of every router and model."""
    points = {name: replay.lambda_sweep(q, cost, test) for name, q in qualities.items()}
    singles = np.array(list(replay.single_model_points(test).values()))
    oracle = np.array([replay.outcome_point(replay.oracle_choice(test), test)])
    every = np.vstack([*points.values(), singles, oracle])
    low, high = float(every[:, 0].min()), float(every[:, 0].max())
    aiqs = {name: metrics.aiq(p, low, high) for name, p in points.items()}
    return aiqs["voxgate"] - max(aiqs[b] for b in BASELINES)


def bootstrap_slice(table: OutcomeTable, embeddings: np.ndarray, report: Path, resamples: int) -> None:
    train, test = table.train(), table.test()
    predictor = load_predictor(report / "predictors" / plot_file_name(table.name).removesuffix(".png"))
    e_test = embeddings[table.is_test]
    qualities = {"voxgate": predictor.predict_matrix(e_test, test.prompts)}
    qualities |= baseline_qualities(embeddings[~table.is_test], train.scores, e_test)
    cost = replay.CostEstimator(train).estimate(test.prompts)
    observed = aiq_margin(test, qualities, cost)
    rng = np.random.default_rng(0)
    margins = []
    n = len(test.prompts)
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        sample = OutcomeTable(
            name=test.name,
            prompts=[test.prompts[i] for i in rows],
            models=test.models,
            scores=test.scores[rows],
            costs_usd=test.costs_usd[rows],
            is_test=test.is_test[rows],
        )
        margins.append(aiq_margin(sample, {k: q[rows] for k, q in qualities.items()}, cost[rows]))
    low, high = np.percentile(margins, [2.5, 97.5])
    ahead = float(np.mean(np.array(margins) > 0))
    print(
        f"{table.name}: voxgate - best baseline AIQ {observed:+.4f}, 95 % bootstrap [{low:+.4f}, {high:+.4f}], "
        f"voxgate ahead in {ahead:.0%} of {resamples} resamples",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--report", type=Path, required=True, help="the --out folder of a finished voxgate eval")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    tables = load_dataset(args.dataset, args.data_root)
    first = load_predictor(args.report / "predictors" / plot_file_name(tables[0].name).removesuffix(".png"))
    embedder = CachedEmbedder(embedder_for_id(first.embedder_id), args.cache_dir.expanduser())  # the one it used
    for table in tables:
        embeddings = embedder.embed(table.prompts).astype(np.float64)
        bootstrap_slice(table, embeddings, args.report, args.resamples)


if __name__ == "__main__":
    main()
