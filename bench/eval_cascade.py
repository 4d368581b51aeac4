"""Is the cascade's TEST margin real? Bootstrap of AIQ: voxgate-cascade against predict-only voxgate, kNN, MLP.

Reads what a finished `voxgate eval` saved (the predictor per slice under `predictors/`, the
answer checker under `checkers/`; nothing is trained or tuned again), rebuilds the kNN/MLP
baselines as `voxgate eval` does, and replays every router once, query by query: each knob
setting's per-query cost and score. A resample of the TEST rows then only re-adds those, so every
resample replays every router over the same rows. Prints, per slice, the AIQ of each router,
voxgate-cascade minus the best of (voxgate, kNN-5/10/40, MLP) with its 95 % bootstrap interval,
and how often the cascade comes out ahead.

    .venv/bin/python -m bench.eval_cascade routerbench --report reports/routerbench
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from voxgate.evaluation import metrics, replay
from voxgate.evaluation.cascade_replay import agreement_orders, cascade_runs
from voxgate.evaluation.checker_training import StageScorer, answer_features_of
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.report import plot_file_name
from voxgate.evaluation.slices import baseline_qualities
from voxgate.routing.learned.answer_checker import load_checker
from voxgate.routing.learned.embedders import embedder_for_id
from voxgate.routing.learned.embedding import CachedEmbedder
from voxgate.routing.learned.heads import Array
from voxgate.routing.learned.trained_predictor import load_predictor

RIVALS = ("voxgate", "knn-5", "knn-10", "knn-40", "mlp")
PerQuery = tuple[Array, Array]  # (settings, rows) cost and score of each knob setting, query by query


def lambda_rows(quality: Array, expected_cost: Array, test: OutcomeTable) -> PerQuery:
    rows = np.arange(len(test.prompts))
    choices = [choice for _, choice in replay.lambda_choices(quality, expected_cost)]
    scores = test.filled_scores()
    return np.array([test.costs_usd[rows, c] for c in choices]), np.array([scores[rows, c] for c in choices])


def fixed_rows(choice: Array, test: OutcomeTable) -> PerQuery:
    rows = np.arange(len(test.prompts))
    return test.costs_usd[rows, choice][None, :], test.filled_scores()[rows, choice][None, :]


def aiqs(per_query: dict[str, PerQuery], rows: NDArray[np.int64]) -> dict[str, float]:
    """AIQ of every router on the resample `rows`; the cost range leaves the cascade out, as `voxgate eval` does."""
    points = {
        name: np.column_stack([cost[:, rows].sum(axis=1), score[:, rows].mean(axis=1)])
        for name, (cost, score) in per_query.items()
    }
    every = np.vstack([p for name, p in points.items() if name != "voxgate-cascade"])
    low, high = float(every[:, 0].min()), float(every[:, 0].max())
    return {name: metrics.aiq(p, low, high) for name, p in points.items() if name in (*RIVALS, "voxgate-cascade")}


def slice_rows(table: OutcomeTable, embeddings: Array, report: Path, checker_dir: Path) -> dict[str, PerQuery]:
    train, test = table.train(), table.test()
    predictor = load_predictor(report / "predictors" / plot_file_name(table.name).removesuffix(".png"))
    e_test = embeddings[table.is_test]
    qualities = {"voxgate": predictor.predict_matrix(e_test, test.prompts)}
    qualities |= baseline_qualities(embeddings[~table.is_test], train.scores, e_test)
    cost = replay.CostEstimator(train).estimate(test.prompts)
    per_query = {name: lambda_rows(q, cost, test) for name, q in qualities.items()}
    scorer = StageScorer(load_checker(checker_dir), answer_features_of(table).subset(table.is_test))
    runs = list(cascade_runs(qualities["voxgate"], cost, scorer, test, agreement_orders(train)).values())
    scores, rows = test.filled_scores(), np.arange(len(test.prompts))
    per_query["voxgate-cascade"] = (
        np.array([r.cost_usd for r in runs]),
        np.array([scores[rows, r.returned.astype(int)] for r in runs]),
    )
    per_query["oracle"] = fixed_rows(replay.oracle_choice(test), test)
    for j, model in enumerate(test.models):
        per_query[model] = fixed_rows(np.full(len(test.prompts), j), test)
    return per_query


def bootstrap(name: str, per_query: dict[str, PerQuery], resamples: int) -> str:
    n = next(iter(per_query.values()))[0].shape[1]
    observed = aiqs(per_query, np.arange(n, dtype=np.int64))
    best = max(RIVALS, key=lambda r: observed[r])
    rng = np.random.default_rng(0)
    margins = []
    for _ in range(resamples):
        sample = aiqs(per_query, np.asarray(rng.integers(0, n, size=n), dtype=np.int64))
        margins.append(sample["voxgate-cascade"] - max(sample[r] for r in RIVALS))
    low, high = np.percentile(margins, [2.5, 97.5])
    cells = " | ".join(f"{observed[r]:.4f}" for r in (*RIVALS, "voxgate-cascade"))
    return (f"| {name} ({n} rows) | {cells} | {observed['voxgate-cascade'] - observed[best]:+.4f} ({best}) "
            f"| [{low:+.4f}, {high:+.4f}] | {np.mean(np.array(margins) > 0):.0%} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--report", type=Path, required=True, help="the --out folder of a finished voxgate eval")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    tables = [t for t in load_dataset(args.dataset, args.data_root) if t.answers is not None]
    checker_dir = next((args.report / "checkers").iterdir())
    first = load_predictor(args.report / "predictors" / plot_file_name(tables[0].name).removesuffix(".png"))
    embedder = CachedEmbedder(embedder_for_id(first.embedder_id), args.cache_dir.expanduser())  # the one it used
    print(f"| TEST AIQ | {' | '.join(RIVALS)} | voxgate-cascade | cascade - best of the others | 95 % bootstrap "
          f"({args.resamples} resamples) | cascade ahead |")  # fmt: skip
    print("|---" * (len(RIVALS) + 5) + "|")
    for table in tables:
        embeddings = embedder.embed(table.prompts).astype(np.float64)
        per_query = slice_rows(table, embeddings, args.report, checker_dir)
        print(bootstrap(table.name, per_query, args.resamples), flush=True)


if __name__ == "__main__":
    main()
