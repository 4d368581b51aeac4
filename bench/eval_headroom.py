"""How well must a predictor separate right from wrong answers to reach a routing target? TRAIN rows only.

For every slice of a dataset, the TRAIN rows are split into K folds as in `eval_design.py`. On
each held-out fold a *synthetic* predictor is replayed beside voxgate's: for every (query, model)
it sees a noisy signal `d * correct + N(0, 1)` and turns it into the exact posterior probability
of a correct answer (so it is perfectly calibrated, and its AUC for that model is Phi(d / sqrt 2)).
Sweeping `d` gives the accuracy-vs-cost figures a router of a given discrimination reaches on
this data, with the same lambda sweep, cost estimate and metrics as `voxgate eval`.

`--measured` also trains voxgate's predictor (the shipped recipe) on the other folds and prints
its out-of-fold AUC per model, so the two can be read side by side: "the target needs AUC x; the
prompt gives y".

    PYTHONPATH=. .venv/bin/python bench/eval_headroom.py routerbench --measured
"""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import NormalDist

import numpy as np

from bench.eval_design import GPT4, SHARE_OF_GPT4_COST, pair_apgr, pooled_fold, pooled_variant
from voxgate.evaluation import metrics, replay
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.learned.embedders import DEFAULT_EMBEDDER, EMBEDDER_NAMES, make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder
from voxgate.routing.learned.selection import default_candidates, fold_ids

AUC_LEVELS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
SEEDS = 5


def separation_for_auc(auc: float) -> float:
    """The `d` of a signal `d * correct + N(0, 1)` whose AUC is `auc`."""
    return float(np.sqrt(2.0) * NormalDist().inv_cdf(auc))


def synthetic_quality(scores: np.ndarray, base_rate: np.ndarray, auc: float, rng: np.random.Generator) -> np.ndarray:
    """Calibrated P(correct) from a noisy signal of the true outcome (unknown cells: the base rate)."""
    d = separation_for_auc(auc)
    known = ~np.isnan(scores)
    truth = np.where(known, scores, 0.0) >= 0.5
    signal = d * truth + rng.standard_normal(scores.shape)
    rate = np.clip(base_rate, 1e-3, 1 - 1e-3)
    prior_logit = np.log(rate / (1.0 - rate))[None, :]
    posterior = 1.0 / (1.0 + np.exp(-(prior_logit + d * signal - d * d / 2.0)))
    return np.where(known, posterior, base_rate[None, :])


def figures(fit: OutcomeTable, val: OutcomeTable, quality: np.ndarray) -> dict[str, float]:
    """AIQ (cost range of the singles and oracle), accuracy at 25 % of GPT-4's cost, pair APGR."""
    cost = replay.CostEstimator(fit).estimate(val.prompts)
    points = replay.lambda_sweep(quality, cost, val)
    singles = replay.single_model_points(val)
    oracle = replay.outcome_point(replay.oracle_choice(val), val)
    every = np.vstack([points, np.array(list(singles.values())), [oracle]])
    out = {"aiq": metrics.aiq(points, float(every[:, 0].min()), float(every[:, 0].max()))}
    if GPT4 in val.models and len(val.models) > 2:
        out["acc@25%gpt4"] = metrics.hull_value_at(points, SHARE_OF_GPT4_COST * singles[GPT4][0])
    if len(val.models) == 2:
        out["apgr"] = pair_apgr(fit, val, {"predictor": quality})["predictor@apgr"]
    return out


def synthetic_rows(table: OutcomeTable, ids: np.ndarray, folds: int) -> dict[float, dict[str, float]]:
    train = table.train()
    runs: dict[float, list[dict[str, float]]] = {auc: [] for auc in AUC_LEVELS}
    for f in range(folds):
        fit, val = train.subset(ids != f, "fit"), train.subset(ids == f, "val")
        base_rate = np.nanmean(fit.scores, axis=0)
        for auc in AUC_LEVELS:
            for seed in range(SEEDS):
                rng = np.random.default_rng(1000 * f + seed)
                runs[auc].append(figures(fit, val, synthetic_quality(val.scores, base_rate, auc, rng)))
    return {auc: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for auc, rs in runs.items()}


def measured_rows(
    tables: list[OutcomeTable], embeddings: list[np.ndarray], ids: np.ndarray, folds: int, embedder_id: str
) -> dict[str, tuple[np.ndarray, dict[str, float]]]:
    """voxgate's out-of-fold AUC per model and its figures, per slice (trained on pooled folds)."""
    slice_ids = np.concatenate([np.full(len(t.train().prompts), i) for i, t in enumerate(tables)])
    predicted = [np.zeros(t.train().scores.shape) for t in tables]
    run = pooled_variant(default_candidates)
    for f in range(folds):
        fold = pooled_fold(tables, embeddings, slice_ids, held=ids == f)
        quality = run(fold, embedder_id)
        for i in range(len(tables)):
            predicted[i][ids[slice_ids == i] == f] = quality[slice_ids[fold.held] == i]
        print(f"voxgate fold {f + 1}/{folds} trained", flush=True)
    out = {}
    for i, table in enumerate(tables):
        train, mine = table.train(), ids[slice_ids == i]
        per_fold = [
            figures(train.subset(mine != f, "fit"), train.subset(mine == f, "val"), predicted[i][mine == f])
            for f in range(folds)
        ]
        out[table.name] = (
            np.array(metrics.auc_per_model(predicted[i], train.scores), dtype=float),
            {k: float(np.mean([r[k] for r in per_fold])) for k in per_fold[0]},
        )
    return out


def print_slice(table: OutcomeTable, synthetic: dict[float, dict[str, float]]) -> None:
    keys = list(next(iter(synthetic.values())))
    print(f"\n{table.name} (TRAIN, {len(table.train().prompts)} rows): synthetic predictor of a given AUC")
    print("| AUC | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for auc, row in synthetic.items():
        print(f"| {auc:.2f} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="routerbench, routellm or open7b")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedder", choices=EMBEDDER_NAMES, default=DEFAULT_EMBEDDER)
    parser.add_argument("--measured", action="store_true", help="also train voxgate's predictor per fold")
    args = parser.parse_args()
    tables = load_dataset(args.dataset, args.data_root)
    n_train = sum(len(t.train().prompts) for t in tables)
    ids = fold_ids(n_train, args.folds, args.seed)
    slice_ids = np.concatenate([np.full(len(t.train().prompts), i) for i, t in enumerate(tables)])
    for i, table in enumerate(tables):
        print_slice(table, synthetic_rows(table, ids[slice_ids == i].astype(int), args.folds))
    if not args.measured:
        return
    embedder = CachedEmbedder(make_embedder(args.embedder), args.cache_dir.expanduser())
    embeddings = [embedder.embed(t.prompts).astype(np.float64)[~t.is_test] for t in tables]
    for name, (aucs, figs) in measured_rows(tables, embeddings, ids, args.folds, embedder.embedder_id).items():
        table = next(t for t in tables if t.name == name)
        shown = " ".join(f"{k}={v:.4f}" for k, v in figs.items())
        print(f"\n{name}: voxgate ({embedder.embedder_id}) out-of-fold, {shown}")
        for model, auc in zip(table.models, aucs, strict=True):
            print(f"   AUC {model}: {auc:.3f}")


if __name__ == "__main__":
    main()
