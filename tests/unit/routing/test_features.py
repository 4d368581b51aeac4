"""One set of code and maths markers: the heuristic's yes/no and the learned predictor's counts agree."""

from __future__ import annotations

import pytest

from voxgate.routing.features import estimate_tokens, extract_features
from voxgate.routing.learned.cheap_features import CHEAP_FEATURE_NAMES, cheap_features

PROMPTS = [
    "Tell me a story about a lighthouse.",
    "def add(a, b):\n    return a + b",
    "assert sorted(xs) == xs",
    "int main() {\n  return 0;\n}",
    "Refactor this Rust code please.",
    "How much is 12 = 3 * 4 worth?",
    "Simplify $\\frac{3}{4} + \\sqrt{2}$.",
    "What is the remainder when 17 is divided by 5?",
    "Solve the equation for x.",
    "hello there",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_the_heuristic_sees_code_or_maths_exactly_where_the_learned_features_count_some(prompt: str) -> None:
    flags = extract_features(prompt, estimate_tokens(prompt), 1)
    counts = dict(zip(CHEAP_FEATURE_NAMES, cheap_features(prompt), strict=True))
    assert flags.has_code == (counts["code_markers"] > 0)
    assert flags.has_math == (counts["math_markers"] > 0)


def test_the_examples_cover_both_answers() -> None:
    features = [extract_features(p, estimate_tokens(p), 1) for p in PROMPTS]
    assert {f.has_code for f in features} == {True, False}
    assert {f.has_math for f in features} == {True, False}
