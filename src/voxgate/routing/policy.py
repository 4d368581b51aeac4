"""The routing policy: a pure function from scored candidates to a ranked plan with reasons.

- quality:  highest predicted quality.
- balanced: cheapest model whose quality is within `BALANCED_BAND` of the best.
- cost:     cheapest model within the wider `COST_BAND` of the best.
- fast:     lowest predicted latency among models meeting the quality floor.
`max_latency_ms`, `max_cost_usd` and `min_quality` are hard constraints. Ties break by
quality, then cost, then model id, so the same input always gives the same plan.

A virtual key's budget is an input too: with less than `NEAR_BUDGET_FRACTION` of it left, the
plan is ranked as in cost mode (cheapest within `COST_BAND` of the best) when that choice is
cheaper than the request's mode would make, and the reason says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from voxgate.core.keys import BudgetStatus
from voxgate.core.types import Mode, RoutingConstraints

BALANCED_BAND = 0.05
COST_BAND = 0.15
NEAR_BUDGET_FRACTION = 0.2


@dataclass(frozen=True)
class Candidate:
    model_id: str
    quality: float
    cost_usd: float
    latency_ms: float
    quality_source: str = ""


@dataclass(frozen=True)
class PolicyResult:
    plan: tuple[str, ...]
    reason: str
    passed_over: dict[str, str] = field(default_factory=dict)
    rejections: dict[str, str] = field(default_factory=dict)
    affinity_note: str | None = None

    @property
    def chosen(self) -> str | None:
        return self.plan[0] if self.plan else None


QUALITY_REJECTION = "predicted quality"
LATENCY_REJECTION = "estimated latency"
"""How the reasons of candidates refused for `min_quality` / `max_latency_ms` begin (voice relaxes both)."""


def _constraint_violation(c: Candidate, constraints: RoutingConstraints) -> str | None:
    if constraints.min_quality is not None and c.quality < constraints.min_quality:
        return f"{QUALITY_REJECTION} {c.quality:.2f} < min_quality {constraints.min_quality:.2f}"
    if constraints.max_cost_usd is not None and c.cost_usd > constraints.max_cost_usd:
        return f"estimated cost ${c.cost_usd:.6f} > max_cost_usd ${constraints.max_cost_usd:.6f}"
    if constraints.max_latency_ms is not None and c.latency_ms > constraints.max_latency_ms:
        return f"{LATENCY_REJECTION} {c.latency_ms:.0f} ms > max_latency_ms {constraints.max_latency_ms:.0f}"
    return None


def _by_quality(c: Candidate) -> tuple[float, float, str]:
    return (-c.quality, c.cost_usd, c.model_id)


def _by_cost(c: Candidate) -> tuple[float, float, str]:
    return (c.cost_usd, -c.quality, c.model_id)


def _by_latency(c: Candidate) -> tuple[float, float, str]:
    return (c.latency_ms, -c.quality, c.model_id)


def band_for(mode: Mode) -> float:
    return {Mode.BALANCED: BALANCED_BAND, Mode.COST: COST_BAND}.get(mode, 0.0)


def _rank(feasible: Sequence[Candidate], mode: Mode) -> tuple[list[Candidate], str]:
    best = max(c.quality for c in feasible)
    if mode is Mode.QUALITY:
        return sorted(feasible, key=_by_quality), f"quality: highest predicted quality ({best:.2f})"
    if mode is Mode.FAST:
        ranked = sorted(feasible, key=_by_latency)
        return ranked, f"fast: lowest estimated latency ({ranked[0].latency_ms:.0f} ms)"
    band = band_for(mode)
    in_band = sorted((c for c in feasible if c.quality >= best - band), key=_by_cost)
    rest = sorted((c for c in feasible if c.quality < best - band), key=_by_quality)
    reason = f"{mode.value}: cheapest model within {band:.2f} of the best predicted quality ({best:.2f})"
    return in_band + rest, reason


def _passed_over_reason(c: Candidate, chosen: Candidate, mode: Mode, best_quality: float) -> str:
    if mode is Mode.FAST:
        return f"slower: {c.latency_ms:.0f} ms vs {chosen.latency_ms:.0f} ms"
    if mode is Mode.QUALITY or c.quality < best_quality - band_for(mode):
        return f"lower predicted quality: {c.quality:.2f} vs {chosen.quality:.2f}"
    return f"costlier: ${c.cost_usd:.6f} vs ${chosen.cost_usd:.6f} for similar quality"


def _apply_affinity(
    ranked: list[Candidate], mode: Mode, affinity_model: str | None
) -> tuple[list[Candidate], str | None]:
    if affinity_model is None:
        return ranked, None
    previous = next((c for c in ranked if c.model_id == affinity_model), None)
    if previous is None:
        return ranked, f"switched from {affinity_model}: no longer eligible under this request's constraints"
    if previous is ranked[0]:
        return ranked, f"kept {affinity_model} for the session (also the policy's first choice)"
    best_quality = max(c.quality for c in ranked)
    if mode is not Mode.FAST and previous.quality >= best_quality - max(band_for(mode), BALANCED_BAND):
        reordered = [previous, *(c for c in ranked if c is not previous)]
        return reordered, f"kept {affinity_model} for the session: within the quality band, prompt cache stays warm"
    return ranked, f"switched from {affinity_model}: {ranked[0].model_id} is clearly better for this request"


def _budget_mode(feasible: Sequence[Candidate], mode: Mode, budget: BudgetStatus | None) -> tuple[Mode, str]:
    """Cost mode when a key is near its budget and cost mode's choice is cheaper than `mode`'s."""
    if budget is None or budget.left_fraction >= NEAR_BUDGET_FRACTION or mode is Mode.COST:
        return mode, ""
    if _rank(feasible, Mode.COST)[0][0].cost_usd >= _rank(feasible, mode)[0][0].cost_usd:
        return mode, ""
    note = (f"near budget: key {budget.key_id} has ${budget.left_usd:.4f} of ${budget.limit_usd:.2f}/"
            f"{budget.period.value} left (< {NEAR_BUDGET_FRACTION:.0%}), so cheaper models are preferred "
            f"over {mode.value} mode; ")
    return Mode.COST, note


def choose(
    candidates: Sequence[Candidate],
    constraints: RoutingConstraints,
    affinity_model: str | None = None,
    budget: BudgetStatus | None = None,
) -> PolicyResult:
    """Rank candidates under the constraints (and a key's budget); the first of `plan` is the choice."""
    rejections: dict[str, str] = {}
    feasible: list[Candidate] = []
    for c in candidates:
        violation = _constraint_violation(c, constraints)
        if violation is None:
            feasible.append(c)
        else:
            rejections[c.model_id] = violation
    if not feasible:
        return PolicyResult(plan=(), reason="no model meets the constraints", rejections=rejections)
    mode, budget_note = _budget_mode(feasible, constraints.mode, budget)
    ranked, reason = _rank(feasible, mode)
    ranked, affinity_note = _apply_affinity(ranked, mode, affinity_model)
    chosen = ranked[0]
    best_quality = max(c.quality for c in ranked)
    passed_over = {
        c.model_id: _passed_over_reason(c, chosen, mode, best_quality) for c in ranked[1:]
    }
    return PolicyResult(
        plan=tuple(c.model_id for c in ranked),
        reason=budget_note + reason,
        passed_over=passed_over,
        rejections=rejections,
        affinity_note=affinity_note,
    )
