"""The cascade planner is pure: hand-worked ladders, then properties over random candidates."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.core.types import RoutingConstraints
from voxgate.routing.cascade.planner import CascadeSettings, next_stage_blocked, plan_cascade, settings_from_document
from voxgate.routing.policy import Candidate

TINY = Candidate("tiny", quality=0.30, cost_usd=0.0001, latency_ms=100)
SMALL = Candidate("small", quality=0.50, cost_usd=0.0003, latency_ms=250)
LARGE = Candidate("large", quality=0.70, cost_usd=0.0010, latency_ms=800)
LADDER = [LARGE, TINY, SMALL]
NONE = RoutingConstraints()


def test_cheapest_first_ending_at_the_best() -> None:
    plan = plan_cascade(LADDER, NONE, CascadeSettings(accept=0.6))
    assert plan.models == ("tiny", "small", "large")
    assert plan.accept == 0.6
    assert plan.worst_case_latency_ms == 1150
    assert plan.skipped == {}


def test_hopeless_stage_is_skipped() -> None:
    plan = plan_cascade(LADDER, NONE, CascadeSettings(hopeless_below=0.4))
    assert plan.models == ("small", "large")
    assert plan.skipped["tiny"].startswith("hopeless: predicted quality 0.30 < 0.40")


def test_stage_no_better_than_a_cheaper_one_is_skipped() -> None:
    weak_small = Candidate("small", quality=0.25, cost_usd=0.0003, latency_ms=250)
    plan = plan_cascade([TINY, weak_small, LARGE], NONE, CascadeSettings())
    assert plan.models == ("tiny", "large")
    assert "cheaper stage tiny" in plan.skipped["small"]


def test_the_dearest_model_ends_the_cascade_even_when_predicted_worse() -> None:
    """The predictor's ranking is weak (issue 12: per-model AUC 0.46-0.59), so a request whose cheap
    answers all fail their checks ends on the strongest model it may use, not the best-rated one."""
    pricey = Candidate("pricey", quality=0.60, cost_usd=0.01, latency_ms=900)
    plan = plan_cascade([*LADDER, pricey], NONE, CascadeSettings())
    assert plan.models[-1] == "pricey"
    assert "large" in plan.models[:-1]


def test_max_stages_keeps_the_most_promising_intermediate() -> None:
    plan = plan_cascade(LADDER, NONE, CascadeSettings(max_stages=2))
    assert plan.models == ("small", "large")
    assert plan.skipped["tiny"].startswith("max_stages 2")
    assert plan_cascade(LADDER, NONE, CascadeSettings(max_stages=1)).models == ("large",)


def test_latency_limit_counts_every_stage() -> None:
    plan = plan_cascade(LADDER, RoutingConstraints(max_latency_ms=1100), CascadeSettings())
    assert plan.models == ("small", "large")
    assert "1150 ms > max_latency_ms 1100" in plan.skipped["tiny"]
    assert plan.worst_case_latency_ms <= 1100


def test_cost_limit_counts_every_stage() -> None:
    plan = plan_cascade(LADDER, RoutingConstraints(max_cost_usd=0.00105), CascadeSettings())
    assert plan.models == ("large",)
    assert plan.worst_case_cost_usd <= 0.00105


def test_min_quality_raises_the_bar() -> None:
    plan = plan_cascade(LADDER, RoutingConstraints(min_quality=0.8), CascadeSettings(accept=0.6))
    assert plan.accept == 0.8


def test_explicit_models_keep_their_order_and_report_ineligible_ones() -> None:
    settings = CascadeSettings(models=("small", "gone", "tiny", "large"))
    plan = plan_cascade(LADDER, NONE, settings)
    assert plan.models == ("small", "tiny", "large")
    assert "not eligible" in plan.skipped["gone"]


PRICEY_MID = Candidate("pricey-mid", quality=0.65, cost_usd=0.0008, latency_ms=700)  # 80 % of large's price


def test_middle_cost_share_skips_a_dear_middle_stage_and_keeps_a_cheaper_one_instead() -> None:
    """RouterBench ARC: without it the planner paired Yi-34B with claude-v1 (80 % of GPT-4's price)."""
    ladder = [*LADDER, PRICEY_MID]
    assert plan_cascade(ladder, NONE, CascadeSettings()).models == ("small", "pricey-mid", "large")
    plan = plan_cascade(ladder, NONE, CascadeSettings(middle_cost_share=0.5))
    assert plan.models == ("tiny", "small", "large")
    assert plan.skipped["pricey-mid"] == ("costs 80% of large, the last stage: over middle_cost_share 50%")
    assert plan_cascade(ladder, NONE, CascadeSettings(middle_cost_share=0.8)).models == (
        "small", "pricey-mid", "large")  # at the share exactly: allowed


def test_middle_cost_share_zero_keeps_only_free_middle_stages() -> None:
    local = Candidate("local", quality=0.4, cost_usd=0.0, latency_ms=300)
    plan = plan_cascade([*LADDER, local], NONE, CascadeSettings(middle_cost_share=0.0))
    assert plan.models == ("local", "large")
    assert "over middle_cost_share 0%" in plan.skipped["tiny"]


def test_middle_cost_share_leaves_an_explicit_order_alone() -> None:
    settings = CascadeSettings(models=("pricey-mid", "large"), middle_cost_share=0.1)
    assert plan_cascade([*LADDER, PRICEY_MID], NONE, settings).models == ("pricey-mid", "large")


def test_middle_cost_share_comes_from_the_defaults_document_and_is_checked() -> None:
    assert settings_from_document({"middle_cost_share": 0.25}, CascadeSettings()).middle_cost_share == 0.25
    assert settings_from_document({}, CascadeSettings(middle_cost_share=0.5)).middle_cost_share == 0.5
    for bad in (1.5, -0.1, "half", True):
        with pytest.raises(ValueError, match="middle_cost_share must be a number from 0 to 1"):
            settings_from_document({"middle_cost_share": bad}, CascadeSettings())


def test_no_candidates_gives_an_empty_plan() -> None:
    assert plan_cascade([], NONE, CascadeSettings()).stages == ()


def test_next_stage_blocked_by_what_is_spent() -> None:
    plan = plan_cascade(LADDER, NONE, CascadeSettings())
    constraints = RoutingConstraints(max_latency_ms=1200)
    assert next_stage_blocked(plan, 1, 0.0, 100.0, constraints) is None
    assert "max_latency_ms" in (next_stage_blocked(plan, 2, 0.0, 500.0, constraints) or "")
    assert next_stage_blocked(plan, 3, 0.0, 5000.0, constraints) is None


candidates_strategy = st.lists(
    st.builds(
        Candidate,
        model_id=st.sampled_from([f"m{i}" for i in range(8)]),
        quality=st.floats(0, 1, allow_nan=False),
        cost_usd=st.floats(0, 0.01, allow_nan=False),
        latency_ms=st.floats(1, 5000, allow_nan=False),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda c: c.model_id,
)


@given(
    candidates_strategy,
    st.integers(1, 5),
    st.floats(0, 1, allow_nan=False),
    st.one_of(st.none(), st.floats(1, 20000, allow_nan=False)),
    st.one_of(st.none(), st.floats(0, 0.05, allow_nan=False)),
)
def test_plan_properties(
    candidates: list[Candidate], max_stages: int, hopeless_below: float,
    max_latency_ms: float | None, max_cost_usd: float | None,
) -> None:
    constraints = RoutingConstraints(max_latency_ms=max_latency_ms, max_cost_usd=max_cost_usd)
    feasible = [
        c for c in candidates
        if (max_latency_ms is None or c.latency_ms <= max_latency_ms)
        and (max_cost_usd is None or c.cost_usd <= max_cost_usd)
    ]
    plan = plan_cascade(feasible, constraints, CascadeSettings(max_stages=max_stages, hopeless_below=hopeless_below))
    if not feasible:
        assert plan.stages == ()
        return
    dearest = max(feasible, key=lambda c: (c.cost_usd, c.quality, c.model_id))
    assert plan.models[-1] == dearest.model_id  # the cascade ends on the strongest model it may use
    assert 1 <= len(plan.stages) <= max_stages
    costs = [s.estimated_cost_usd for s in plan.stages]
    assert costs == sorted(costs)  # cheapest first
    qualities = [s.predicted_quality for s in plan.stages[:-1]]
    assert all(a < b for a, b in itertools.pairwise(qualities))  # each cheaper stage more promising
    if len(plan.stages) > 1:  # the worst case keeps the limits (one stage alone already does)
        assert max_latency_ms is None or plan.worst_case_latency_ms <= max_latency_ms + 1e-9
        assert max_cost_usd is None or plan.worst_case_cost_usd <= max_cost_usd + 1e-12
    accounted = set(plan.models) | set(plan.skipped)
    assert accounted == {c.model_id for c in feasible}  # every candidate is planned or has a reason
    assert set(plan.fallback) == {c.model_id for c in feasible} - set(plan.models)
