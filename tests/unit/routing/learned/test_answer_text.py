"""What an answer's text says about itself: final answers, arithmetic, code, features (hand-worked)."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.routing.learned.answer_text import (
    ANSWER_FEATURE_NAMES,
    answer_features,
    arithmetic_claims,
    code_parses,
    evaluate_expression,
    final_answer,
    logprob_quantiles,
    repeated_trigram_share,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A\n", "A"),
        ("B)", "B"),
        ("(C) because the moon is made of rock", "C"),
        ("D. south", "D"),
        ("Answer: (A)", "A"),
        ("She sells 9 eggs for 9 * $2 = $<<9*2=18>>18.\n#### 18", "18"),
        ("So the final answer is $1,200.", "1200"),
        ("The answer is 42.", "42"),
        ("\\boxed{3/4}", "0.75"),
        ("```python\ndef intersection(arr1, arr2):\n    return []\n```", "def:intersection/2"),
        ("Paris", "paris"),
        ("17 * 23 equals 411.", "411"),
    ],
)
def test_final_answer_normalises_what_two_answers_share(text: str, expected: str) -> None:
    assert final_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "I don't know.", "I'm sorry, I cannot help with that.", "A long explanation " * 10],
)
def test_nothing_to_compare_gives_none(text: str) -> None:
    assert final_answer(text) is None


def test_equal_answers_in_different_words_agree() -> None:
    assert final_answer("The answer is 18.") == final_answer("#### 18") == final_answer("$18")
    assert final_answer("B") == final_answer("(B) east")


def test_arithmetic_claims_are_recomputed() -> None:
    assert arithmetic_claims("So 16 - 3 = 13 and 13 - 4 = 8") == (2, 1)  # 13 - 4 is 9
    assert arithmetic_claims("9 * $2 = $<<9*2=18>>18") == (1, 0)
    assert arithmetic_claims("17 * 23 = 411") == (1, 1)
    assert arithmetic_claims("10 / 3 = 3.33, roughly") == (1, 0)  # rounded to the places it shows
    assert arithmetic_claims("2x + 3 = 7, x = 2") == (0, 0)  # algebra is not plain arithmetic
    assert arithmetic_claims("The year 2024 = a leap year") == (0, 0)


def test_expression_evaluator_knows_only_plain_arithmetic() -> None:
    assert evaluate_expression("$1,200 x 3") == 3600.0
    assert evaluate_expression("(2 + 3) \u00d7 4 \u00f7 5") == 4.0
    assert evaluate_expression("2 ** 1000000") is None
    assert evaluate_expression("__import__('os')") is None
    assert evaluate_expression("7") is None  # a number restated, not a computation
    assert evaluate_expression("1 / 0") is None


def test_code_parses_only_when_there_is_python() -> None:
    assert code_parses("```python\ndef f(x):\n    return x + 1\n```") is True
    assert code_parses("```\ndef f(x) return x\n```") is False
    assert code_parses("```javascript\nfunction f() {}\n```") is None
    assert code_parses("The answer is 4.") is None


def test_repeated_trigrams() -> None:
    # a b c / b c a / c a b / a b c: four trigrams, one repeated
    assert repeated_trigram_share("a b c a b c") == pytest.approx(0.25)
    assert repeated_trigram_share("just two") == 0.0


def test_logprob_quantiles_do_not_grow_with_length() -> None:
    short = logprob_quantiles([-0.1, -2.0, -0.01])
    assert short[0] == 1.0
    assert short[1] == -2.0
    assert short[2:5] == pytest.approx(list(np.quantile([-0.1, -2.0, -0.01], [0.1, 0.25, 0.5])))
    longer = logprob_quantiles([-0.1, -2.0, -0.01] * 50)  # the same tokens, fifty times as many
    assert (longer[1], longer[4], longer[5]) == pytest.approx((short[1], short[4], short[5]))
    assert logprob_quantiles(None) == [0.0] * 6
    assert logprob_quantiles([float("-inf"), -1.0])[1] == -30.0


def test_answer_features_in_named_order() -> None:
    features = dict(zip(ANSWER_FEATURE_NAMES, answer_features("What is 2 + 3?", "2 + 3 = 6. Answer: 6"), strict=True))
    assert len(features) == len(ANSWER_FEATURE_NAMES)
    assert features["arithmetic_checked"] > 0
    assert features["arithmetic_any_wrong"] == 1.0
    assert features["final_is_integer"] == 1.0
    assert features["prompt_numbers_used"] == 1.0
    assert features["has_logprobs"] == 0.0
    refusal = dict(zip(ANSWER_FEATURE_NAMES, answer_features("Who won?", "I'm sorry, I don't know."), strict=True))
    assert refusal["refusal"] == 1.0
    assert refusal["final_answer_found"] == 0.0
    choice = dict(zip(ANSWER_FEATURE_NAMES, answer_features("Pick one", "B"), strict=True))
    assert (choice["choice_A"], choice["choice_B"], choice["final_is_choice"]) == (0.0, 1.0, 1.0)


def test_a_huge_answer_is_read_at_its_edges_quickly() -> None:
    import time

    answer = "1 + 1 = 2. " * 400_000  # 4.4 MB
    started = time.perf_counter()
    features = answer_features("Add.", answer)
    assert time.perf_counter() - started < 5.0  # a loose bound: the window keeps it near milliseconds
    assert features[ANSWER_FEATURE_NAMES.index("arithmetic_wrong_share")] == 0.0
