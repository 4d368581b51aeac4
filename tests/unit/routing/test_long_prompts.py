"""A multi-megabyte prompt is routed from bounded windows, with the same features a short one gets."""

from __future__ import annotations

import math

import pytest

from voxgate.routing.features import WINDOW_EDGE_CHARS, extract_features, feature_window
from voxgate.routing.learned.cheap_features import CHEAP_FEATURE_NAMES, cheap_features
from voxgate.routing.learned.embedding import FOCUS_LOOKBACK, focus_text


def test_short_prompts_are_read_whole() -> None:
    text = "x" * (2 * WINDOW_EDGE_CHARS)
    assert feature_window(text) == (text, 1.0)


def test_counts_in_a_huge_prompt_are_extrapolated_from_its_start_and_end() -> None:
    unit = "def f(x): return x + 1  # how many? 12\n"
    huge = unit * 100_000  # 3.9 MB
    sample, scale = feature_window(huge)
    assert len(sample) == 2 * WINDOW_EDGE_CHARS + 1
    assert scale == pytest.approx(len(huge) / len(sample))
    features = dict(zip(CHEAP_FEATURE_NAMES, cheap_features(huge), strict=True))
    code_markers = huge.count("def f(") + huge.count("return")
    assert math.expm1(features["code_markers"]) == pytest.approx(code_markers, rel=0.01)
    assert math.expm1(features["question_marks"]) == pytest.approx(huge.count("?"))  # cheap: counted whole
    assert features["digit_share"] == pytest.approx(sum(map(str.isdigit, unit)) / len(unit), rel=0.01)


def test_markers_are_found_at_either_end_of_a_huge_prompt() -> None:
    filler = "lorem ipsum " * (WINDOW_EDGE_CHARS // 2)
    assert extract_features("Solve 3 + 4. " + filler, 10, 1).has_math
    assert extract_features(filler + " Write it in python", 10, 1).has_code
    assert not extract_features(filler, 10, 1).has_code


def test_focus_text_of_a_huge_prompt_is_its_last_paragraphs() -> None:
    question = "Which planet is the largest?"
    huge = ("An example paragraph that comes first.\n\n" * 100_000) + question
    assert focus_text(huge, 400).endswith(question)
    assert len(focus_text(huge, 400)) <= 400
    assert len(huge) > FOCUS_LOOKBACK * 400
