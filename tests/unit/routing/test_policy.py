"""The policy is pure: exhaustive checks per mode, plus properties over random candidates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voxgate.core.keys import BudgetPeriod, BudgetStatus
from voxgate.core.types import Mode, RoutingConstraints
from voxgate.routing.policy import BALANCED_BAND, COST_BAND, NEAR_BUDGET_FRACTION, Candidate, choose

SMALL = Candidate("small", quality=0.50, cost_usd=0.001, latency_ms=100)
MEDIUM = Candidate("medium", quality=0.70, cost_usd=0.010, latency_ms=400)
LARGE = Candidate("large", quality=0.73, cost_usd=0.100, latency_ms=900)
LADDER = [SMALL, MEDIUM, LARGE]


def test_quality_mode_picks_highest_quality() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.QUALITY))
    assert result.plan == ("large", "medium", "small")
    assert "quality" in result.reason
    assert result.passed_over["medium"].startswith("lower predicted quality")


def test_balanced_picks_cheapest_within_band() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.BALANCED))
    assert result.chosen == "medium"
    assert result.plan == ("medium", "large", "small")
    assert result.passed_over["large"].startswith("costlier")
    assert result.passed_over["small"].startswith("lower predicted quality")


def test_cost_band_is_wider_than_balanced() -> None:
    cheap_ok = Candidate("cheap", quality=0.62, cost_usd=0.0001, latency_ms=50)
    assert choose([cheap_ok, LARGE], RoutingConstraints(mode=Mode.BALANCED)).chosen == "large"
    assert choose([cheap_ok, LARGE], RoutingConstraints(mode=Mode.COST)).chosen == "cheap"
    assert COST_BAND > BALANCED_BAND


def test_fast_picks_lowest_latency() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.FAST))
    assert result.chosen == "small"
    assert result.passed_over["large"].startswith("slower")


def test_fast_respects_quality_floor() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.FAST, min_quality=0.6))
    assert result.chosen == "medium"
    assert "min_quality" in result.rejections["small"]


def test_hard_constraints_reject_with_reasons() -> None:
    constraints = RoutingConstraints(mode=Mode.QUALITY, max_latency_ms=500, max_cost_usd=0.5)
    result = choose(LADDER, constraints)
    assert result.chosen == "medium"
    assert "max_latency_ms" in result.rejections["large"]


def test_nothing_feasible_gives_empty_plan() -> None:
    result = choose(LADDER, RoutingConstraints(min_quality=0.99))
    assert result.plan == ()
    assert result.chosen is None
    assert set(result.rejections) == {"small", "medium", "large"}


def test_ties_break_by_model_id() -> None:
    a = Candidate("a", 0.5, 0.01, 100)
    b = Candidate("b", 0.5, 0.01, 100)
    for mode in Mode:
        assert choose([b, a], RoutingConstraints(mode=mode)).chosen == "a"


def test_affinity_keeps_session_model_within_band() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.BALANCED), affinity_model="large")
    assert result.chosen == "large"
    assert result.affinity_note is not None
    assert result.affinity_note.startswith("kept large")


def test_affinity_switches_when_clearly_worse() -> None:
    result = choose(LADDER, RoutingConstraints(mode=Mode.QUALITY), affinity_model="small")
    assert result.chosen == "large"
    assert result.affinity_note is not None
    assert result.affinity_note.startswith("switched from small")


def test_affinity_switches_when_previous_model_not_eligible() -> None:
    result = choose([SMALL, MEDIUM], RoutingConstraints(), affinity_model="gone")
    assert result.affinity_note is not None
    assert "no longer eligible" in result.affinity_note


candidates = st.lists(
    st.builds(
        Candidate,
        model_id=st.text(alphabet="abcdef", min_size=1, max_size=4),
        quality=st.floats(0, 1),
        cost_usd=st.floats(0, 10),
        latency_ms=st.floats(0, 10_000),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda c: c.model_id,
)
constraint_sets = st.builds(
    RoutingConstraints,
    mode=st.sampled_from(list(Mode)),
    max_latency_ms=st.none() | st.floats(0, 10_000),
    max_cost_usd=st.none() | st.floats(0, 10),
    min_quality=st.none() | st.floats(0, 1),
)


@given(candidates, constraint_sets)
def test_plan_is_exactly_the_feasible_candidates(cands: list[Candidate], constraints: RoutingConstraints) -> None:
    result = choose(cands, constraints)
    assert set(result.plan) | set(result.rejections) == {c.model_id for c in cands}
    assert not set(result.plan) & set(result.rejections)
    by_id = {c.model_id: c for c in cands}
    for model_id in result.plan:
        c = by_id[model_id]
        assert constraints.min_quality is None or c.quality >= constraints.min_quality
        assert constraints.max_cost_usd is None or c.cost_usd <= constraints.max_cost_usd
        assert constraints.max_latency_ms is None or c.latency_ms <= constraints.max_latency_ms


@given(candidates, constraint_sets)
def test_choice_is_deterministic_and_order_independent(
    cands: list[Candidate], constraints: RoutingConstraints
) -> None:
    assert choose(cands, constraints) == choose(list(reversed(cands)), constraints)


@given(candidates)
def test_quality_mode_choice_has_max_quality(cands: list[Candidate]) -> None:
    result = choose(cands, RoutingConstraints(mode=Mode.QUALITY))
    assert result.chosen is not None
    chosen = next(c for c in cands if c.model_id == result.chosen)
    assert chosen.quality == max(c.quality for c in cands)


@given(candidates)
def test_balanced_choice_is_within_band_and_cheapest_there(cands: list[Candidate]) -> None:
    result = choose(cands, RoutingConstraints(mode=Mode.BALANCED))
    best = max(c.quality for c in cands)
    chosen = next(c for c in cands if c.model_id == result.chosen)
    assert chosen.quality >= best - BALANCED_BAND
    assert chosen.cost_usd == min(c.cost_usd for c in cands if c.quality >= best - BALANCED_BAND)


@given(candidates)
def test_every_passed_over_model_has_a_reason(cands: list[Candidate]) -> None:
    result = choose(cands, RoutingConstraints())
    assert set(result.passed_over) == set(result.plan[1:])
    assert all(result.passed_over.values())


def _budget(left_usd: float, limit_usd: float = 10.0) -> BudgetStatus:
    return BudgetStatus("k1", BudgetPeriod.DAY, limit_usd, limit_usd - left_usd)


def test_near_its_budget_a_key_gets_cheaper_models_and_the_reason_says_so() -> None:
    plenty = choose(LADDER, RoutingConstraints(mode=Mode.QUALITY), budget=_budget(9.0))
    assert plenty.chosen == "large"
    assert "budget" not in plenty.reason
    near = choose(LADDER, RoutingConstraints(mode=Mode.QUALITY), budget=_budget(10.0 * NEAR_BUDGET_FRACTION * 0.9))
    cheapest_in_cost_band = choose(LADDER, RoutingConstraints(mode=Mode.COST))
    assert near.plan == cheapest_in_cost_band.plan
    assert near.chosen != "large"
    assert near.reason.startswith("near budget: key k1 has $1.8000 of $10.00/day left")


@given(left=st.floats(0, 10), mode=st.sampled_from(list(Mode)))
def test_a_budget_never_makes_the_choice_costlier(left: float, mode: Mode) -> None:
    without = choose(LADDER, RoutingConstraints(mode=mode))
    within = choose(LADDER, RoutingConstraints(mode=mode), budget=_budget(left))
    costs = {c.model_id: c.cost_usd for c in LADDER}
    assert within.chosen is not None
    assert without.chosen is not None
    assert costs[within.chosen] <= costs[without.chosen]
