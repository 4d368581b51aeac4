"""The cascade planner: which models to try, in which order, and what escalating could cost.

Pure. Input: the router's scored candidates that meet the request's constraints one by one
(predicted quality, estimated cost and latency), the constraints, and the cascade settings.

Without an explicit `models` list:
1. the last stage is the dearest candidate (the higher predicted quality among equals): when no
   cheaper answer passes its checks, the request ends on the strongest model it may use, not on
   the one the predictor rates best (the predictor alone carries too little signal: issue 12
   measured a plan ending on the 0.5B that never tried the 1.5B);
2. the others are the candidates cheaper than it, cheapest first; one costing as much as the
   last stage is skipped, and with `middle_cost_share` so is one whose estimated cost is over that
   share of the last stage's (an escalation pays for the earlier stages too, and with agreement the
   first two are always both paid: on RouterBench ARC the planner otherwise paired Yi-34B with
   claude-v1, 80 % of GPT-4's price, as the side-by-side stages);
3. a stage the predictor calls hopeless (quality below `hopeless_below`) is skipped, and so is
   one predicted no better than a cheaper stage already planned;
4. at most `max_stages` stages: the intermediate stages with the highest predicted quality stay;
5. the worst case (every stage tried, one after the other) must keep `max_cost_usd` and
   `max_latency_ms`: intermediate stages are dropped, least promising first, until it does.
With `models`, those models in that order (ones ineligible for the request are skipped), then
steps 4 and 5. The bar is `accept`, raised to `min_quality` when the request sets one. Models
not planned are the fallback order if every stage fails upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from voxgate.core.types import JSONObject, RoutingConstraints
from voxgate.routing.policy import Candidate


@dataclass(frozen=True)
class CascadeSettings:
    """How cascades are planned: the bar, the stage limit, the hopeless floor, an explicit model order."""

    accept: float = 0.7
    max_stages: int = 3
    hopeless_below: float = 0.05
    models: tuple[str, ...] | None = None
    middle_cost_share: float | None = None  # a stage before the last may cost at most this share of it


def document_fraction(document: Mapping[str, Any], key: str) -> float | None:
    """`document[key]` as a number from 0 to 1 (None when absent); raises ValueError otherwise."""
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{key} must be a number from 0 to 1, got {value!r}")
    return float(value)


def settings_from_document(document: Mapping[str, Any], settings: CascadeSettings) -> CascadeSettings:
    """`settings` with the bar (`accept`), the hopeless floor (`hopeless_below`) and the middle
    stages' cost share (`middle_cost_share`) of the cascade defaults document (chosen on the
    ladder's TRAIN rows by `bench/cascade_calibration.py`), where set."""
    accept = document_fraction(document, "accept")
    hopeless_below = document_fraction(document, "hopeless_below")
    share = document_fraction(document, "middle_cost_share")
    return replace(settings, accept=settings.accept if accept is None else accept,
                   hopeless_below=settings.hopeless_below if hopeless_below is None else hopeless_below,
                   middle_cost_share=settings.middle_cost_share if share is None else share)


@dataclass(frozen=True)
class PlannedStage:
    model_id: str
    predicted_quality: float
    estimated_cost_usd: float
    estimated_latency_ms: float


@dataclass(frozen=True)
class CascadePlan:
    """The stages in order, the bar, what was left out and why, and the worst case over all stages."""

    stages: tuple[PlannedStage, ...]
    accept: float
    skipped: dict[str, str] = field(default_factory=dict)
    fallback: tuple[str, ...] = ()
    reason: str = ""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(s.model_id for s in self.stages)

    @property
    def worst_case_cost_usd(self) -> float:
        return sum(s.estimated_cost_usd for s in self.stages)

    @property
    def worst_case_latency_ms(self) -> float:
        return sum(s.estimated_latency_ms for s in self.stages)

    def as_dict(self) -> JSONObject:
        return {
            "stages": [
                {
                    "model": s.model_id,
                    "predicted_quality": s.predicted_quality,
                    "estimated_cost_usd": s.estimated_cost_usd,
                    "estimated_latency_ms": round(s.estimated_latency_ms, 1),
                }
                for s in self.stages
            ],
            "accept": self.accept,
            "skipped": dict(self.skipped),
            "fallback": list(self.fallback),
            "worst_case_cost_usd": self.worst_case_cost_usd,
            "worst_case_latency_ms": round(self.worst_case_latency_ms, 1),
            "reason": self.reason,
        }


def _stage(c: Candidate) -> PlannedStage:
    return PlannedStage(c.model_id, c.quality, c.cost_usd, c.latency_ms)


def _by_quality(c: Candidate) -> tuple[float, float, str]:
    return (-c.quality, c.cost_usd, c.model_id)


def _too_dear(c: Candidate, last: Candidate, middle_cost_share: float | None) -> str | None:
    """Why `c` may not come before `last` on cost; None when it may."""
    if c.cost_usd >= last.cost_usd:
        return f"costs as much as {last.model_id}, the last stage"
    if middle_cost_share is not None and c.cost_usd > middle_cost_share * last.cost_usd:
        share = c.cost_usd / last.cost_usd  # > 0: c costs less than last and more than a share of it
        return f"costs {share:.0%} of {last.model_id}, the last stage: over middle_cost_share {middle_cost_share:.0%}"
    return None


def _automatic_order(
    candidates: Sequence[Candidate], settings: CascadeSettings, skipped: dict[str, str]
) -> list[Candidate]:
    hopeless_below = settings.hopeless_below
    last = max(candidates, key=lambda c: (c.cost_usd, c.quality, c.model_id))
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.cost_usd, -c.quality, c.model_id)):
        if c is last:
            continue
        dear = _too_dear(c, last, settings.middle_cost_share)
        if dear is not None:
            skipped[c.model_id] = dear
        elif c.quality < hopeless_below:
            skipped[c.model_id] = f"hopeless: predicted quality {c.quality:.2f} < {hopeless_below:.2f}"
        elif kept and c.quality <= max(k.quality for k in kept):
            best = max(kept, key=lambda k: k.quality)
            skipped[c.model_id] = f"predicted no better ({c.quality:.2f}) than cheaper stage {best.model_id}"
        else:
            kept.append(c)
    return [*kept, last]


def _explicit_order(
    candidates: Sequence[Candidate], models: Sequence[str], skipped: dict[str, str]
) -> list[Candidate]:
    by_id = {c.model_id: c for c in candidates}
    ordered = []
    for model_id in dict.fromkeys(models):
        if model_id in by_id:
            ordered.append(by_id[model_id])
        else:
            skipped[model_id] = "not eligible for this request (see its candidate entry)"
    return ordered


def _limit_stages(stages: list[Candidate], max_stages: int, skipped: dict[str, str]) -> list[Candidate]:
    if len(stages) <= max_stages:
        return stages
    *middle, last = stages
    keep = {c.model_id for c in sorted(middle, key=_by_quality)[: max(max_stages - 1, 0)]}
    for c in middle:
        if c.model_id not in keep:
            skipped[c.model_id] = f"max_stages {max_stages}: a more promising stage was kept"
    return [c for c in middle if c.model_id in keep] + [last]


def _over_budget(stages: Sequence[Candidate], constraints: RoutingConstraints) -> str | None:
    cost_usd = sum(c.cost_usd for c in stages)
    latency_ms = sum(c.latency_ms for c in stages)
    if constraints.max_cost_usd is not None and cost_usd > constraints.max_cost_usd:
        return f"every stage tried would cost ${cost_usd:.6f} > max_cost_usd ${constraints.max_cost_usd:.6f}"
    if constraints.max_latency_ms is not None and latency_ms > constraints.max_latency_ms:
        return f"every stage tried would take {latency_ms:.0f} ms > max_latency_ms {constraints.max_latency_ms:.0f}"
    return None


def _fit_budget(
    stages: list[Candidate], constraints: RoutingConstraints, skipped: dict[str, str]
) -> list[Candidate]:
    while len(stages) > 1:
        problem = _over_budget(stages, constraints)
        if problem is None:
            break
        *middle, last = stages
        weakest = min(middle, key=lambda c: (c.quality, -c.cost_usd, c.model_id))
        skipped[weakest.model_id] = f"dropped: {problem}"
        stages = [c for c in middle if c is not weakest] + [last]
    return stages


def plan_cascade(
    candidates: Sequence[Candidate], constraints: RoutingConstraints, settings: CascadeSettings
) -> CascadePlan:
    """Plan the stages for candidates that each meet the constraints (see the module docstring)."""
    accept = max(settings.accept, constraints.min_quality or 0.0)
    skipped: dict[str, str] = {}
    if not candidates:
        return CascadePlan((), accept, reason="no model meets the constraints")
    if settings.models is not None:
        ordered = _explicit_order(candidates, settings.models, skipped)
        how = "the request's routing.cascade.models order"
    else:
        ordered = _automatic_order(candidates, settings, skipped)
        how = "cheapest first, ending on the dearest (strongest) model"
    ordered = _fit_budget(_limit_stages(ordered, max(settings.max_stages, 1), skipped), constraints, skipped)
    planned = {c.model_id for c in ordered}
    fallback = tuple(c.model_id for c in sorted(candidates, key=_by_quality) if c.model_id not in planned)
    if not ordered:
        return CascadePlan((), accept, skipped, fallback, "none of routing.cascade.models is eligible")
    stages = tuple(_stage(c) for c in ordered)
    reason = f"{len(stages)} stage(s), {how}; an answer is accepted at p_good >= {accept:.2f}"
    return CascadePlan(stages, accept, skipped, fallback, reason)


def next_stage_blocked(
    plan: CascadePlan, next_index: int, spent_cost_usd: float, spent_latency_ms: float,
    constraints: RoutingConstraints,
) -> str | None:
    """Why stage `next_index` cannot run within the request's limits given what is spent; None if it can."""
    if next_index >= len(plan.stages):
        return None
    stage = plan.stages[next_index]
    if constraints.max_cost_usd is not None and spent_cost_usd + stage.estimated_cost_usd > constraints.max_cost_usd:
        return (
            f"{stage.model_id} would bring the cost to ${spent_cost_usd + stage.estimated_cost_usd:.6f} "
            f"> max_cost_usd ${constraints.max_cost_usd:.6f}"
        )
    total_ms = spent_latency_ms + stage.estimated_latency_ms
    if constraints.max_latency_ms is not None and total_ms > constraints.max_latency_ms:
        return f"{stage.model_id} would bring the latency to {total_ms:.0f} ms > max_latency_ms " \
               f"{constraints.max_latency_ms:.0f}"
    return None
