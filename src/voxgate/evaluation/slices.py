"""Evaluating every router on one slice: train on TRAIN rows, replay on its TEST rows.

Routers, all computed in the same run:
- `voxgate`: the learned predictor (per model a blend of heads chosen by CV, calibrated) with the
  cost/quality knob, trained on the TRAIN rows of every slice of the dataset with the same models
  (`PooledTrain`): cross-validation on TRAIN (`bench/eval_design.py`) preferred that to one
  slice's rows (RouterBench AIQ 0.9297 / 0.6837 / 0.8137 pooled against 0.9251 / 0.6814 / 0.8113
  per slice on arc_challenge / mbpp / winograde).
  (`pareto_models` restricts the choice to the TRAIN Pareto front; `bench/eval_design.py` found
  it no better in cross-validation on TRAIN, so it is off.)
- `knn-5`, `knn-10`, `knn-40`, `mlp`: RouterBench-style predictive baselines over the embedding
  alone (no cheap features, no calibration), trained on the slice's TRAIN rows as RouterBench
  did, same knob; details.json also gives their AIQ when trained on the pooled rows.
- `random`: random mixing of single models (RouterBench's zero router; its expected curve is the
  hull of the single models); on a two-model slice also RouteLLM's random router for APGR/CPT.
- `oracle`: the cheapest best-scoring model per query; one router per single model.
- where the slice has answers and a checker was trained: the cascade routers of
  `cascade_replay` (`voxgate-cascade`, `agreement`, `routerbench-cascade-0.1` / `-0.2`). The
  shared cost range of AIQ comes from the other routers, so adding them leaves their AIQ as it
  was (a cascade that tries every model costs more than any one model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxgate.evaluation import metrics, replay
from voxgate.evaluation.cascade_replay import CASCADE_ROUTERS, CascadeFigures, ReplayInputs, cascade_routers
from voxgate.evaluation.checker_training import AnswerFeatures, StageScorer
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.learned.answer_checker import AnswerChecker
from voxgate.routing.learned.calibration import expected_calibration_error, reliability_bins
from voxgate.routing.learned.heads import Array, KnnHead, MlpHead, build_head
from voxgate.routing.learned.selection import mlp_spec
from voxgate.routing.learned.trained_predictor import LearnedPredictor

StepFn = Callable[[], None]
KNN_SIZES = (5, 10, 40)
QUARTER = 0.25  # issue 4's ARC target: GPT-4-level accuracy at under 25 % of its cost
CASCADE_SHARE = 0.30  # issue 12's ARC target: accuracy >= 0.94 at <= 30 % of GPT-4's cost
RANDOM_SEED = 0


@dataclass
class SliceResult:
    """Points per router plus the figures of report.json and the details beside it."""

    name: str
    points: dict[str, Array]
    figures: dict[str, dict[str, Any]]
    details: dict[str, Any] = field(default_factory=dict)
    single_models: tuple[str, ...] = ()
    predictor: LearnedPredictor | None = None


def pareto_models(table: OutcomeTable) -> list[int]:
    """Models no other model beats on both mean cost and mean score (ties keep both)."""
    cost, score = table.costs_usd.mean(axis=0), table.filled_scores().mean(axis=0)
    keep = []
    for j in range(len(table.models)):
        dominated = (cost <= cost[j]) & (score >= score[j]) & ((cost < cost[j]) | (score > score[j]))
        if not dominated.any():
            keep.append(j)
    return keep


def baseline_qualities(e_train: Array, y_train: Array, e_test: Array) -> dict[str, Array]:
    """RouterBench-style kNN and MLP predictions over the embedding alone."""
    out: dict[str, Array] = {}
    for k in KNN_SIZES:
        knn = KnnHead(k=k, prior_weight=0.0)
        knn.fit(e_train, y_train)
        out[f"knn-{k}"] = knn.predict_proba(e_test)
    scale = np.sqrt(e_train.shape[1])
    mlp = build_head(mlp_spec(e_train.shape[0]))
    assert isinstance(mlp, MlpHead)
    mlp.fit(e_train * scale, y_train)
    out["mlp"] = mlp.predict_proba(e_test * scale)
    return out


def _pair_figures(
    result: SliceResult, qualities: dict[str, Array], test: OutcomeTable, train: OutcomeTable,
    cascade_wins: dict[str, Array] | None = None,
) -> None:
    """APGR and CPT(50 %), CPT(80 %) on a strong/weak pair, RouteLLM's way (a cascade's strong-win
    score: how strongly its check rejects the weak model's answer)."""
    strong, weak = replay.strong_weak(test, train)
    scores = test.filled_scores()
    s_acc, w_acc = float(scores[:, strong].mean()), float(scores[:, weak].mean())
    rng = np.random.default_rng(RANDOM_SEED)
    wins = {name: q[:, strong] - q[:, weak] for name, q in qualities.items()}
    wins["random"] = rng.random(len(test.prompts))
    wins |= cascade_wins or {}
    curves = {}
    for name, win in wins.items():
        curve = metrics.threshold_curve(win, scores[:, strong], scores[:, weak])
        curves[name] = curve.tolist()
        figures = result.figures[name]
        figures["apgr"] = metrics.apgr(curve, s_acc, w_acc)
        for fraction, key in ((0.5, "cpt50"), (0.8, "cpt80")):
            value = metrics.cpt(curve, s_acc, w_acc, fraction)
            if value is not None:
                figures[key] = value
    result.details["strong_model"], result.details["weak_model"] = test.models[strong], test.models[weak]
    result.details["strong_call_curves"] = curves


def _cost_figures(result: SliceResult, singles: dict[str, tuple[float, float]]) -> None:
    every = np.vstack([p for name, p in result.points.items() if name not in CASCADE_ROUTERS])
    cost_min, cost_max = float(every[:, 0].min()), float(every[:, 0].max())
    best_model, (best_cost, best_acc) = max(singles.items(), key=lambda kv: (kv[1][1], -kv[1][0]))
    result.details |= {
        "best_single_model": best_model,
        "best_single_cost_usd": best_cost,
        "best_single_accuracy": best_acc,
        "cost_range_usd": [cost_min, cost_max],
        "accuracy_at_best_cost": {},
        "accuracy_at_quarter_of_best_cost": {},
        "accuracy_at_30pct_of_best_cost": {},
        "cost_usd_at_best_accuracy": {},
    }
    for name, points in result.points.items():
        result.figures[name]["aiq"] = metrics.aiq(points, cost_min, cost_max)
        result.details["accuracy_at_best_cost"][name] = metrics.hull_value_at(points, best_cost)
        quarter = metrics.hull_value_at(points, QUARTER * best_cost)
        result.details["accuracy_at_quarter_of_best_cost"][name] = quarter
        at_30pct = metrics.hull_value_at(points, CASCADE_SHARE * best_cost)
        result.details["accuracy_at_30pct_of_best_cost"][name] = at_30pct
        result.details["cost_usd_at_best_accuracy"][name] = metrics.hull_cost_for(points, best_acc)


@dataclass(frozen=True)
class PooledTrain:
    """TRAIN rows of every slice of a dataset that share one model list (voxgate trains on these)."""

    prompts: list[str]
    embeddings: Array
    scores: Array


def pool_train_rows(tables: list[OutcomeTable], embeddings: list[Array]) -> PooledTrain:
    return PooledTrain(
        prompts=[p for t in tables for p in t.train().prompts],
        embeddings=np.vstack([e[~t.is_test] for t, e in zip(tables, embeddings, strict=True)]),
        scores=np.vstack([t.train().scores for t in tables]),
    )


def _pooled_baseline_aiqs(
    result: SliceResult, pooled: PooledTrain, e_test: Array, test: OutcomeTable, expected_cost: Array
) -> None:
    """Beside the per-slice baselines, the same kNN/MLP trained on the pooled rows (details only)."""
    cost_min, cost_max = result.details["cost_range_usd"]
    pooled_aiq = {}
    for name, q in baseline_qualities(pooled.embeddings, pooled.scores, e_test).items():
        pooled_aiq[name] = metrics.aiq(replay.lambda_sweep(q, expected_cost, test), cost_min, cost_max)
    result.details["aiq_of_baselines_trained_on_pooled_rows"] = pooled_aiq


def _unfamiliar_rows(predictor: LearnedPredictor, e_test: Array) -> int:
    """TEST prompts under the predictor's similarity floor: `voxgate serve` would route them with
    the heuristic; the replay here keeps the learned predictions for every row."""
    if predictor.support is None or not len(e_test):
        return 0
    return int((predictor.support.nearest_similarity(e_test) < predictor.support.threshold).sum())


@dataclass(frozen=True)
class AnswerChecks:
    """The trained checker and the slice's answer features (all rows): the cascades' P(good)."""

    checker: AnswerChecker
    features: AnswerFeatures


def _cascade(
    table: OutcomeTable, e_train: Array, predictor: LearnedPredictor, test_inputs: ReplayInputs,
    checks: AnswerChecks,
) -> CascadeFigures:
    """The cascade routers on TEST; the knob setting for the operating point is chosen on TRAIN rows
    with the checker's in-sample P(good) (details.json gives its in-sample and out-of-fold AUC)."""
    train = table.train()
    q_train = predictor.predict_matrix(e_train, train.prompts)
    cost_train = replay.CostEstimator(train).estimate(train.prompts)
    scorer = StageScorer(checks.checker, checks.features.subset(~table.is_test))
    train_inputs = ReplayInputs(train, q_train, cost_train, scorer)
    pair = replay.strong_weak(test_inputs.table, train) if len(table.models) == 2 else None
    return cascade_routers(test_inputs, train_inputs, pair)


def evaluate_slice(
    table: OutcomeTable, embeddings: Array, predictor: LearnedPredictor, pooled: PooledTrain,
    checks: AnswerChecks | None = None,
) -> SliceResult:
    """Measure every router on `table`'s TEST rows; baselines train on its TRAIN rows."""
    train, test = table.train(), table.test()
    e_train, e_test = embeddings[~table.is_test], embeddings[table.is_test]
    quality = predictor.predict_matrix(e_test, test.prompts)
    qualities = {"voxgate": quality} | baseline_qualities(e_train, train.scores, e_test)
    expected_cost = replay.CostEstimator(train).estimate(test.prompts)
    points = {name: replay.lambda_sweep(q, expected_cost, test) for name, q in qualities.items()}
    cascade = None
    if checks is not None:
        scorer = StageScorer(checks.checker, checks.features.subset(table.is_test))
        test_inputs = ReplayInputs(test, quality, expected_cost, scorer)
        cascade = _cascade(table, e_train, predictor, test_inputs, checks)
        points |= cascade.points
    singles = replay.single_model_points(test)
    points["random"] = metrics.nondecreasing_hull(np.array(list(singles.values())))
    points["oracle"] = np.array([replay.outcome_point(replay.oracle_choice(test), test)])
    points |= {model: np.array([point]) for model, point in singles.items()}
    figures: dict[str, dict[str, Any]] = {name: {"points": p.tolist()} for name, p in points.items()}
    result = SliceResult(table.name, points, figures, single_models=test.models, predictor=predictor)
    _cost_figures(result, singles)
    if len(table.models) == 2:
        _pair_figures(result, qualities, test, train, None if cascade is None else cascade.wins)
    if cascade is not None and checks is not None:
        report = checks.checker.report | {"version": checks.checker.version}
        result.details["cascade"] = cascade.details | {"checker": report}
    _pooled_baseline_aiqs(result, pooled, e_test, test, expected_cost)
    result.details |= {
        "rows_train": len(train.prompts),
        "rows_train_pooled": len(pooled.prompts),
        "rows_test": len(test.prompts),
        "predictor_version": predictor.version,
        "ece_test_calibrated": expected_calibration_error(quality, test.scores),
        "auc_test": dict(zip(test.models, metrics.auc_per_model(quality, test.scores), strict=True)),
        "reliability_test": reliability_bins(quality, test.scores),  # (mean predicted, observed, cells)
        "test_rows_unfamiliar": _unfamiliar_rows(predictor, e_test),
        "predictor_report": predictor.report,
        "notes": list(table.notes),
    }
    return result
