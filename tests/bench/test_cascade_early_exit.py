"""The early-exit replay's rule: where a streaming stage would stop, and which grid cell is chosen."""

from __future__ import annotations

from bench.cascade_early_exit import EarlyExitRule, Replayed, choose
from voxgate.routing.cascade.confidence import ConfidenceCalibration, LogisticCoefficients
from voxgate.routing.cascade.evidence import TokenAlternative, TokenLogprob

CALIBRATION = ConfidenceCalibration({"m": LogisticCoefficients(1.0, 1.5, 0.6)})


def token(logprob: float, runner_up: float) -> TokenLogprob:
    return TokenLogprob("t", logprob, (TokenAlternative("t", logprob), TokenAlternative("u", runner_up)))


SURE = token(-0.01, -8.0)
TIE = token(-2.0, -2.05)


def test_a_stage_stops_at_the_first_doomed_prefix_after_min_tokens() -> None:
    tokens = [SURE, SURE, TIE, TIE, SURE, SURE]
    rule = EarlyExitRule(CALIBRATION, min_tokens=2, exit_bar=0.5)
    assert not rule.doomed(tokens[:2], "m")
    assert rule.doomed(tokens[:3], "m")
    assert rule.exit_at(tokens, "m") == 3
    assert EarlyExitRule(CALIBRATION, min_tokens=4, exit_bar=0.5).exit_at(tokens, "m") == 4


def test_a_confident_answer_and_a_whole_answer_never_stop_early() -> None:
    rule = EarlyExitRule(CALIBRATION, min_tokens=1, exit_bar=0.5)
    assert rule.exit_at([SURE] * 10, "m") is None
    assert rule.exit_at([SURE, TIE], "m") is None  # doomed only once whole: nothing left to save


def row(min_tokens: int, latency_ms: float, accuracy: float = 0.714, false_exits: int = 0) -> Replayed:
    return Replayed(min_tokens, 0.1, accuracy, 0.48, latency_ms, 5, false_exits, 40)


def test_the_fastest_cell_without_a_false_exit_or_lost_accuracy_is_chosen() -> None:
    baseline = Replayed(0, 0.0, 0.714, 0.48, 1348.0, 0, 0, 0)
    fast_but_false = row(1, 1300.0, false_exits=1)
    fast_but_worse = row(2, 1310.0, accuracy=0.711)
    safe = row(4, 1343.0)
    assert choose(baseline, [fast_but_false, fast_but_worse, safe]) == safe
    assert choose(baseline, [fast_but_false, row(6, 1349.0)]) is None
