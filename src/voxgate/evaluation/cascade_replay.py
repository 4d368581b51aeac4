"""Cascades replayed over recorded answers: which answer each query ends with, and what it cost.

Every tried stage is paid for (its realised cost on that query); the query scores what the
returned answer scored. Routers:

- `voxgate-cascade`: per query, the pure planner (`routing.cascade.planner`) orders the stages
  from the predictor's qualities and the expected costs: models no dearer than the predict-only
  choice at a given λ, cheapest first, ending on the dearest of them (the λ choice itself), at most
  `max_stages`; the learned checker's P(good) of each stage's recorded answer (the earlier
  stages' answers are its peers) goes through the pure rule (`routing.cascade.rule`, the code
  the live cascade runs) with the bar `accept`. The knob is (λ, max_stages, accept, agreement)
  over fixed grids; its points trace the curve. `max_stages` 1 is the plain prediction at that λ
  (the planner's single stage), run at every λ of the predict-only router's grid, so the curve
  holds the plain prediction's points: the cascade's AIQ is never below predict-only voxgate's,
  and what it adds is what checking answers buys.
  With `agreement` (live: `routing.cascade.agreement`, `routing.cascade.runner`), a plan of three
  stages or more has its first two answer side by side: both are paid for whatever the rule
  decides, each one's answer is the other's peer (the checker's peer features, and the live
  `agreement` check's verdict, `checks.agreement_result`, among the stage's results), and a later
  stage has every earlier answer as peers. Agreement is only gridded with `max_stages` 3 (with
  fewer stages the live runner answers one stage at a time).
  Two more knob dimensions, both live settings: `middle_cost_share` (live:
  `routing.cascade.middle_cost_share`; the planner skips a stage before the last whose expected
  cost is over that share of the last stage's) over `MIDDLE_COST_SHARES`, and explicit stage
  orders (live: `routing.cascade.models` with `agreement: true`): two cheap models side by side,
  then the strongest (highest TRAIN mean), one order per pair whose plain agreement point is on
  TRAIN's cost/accuracy Pareto front (`agreement_orders`, at most `MAX_ORDERS`), each with every
  bar; λ does not apply to them (None). And the hopeless floor (live: `hopeless_below` in the
  cascade defaults file; the bundled ladder's is 0.35): a stage before the last whose predicted
  quality is under it is skipped, over `HOPELESS_FLOORS`. Where the predictor knows which prompts
  a cheap model cannot answer, not asking it saves that stage's cost.
- `agreement`: two cheap models answer; when their final answers (`answer_text.final_answer`)
  agree the cheaper one's answer is returned, else the strongest model (highest TRAIN mean) is
  asked. One point per pair of models cheaper than the strongest.
- `routerbench-cascade-<error rate>`: RouterBench's cascading router (withmartian/routerbench
  `routers/run_cascading_router.py`): models from cheapest to dearest (here by mean TRAIN cost),
  a simulated judge that accepts a correct answer (score at or above the 95th percentile of
  scores) and rejects a wrong one except with the given error rate, where it does the opposite;
  a stage is skipped once its cost would exceed what is left of a per-query cost cap (after
  the first stage); the query scores the last tried answer. The knob is the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations, product
from typing import Any, NamedTuple

import numpy as np

from voxgate.core.types import RoutingConstraints
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.replay import LAMBDA_GRID, lambda_choice, lambda_choices
from voxgate.routing.cascade.checks import agreement_result
from voxgate.routing.cascade.evidence import CheckResult
from voxgate.routing.cascade.planner import CascadeSettings, plan_cascade
from voxgate.routing.cascade.rule import run_cascade_rule
from voxgate.routing.learned.answer_text import final_answer
from voxgate.routing.learned.heads import Array
from voxgate.routing.policy import Candidate

ACCEPT_GRID = tuple(round(float(a), 2) for a in np.arange(0.30, 0.96, 0.05))
STAGE_LIMITS = (1, 2, 3)  # 1: the predict-only choice at that λ, no answer checked
AGREEMENT_MIN_STAGES = 3  # the live runner answers the first two stages side by side only in plans this long
CASCADE_LAMBDAS = tuple(float(x) for x in LAMBDA_GRID[::8])
MIDDLE_COST_SHARES = (None, 0.25)  # None: the planner's default (only stages as dear as the last are skipped)
HOPELESS_FLOORS = (None, 0.2, 0.35, 0.5)  # None: the planner's default floor (0.05)
MAX_ORDERS = 6  # explicit agreement orders tried: the cheapest pairs on TRAIN's Pareto front
JUDGE_ERROR_RATES = (0.1, 0.2)
JUDGE_SCORE_QUANTILE = 0.95
JUDGE_CAP_STEPS = 30
JUDGE_SEED = 0
CHECK_NAME = "learned"


class Config(NamedTuple):
    """One knob setting of `voxgate-cascade` (the live `routing.cascade` fields, plus λ)."""

    lam: float | None  # None: an explicit order, no λ choice
    max_stages: int
    accept: float
    agreement: bool
    middle_cost_share: float | None = None
    models: tuple[str, ...] | None = None  # an explicit stage order
    hopeless_below: float | None = None  # None: the planner's default floor


CONFIG_NAMES = ("lambda", "max_stages", "accept", "agreement", "middle_cost_share", "models", "hopeless_below")
Scorer = Callable[[int, int, tuple[int, ...]], float]  # P(good) of (row, model) with those models' answers as peers
Finals = Sequence[Sequence[str | None]]  # per (row, model): the final answer (None: none stated or none recorded)
CASCADE_ROUTERS = (
    "voxgate-cascade", "agreement", *(f"routerbench-cascade-{rate:g}" for rate in JUDGE_ERROR_RATES),
)  # fmt: skip


@dataclass(frozen=True)
class CascadeRun:
    """Per query: the stage models tried (column indices), the returned one, the cost paid."""

    tried: list[list[int]]
    returned: Array
    cost_usd: Array

    def point(self, scores: Array) -> tuple[float, float]:
        rows = np.arange(len(self.returned))
        return float(self.cost_usd.sum()), float(scores[rows, self.returned.astype(int)].mean())


@dataclass(frozen=True)
class RecordedFinals:
    """Per (row, model): whether an answer was recorded, and its final answer (`answer_text.final_answer`)."""

    finals: Finals
    known: Array

    @classmethod
    def of(cls, table: OutcomeTable) -> RecordedFinals | None:
        if table.answers is None:
            return None
        finals = [[None if a is None else final_answer(a.text) for a in row] for row in table.answers]
        known = np.array([[a is not None for a in row] for row in table.answers], dtype=bool)
        return cls(finals, known.reshape(len(table.answers), len(table.models)))


def _stage_results(p_good: float, agreement: CheckResult | None = None) -> list[CheckResult]:
    if np.isnan(p_good):
        return []  # no recorded answer to judge: nothing vouches for it, the rule escalates
    learned = CheckResult.scored(CHECK_NAME, p_good, p_good, "learned P(good)", "replayed")
    return [learned] if agreement is None else [agreement, learned]


def stage_peers(stages: Sequence[int], k: int, agreement: bool) -> tuple[int, ...]:
    """The models whose answers stage k sees: the earlier stages; with agreement in a plan of
    `AGREEMENT_MIN_STAGES` or more, stages 1 and 2 (answered side by side) see each other."""
    if agreement and len(stages) >= AGREEMENT_MIN_STAGES and k < 2:
        return (stages[1 - k],)
    return tuple(stages[:k])


def _agreement_check(i: int, j: int, peers: Sequence[int], recorded: RecordedFinals) -> CheckResult:
    """The live agreement check on recorded final answers (peers without a recorded answer left out)."""
    answered = {str(k): recorded.finals[i][k] for k in peers if recorded.known[i, k]}
    return agreement_result(recorded.finals[i][j], answered)


def plan_stages(
    quality: Array, expected_cost: Array, lam: float | None, max_stages: int, models: Sequence[str],
    middle_cost_share: float | None = None, order: tuple[str, ...] | None = None,
    hopeless_below: float | None = None,
) -> list[list[int]]:
    """Per query, the planner's stage order among models no dearer than the λ choice (with an
    explicit `order`, λ None: every model is a candidate and the planner keeps that order)."""
    ceilings = np.full(quality.shape[0], np.inf)
    if lam is not None:
        target = lambda_choice(quality, expected_cost, lam)
        ceilings = expected_cost[np.arange(quality.shape[0]), target]
    settings = CascadeSettings(max_stages=max_stages, models=order, middle_cost_share=middle_cost_share)
    if hopeless_below is not None:
        settings = replace(settings, hopeless_below=hopeless_below)
    index = {m: j for j, m in enumerate(models)}
    plans = []
    for i in range(quality.shape[0]):
        candidates = [
            Candidate(m, float(quality[i, j]), float(expected_cost[i, j]), 0.0)
            for j, m in enumerate(models)
            if expected_cost[i, j] <= ceilings[i]
        ]
        plan = plan_cascade(candidates, RoutingConstraints(), settings)
        plans.append([index[m] for m in plan.models])
    return plans


def run_planned(
    plans: Sequence[Sequence[int]], scorer: Scorer, costs_usd: Array, accept: float,
    agreement: RecordedFinals | None = None,
) -> CascadeRun:
    """Each query through the pure rule with its stages' P(good): the returned answer and the cost.

    With `agreement` (the recorded final answers), as the live runner with agreement on: see
    `stage_peers`; stages answered side by side are paid for even when the rule never judges them."""
    tried, returned, cost = [], np.zeros(len(plans), dtype=np.int64), np.zeros(len(plans))
    for i, stages in enumerate(plans):
        results = []
        for k, j in enumerate(stages):
            peers = stage_peers(stages, k, agreement is not None)
            check = _agreement_check(i, j, peers, agreement) if agreement is not None and peers else None
            results.append(_stage_results(scorer(i, j, peers), check))
        outcome = run_cascade_rule([str(j) for j in stages], results, accept)
        judged = list(stages[: len(outcome.judgements)])
        side_by_side = 2 if agreement is not None and len(stages) >= AGREEMENT_MIN_STAGES else 0
        called = list(stages[: max(len(judged), side_by_side)])
        tried.append(called)
        returned[i] = stages[outcome.answer_index] if outcome.answer_index is not None else judged[-1]
        cost[i] = costs_usd[i, called].sum()
    return CascadeRun(tried, returned.astype(np.float64), cost)


def _planned_settings(
    quality: Array, expected_cost: Array, models: Sequence[str], orders: Sequence[tuple[str, ...]]
) -> list[tuple[Config, list[list[int]]]]:
    """Each (λ or order, max_stages, middle_cost_share, hopeless floor) with its plans; a setting whose
    plans are those of a setting already listed is left out (it would repeat its points)."""
    out = [  # one stage is the plain prediction, at every λ the predict-only router has
        (Config(lam, 1, 0.0, False), [[int(j)] for j in choice])
        for lam, choice in lambda_choices(quality, expected_cost)
    ]
    for lam in CASCADE_LAMBDAS:
        for max_stages in STAGE_LIMITS[1:]:
            seen: list[list[list[int]]] = []
            for share, floor in product(MIDDLE_COST_SHARES, HOPELESS_FLOORS):
                plans = plan_stages(quality, expected_cost, lam, max_stages, models, share, hopeless_below=floor)
                if plans in seen:
                    continue
                seen.append(plans)
                out.append((Config(lam, max_stages, 0.0, False, share, hopeless_below=floor), plans))
    for order in orders:
        plans = plan_stages(quality, expected_cost, None, len(order), models, order=order)
        out.append((Config(None, len(order), 0.0, True, None, order), plans))
    return out


def cascade_runs(
    quality: Array, expected_cost: Array, scorer: Scorer, table: OutcomeTable,
    orders: Sequence[tuple[str, ...]] = (),
) -> dict[Config, CascadeRun]:
    """`voxgate-cascade` at every knob setting on `table`'s rows, query by query (agreement settings
    and the explicit `orders`, from `agreement_orders` on TRAIN, only where the table records answers)."""
    recorded = RecordedFinals.of(table)
    out: dict[Config, CascadeRun] = {}
    for base, plans in _planned_settings(quality, expected_cost, table.models, orders if recorded else ()):
        for accept in ACCEPT_GRID if base.max_stages > 1 else ACCEPT_GRID[:1]:  # one stage: the bar changes nothing
            config = base._replace(accept=accept)
            if base.models is None:
                out[config] = run_planned(plans, scorer, table.costs_usd, accept)
            if recorded is not None and base.max_stages >= AGREEMENT_MIN_STAGES:
                out[config._replace(agreement=True)] = run_planned(plans, scorer, table.costs_usd, accept, recorded)
    return out


def cascade_sweep(
    quality: Array, expected_cost: Array, scorer: Scorer, table: OutcomeTable,
    orders: Sequence[tuple[str, ...]] = (),
) -> dict[Config, tuple[float, float]]:
    """(cost, accuracy) of `voxgate-cascade` at every knob setting on `table`'s rows."""
    scores = table.filled_scores()
    return {c: run.point(scores) for c, run in cascade_runs(quality, expected_cost, scorer, table, orders).items()}


def agreement_orders(
    train: OutcomeTable, sweep: Mapping[tuple[str, str], tuple[float, float]] | None = None
) -> list[tuple[str, ...]]:
    """Explicit stage orders chosen on TRAIN rows: (cheaper, dearer, strongest) for each pair whose
    plain agreement point is on TRAIN's cost/accuracy Pareto front, cheapest first, at most `MAX_ORDERS`.
    `sweep`: `agreement_sweep(train, train)`, when the caller has it already."""
    sweep = agreement_sweep(train, train) if sweep is None else sweep
    if not sweep:
        return []
    strongest = train.models[int(np.argmax(train.filled_scores().mean(axis=0)))]
    by_cost = sorted(sweep.items(), key=lambda item: (item[1][0], -item[1][1]))
    front: list[tuple[str, ...]] = []
    best_accuracy = -1.0
    for pair, (_, accuracy) in by_cost:
        if accuracy > best_accuracy:
            front.append((*pair, strongest))
            best_accuracy = accuracy
    return front[:MAX_ORDERS]


def agreement_sweep(table: OutcomeTable, train: OutcomeTable) -> dict[tuple[str, str], tuple[float, float]] | None:
    """(cost, accuracy) per pair of models cheaper than the strongest; None without answers or such a pair."""
    if table.answers is None:
        return None
    strongest = int(np.argmax(train.filled_scores().mean(axis=0)))
    mean_cost = train.costs_usd.mean(axis=0)
    cheaper = [int(j) for j in np.argsort(mean_cost) if mean_cost[j] < mean_cost[strongest]]
    if len(cheaper) < 2:
        return None
    finals = RecordedFinals.of(table)
    assert finals is not None
    scores, rows = table.filled_scores(), np.arange(len(table.prompts))
    out = {}
    for a, b in combinations(cheaper, 2):
        agree = np.array([f[a] is not None and f[a] == f[b] for f in finals.finals])
        returned = np.where(agree, a, strongest)
        cost = table.costs_usd[:, a] + table.costs_usd[:, b] + np.where(agree, 0.0, table.costs_usd[:, strongest])
        out[(table.models[a], table.models[b])] = (float(cost.sum()), float(scores[rows, returned].mean()))
    return out


def agreement_points(table: OutcomeTable, train: OutcomeTable) -> Array | None:
    """One point per pair of models cheaper than the strongest; None without answers or such a pair."""
    return _sweep_points(agreement_sweep(table, train))


def _sweep_points(sweep: Mapping[tuple[str, str], tuple[float, float]] | None) -> Array | None:
    return None if sweep is None else np.array(sorted(set(sweep.values())))


def judge_cascade(
    table: OutcomeTable, order: Sequence[int], threshold: float, cap_usd: float, error_rate: float, seed: int
) -> tuple[float, float, Array]:
    """RouterBench's cascade at one cost cap: (total cost, accuracy, whether the judge rejected stage 1)."""
    rng = np.random.default_rng(seed)
    scores = table.filled_scores()
    total_cost, total_score = 0.0, 0.0
    first_rejected = np.zeros(len(table.prompts))
    for i in range(len(table.prompts)):
        left, spent, last = cap_usd, 0.0, 0.0
        for position, j in enumerate(order):
            cost = float(table.costs_usd[i, j])
            if cost >= left and spent > 0:
                break
            judge_wrong = rng.random() < error_rate
            spent, left, last = spent + cost, left - cost, float(scores[i, j])
            accepted = (last < threshold) if judge_wrong else (last >= threshold)
            if position == 0:
                first_rejected[i] = float(not accepted)
            if accepted:
                break
        total_cost, total_score = total_cost + spent, total_score + last
    return total_cost, total_score / max(len(table.prompts), 1), first_rejected


def judge_cascade_points(table: OutcomeTable, train: OutcomeTable, error_rate: float) -> tuple[Array, Array]:
    """Points over a geometric grid of per-query caps, and the judge's stage-1 rejections (no cap)."""
    order = list(np.argsort(train.costs_usd.mean(axis=0), kind="stable"))
    threshold = float(np.quantile(train.filled_scores(), JUDGE_SCORE_QUANTILE))
    positive = table.costs_usd[table.costs_usd > 0]
    low = float(positive.min()) if positive.size else 1e-9
    high = float(table.costs_usd.sum(axis=1).max()) * 1.01 + low
    points = set()
    for cap in np.geomspace(low, high, JUDGE_CAP_STEPS):
        cost, accuracy, _ = judge_cascade(table, order, threshold, float(cap), error_rate, JUDGE_SEED)
        points.add((cost, accuracy))
    _, _, rejected = judge_cascade(table, order, threshold, float("inf"), error_rate, JUDGE_SEED)
    return np.array(sorted(points)), rejected


OPERATING_BUDGET_SHARE = 0.30  # issue 12's ARC target: accuracy at <= 30 % of the best single model's cost


@dataclass
class CascadeFigures:
    """What the cascade routers add to a slice: points per router, strong-win scores on a pair, details."""

    points: dict[str, Array]
    wins: dict[str, Array]
    details: dict[str, object]


@dataclass(frozen=True)
class ReplayInputs:
    """One split's rows with what a router knows of them: predicted quality, expected cost, P(good)."""

    table: OutcomeTable
    quality: Array
    expected_cost: Array
    scorer: Scorer


def _operating_point(
    train_sweep: Mapping[Any, tuple[float, float]], test_sweep: Mapping[Any, tuple[float, float]], train: OutcomeTable,
) -> dict[str, object]:
    """The knob setting with the best TRAIN accuracy within `OPERATING_BUDGET_SHARE` of the best
    single model's TRAIN cost, and what it gives on TEST."""
    scores = train.filled_scores()
    best = int(np.argmax(scores.mean(axis=0)))
    budget = OPERATING_BUDGET_SHARE * float(train.costs_usd[:, best].sum())
    within = {c: p for c, p in train_sweep.items() if p[0] <= budget}
    if not within:
        return {"note": f"no setting within {OPERATING_BUDGET_SHARE:.0%} of the best model's TRAIN cost"}
    config = max(within, key=lambda c: (within[c][1], -within[c][0]))
    return {
        "budget_share_of_best_model": OPERATING_BUDGET_SHARE,
        "best_model": train.models[best],
        "config": list(config),
        "train_cost_usd_accuracy": list(train_sweep[config]),
        "test_cost_usd_accuracy": list(test_sweep[config]),
    }


def cascade_routers(test: ReplayInputs, train: ReplayInputs | None, pair: tuple[int, int] | None) -> CascadeFigures:
    """Points of every cascade router on `test`; with `train`, the knob setting chosen on TRAIN rows
    and what it gives on TEST; with `pair` (strong, weak), RouteLLM strong-win scores."""
    reference = train.table if train is not None else test.table
    pairs_test = agreement_sweep(test.table, reference)
    pairs_reference = agreement_sweep(reference, reference) if train is not None else pairs_test
    orders = agreement_orders(reference, pairs_reference)
    sweep = cascade_sweep(test.quality, test.expected_cost, test.scorer, test.table, orders)
    points = {"voxgate-cascade": np.array(sorted(set(sweep.values())))}
    details: dict[str, object] = {}
    agreement = _sweep_points(pairs_test)
    if agreement is not None:
        points["agreement"] = agreement
    else:
        details["agreement"] = "left out: needs two models cheaper than the strongest"
    wins: dict[str, Array] = {}
    rng = np.random.default_rng(JUDGE_SEED)
    for rate in JUDGE_ERROR_RATES:
        name = f"routerbench-cascade-{rate:g}"
        points[name], rejected = judge_cascade_points(test.table, reference, rate)
        wins[name] = rejected + 1e-3 * rng.random(len(rejected))  # ties broken at random
    if pair is not None:
        weak = np.array([test.scorer(i, pair[1], ()) for i in range(len(test.table.prompts))])
        wins["voxgate-cascade"] = 1.0 - np.nan_to_num(weak, nan=0.0)
    else:
        wins = {}
    if train is not None:
        train_sweep = cascade_sweep(train.quality, train.expected_cost, train.scorer, train.table, orders)
        point = _operating_point(train_sweep, sweep, train.table)
        details["voxgate_cascade_operating_point"] = point | {"config_names": list(CONFIG_NAMES)}
        if pairs_reference is not None and pairs_test is not None:
            details["agreement_operating_point"] = _operating_point(pairs_reference, pairs_test, train.table)
    return CascadeFigures(points, wins, details)
