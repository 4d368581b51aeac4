"""Routers against the dearest model asked directly: paired differences, ratios and their intervals."""

from __future__ import annotations

import pytest

from voxgate.evaluation.ladder_live import LiveAnswer
from voxgate.evaluation.ladder_paired import compare, paired_markdown

DEAREST = "big"
REFERENCE = f"always-{DEAREST}"


def answer(question: int, router: str, score: float, latency_ms: float) -> LiveAnswer:
    return LiveAnswer(f"q{question}", "arith-1", "test", router, score, DEAREST, latency_ms, "")


def test_a_router_is_compared_question_by_question_with_the_dearest_asked_directly() -> None:
    answers = [answer(i, "auto", 1.0, 50.0) for i in range(10)]
    answers += [answer(i, REFERENCE, 1.0 if i < 8 else 0.0, 100.0) for i in range(10)]
    answers.append(answer(99, "auto", 0.0, 1e6))  # asked of auto only: not paired, not counted
    comparison = compare(answers, "auto", REFERENCE)
    assert comparison is not None
    assert comparison.questions == 10
    assert comparison.accuracy_diff == pytest.approx(0.2)
    low, high = comparison.accuracy_diff_ci
    assert 0.0 <= low <= 0.2 <= high <= 0.5
    assert comparison.mean_latency_ratio == pytest.approx(0.5)
    assert comparison.mean_latency_ratio_ci == pytest.approx((0.5, 0.5))
    assert comparison.median_latency_ratio == pytest.approx(0.5)


def test_the_mean_ratio_weighs_long_answers_and_the_median_does_not() -> None:
    answers = [answer(i, "auto", 1.0, 100.0) for i in range(9)] + [answer(9, "auto", 1.0, 2_000.0)]
    answers += [answer(i, REFERENCE, 1.0, 100.0) for i in range(10)]
    comparison = compare(answers, "auto", REFERENCE)
    assert comparison is not None
    assert comparison.mean_latency_ratio == pytest.approx(2_900 / 1_000)
    assert comparison.median_latency_ratio == pytest.approx(1.0)
    low, high = comparison.mean_latency_ratio_ci
    assert low < comparison.mean_latency_ratio < high


def test_the_table_needs_the_dearest_asked_directly() -> None:
    answers = [answer(i, "auto", 1.0, 50.0) for i in range(3)]
    assert paired_markdown(answers, DEAREST) == ""
    assert compare(answers, "auto", REFERENCE) is None
    answers += [answer(i, REFERENCE, 0.0, 100.0) for i in range(3)]
    table = paired_markdown(answers, DEAREST)
    assert f"Paired against {REFERENCE}" in table
    assert "| auto | 3 | +1.000 [+1.000, +1.000] | 0.500x [0.500, 0.500] | 0.50x |" in table
