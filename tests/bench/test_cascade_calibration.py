"""The rule that picks the cascade's hopeless floor and bar on the ladder's TRAIN replay, and the shipped result."""

from __future__ import annotations

from bench.cascade_calibration import Replayed, choose
from voxgate.config import cascade_defaults_document
from voxgate.routing.cascade.confidence import calibration_from_document
from voxgate.routing.cascade.planner import CascadeSettings, settings_from_document

ALWAYS_DEAREST = Replayed(-1.0, -1.0, 0.691, 0.0, 1.0, 1363.0)


def cell(floor: float, bar: float, accuracy: float, share: float, latency_ms: float) -> Replayed:
    return Replayed(floor, bar, accuracy, share, 1.4, latency_ms)


def test_the_most_accurate_pair_wins_even_below_half_from_the_smaller_models() -> None:
    # TRAIN (2026-12-03): bar 0.40 kept 50 % on the smaller models at 0.708; bar 0.50 reached 0.714 with 48 %.
    half = cell(0.35, 0.40, 0.708, 0.50, 1356.0)
    stricter = cell(0.35, 0.50, 0.714, 0.48, 1372.0)
    assert choose([ALWAYS_DEAREST, half, stricter], verbose=False) == stricter


def test_equal_accuracy_goes_to_the_faster_pair() -> None:
    slow = cell(0.30, 0.50, 0.714, 0.48, 1411.0)
    fast = cell(0.35, 0.50, 0.714, 0.48, 1372.0)
    assert choose([ALWAYS_DEAREST, slow, fast], verbose=False) == fast


def test_a_pair_below_always_dearest_is_chosen_only_when_none_reaches_it() -> None:
    below = cell(0.50, 0.40, 0.690, 0.46, 1300.0)
    reaching = cell(0.35, 0.40, 0.691, 0.50, 1500.0)
    assert choose([ALWAYS_DEAREST, below, reaching], verbose=False) == reaching
    lower = cell(0.50, 0.30, 0.650, 0.55, 1200.0)
    assert choose([ALWAYS_DEAREST, below, lower], verbose=False) == below


def test_the_gateway_loads_the_pair_chosen_on_train() -> None:
    document = cascade_defaults_document()
    assert document is not None
    settings = settings_from_document(document, CascadeSettings())
    calibration, accept = calibration_from_document(document)
    assert (settings.hopeless_below, settings.accept, accept) == (0.35, 0.5, 0.5)
    assert set(calibration.per_model) == {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    assert document["train"]["accuracy"] >= 0.691  # always-1.5B's TRAIN accuracy, which the rule requires
