"""The cascade rule is pure: hand-worked cases, then properties over random check results."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voxgate.routing.cascade.evidence import CheckResult, CheckStatus
from voxgate.routing.cascade.rule import (
    StageAction,
    combine_checks,
    judge_stage,
    kept_answer,
    run_cascade_rule,
)


def scored(name: str, p_good: float, *, conclusive: bool = False) -> CheckResult:
    return CheckResult.scored(name, p_good, p_good, "test value", f"{name} says {p_good}", conclusive=conclusive)


def test_weakest_scored_check_decides() -> None:
    combined = combine_checks([scored("confidence", 0.9), scored("agreement", 0.4)])
    assert combined.p_good == 0.4
    assert combined.deciding_check == "agreement"


def test_conclusive_check_overrides_the_others() -> None:
    verified = scored("arithmetic", 0.98, conclusive=True)
    combined = combine_checks([scored("confidence", 0.2), verified])
    assert combined.p_good == 0.98
    assert combined.deciding_check == "arithmetic"


def test_failed_check_forces_escalation() -> None:
    results = [scored("confidence", 0.99), CheckResult.failed("learned", "timed out after 50 ms")]
    judgement = judge_stage("small", results, 0.7, last=False)
    assert judgement.action is StageAction.ESCALATE
    assert judgement.p_good == 0.0
    assert "timed out" in judgement.reason


def test_not_applicable_checks_alone_do_not_accept() -> None:
    results = [CheckResult.not_applicable("json_schema", "no response_format")]
    assert combine_checks(results).p_good is None
    assert judge_stage("small", results, 0.5, last=False).action is StageAction.ESCALATE


def test_accept_at_the_bar() -> None:
    judgement = judge_stage("small", [scored("confidence", 0.7)], 0.7, last=False)
    assert judgement.action is StageAction.ACCEPT
    assert ">= bar 0.70" in judgement.reason


def test_last_stage_stops_instead_of_escalating() -> None:
    judgement = judge_stage("large", [scored("confidence", 0.3)], 0.7, last=True)
    assert judgement.action is StageAction.STOP
    assert judgement.reason.endswith("last stage")


def test_blocked_next_stage_stops() -> None:
    judgement = judge_stage("small", [scored("confidence", 0.3)], 0.7, last=False, next_blocked="over budget")
    assert judgement.action is StageAction.STOP
    assert "over budget" in judgement.reason


def test_upstream_failure_escalates_without_an_answer() -> None:
    judgement = judge_stage("small", None, 0.7, last=False, upstream_error="HTTP 503")
    assert judgement.action is StageAction.ESCALATE
    assert not judgement.answered


def test_cascade_stops_at_first_accepted_stage() -> None:
    outcome = run_cascade_rule(
        ["small", "medium", "large"], [[scored("c", 0.2)], [scored("c", 0.8)], [scored("c", 0.9)]], 0.7
    )
    assert [j.action for j in outcome.judgements] == [StageAction.ESCALATE, StageAction.ACCEPT]
    assert outcome.answered_by == "medium"
    assert outcome.answer_index == 1


def test_no_stage_accepted_keeps_the_strongest_model_s_answer_when_only_confidence_doubts_it() -> None:
    """Live TEST run: the 0.5B's "74" (p 0.39) was kept over the 1.5B's right "68" (p 0.31)."""
    outcome = run_cascade_rule(["small", "large"], [[scored("c", 0.6)], [scored("c", 0.3)]], 0.7)
    assert outcome.judgements[-1].action is StageAction.STOP
    assert outcome.answered_by == "large"
    assert "kept large" in outcome.reason
    assert "strongest model tried" in outcome.reason


def test_no_stage_accepted_and_the_last_answer_verified_wrong_keeps_the_most_trustworthy() -> None:
    refuted = scored("arithmetic", 0.02, conclusive=True)
    outcome = run_cascade_rule(["small", "large"], [[scored("c", 0.6)], [refuted]], 0.7)
    assert outcome.judgements[-1].conclusive
    assert outcome.answered_by == "small"
    assert "kept small" in outcome.reason
    assert "most trustworthy" in outcome.reason


def test_unscored_last_stage_keeps_its_answer() -> None:
    outcome = run_cascade_rule(["small", "remote"], [[scored("c", 0.6)], []], 0.7)
    assert outcome.answered_by == "remote"


def test_every_stage_failed_upstream() -> None:
    outcome = run_cascade_rule(["small", "large"], [None, None], 0.7)
    assert outcome.answer_index is None
    assert outcome.reason == "no stage produced an answer"


p_goods = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
stage_results = st.one_of(st.none(), st.lists(p_goods, max_size=3))


@given(st.lists(stage_results, min_size=1, max_size=5), p_goods)
def test_properties_over_random_cascades(raw: list[list[float] | None], accept: float) -> None:
    stages = [f"m{i}" for i in range(len(raw))]
    results = [None if r is None else [scored(f"c{k}", p) for k, p in enumerate(r)] for r in raw]
    outcome = run_cascade_rule(stages, results, accept)
    judgements = outcome.judgements
    # every stage before the last judged one escalated; the walk ends at an accept or a stop
    assert all(j.action is StageAction.ESCALATE for j in judgements[:-1])
    assert judgements[-1].action is not StageAction.ESCALATE or len(judgements) < len(stages)
    assert judgements[-1].action is not StageAction.ESCALATE
    for judgement, r in zip(judgements, raw, strict=False):
        if judgement.action is StageAction.ACCEPT:
            assert judgement.p_good is not None
            assert judgement.p_good >= accept
            assert r is not None
            assert min(r) >= accept
        if r is not None and r and min(r) >= accept:
            assert judgement.action is StageAction.ACCEPT
    index = outcome.answer_index
    answered = [i for i, j in enumerate(judgements) if j.answered]
    assert (index is None) == (not answered)
    if index is not None:
        assert judgements[index].answered
        assert kept_answer(judgements) == index


@given(st.lists(p_goods, min_size=1, max_size=4), st.booleans())
def test_combined_p_good_is_one_of_the_inputs(values: list[float], conclusive: bool) -> None:
    results = [scored(f"c{i}", p, conclusive=conclusive and i == 0) for i, p in enumerate(values)]
    combined = combine_checks(results)
    assert combined.p_good in values
    if conclusive:
        assert combined.p_good == values[0]
    else:
        assert combined.p_good == min(values)
    assert all(r.status is CheckStatus.SCORED for r in results)
