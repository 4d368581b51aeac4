"""The learned checker behind the AnswerCheck protocol: margins from top alternatives, a scored result."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.routing.cascade.evidence import AnswerEvidence, CheckStatus, TokenAlternative, TokenLogprob
from voxgate.routing.cascade.learned_check import LearnedAnswerCheck, token_margins
from voxgate.routing.learned.answer_checker import CheckedAnswer, checker_feature_matrix, train_checker
from voxgate.server.validation import parse_chat_request


def _token(text: str, logprob: float, *alternatives: tuple[str, float]) -> TokenLogprob:
    top = (TokenAlternative(text, logprob), *(TokenAlternative(a, lp) for a, lp in alternatives))
    return TokenLogprob(text, logprob, top)


def test_margin_is_the_chosen_tokens_lead_over_the_best_other_alternative() -> None:
    tokens = (_token("4", -1.12, ("0", -1.16), ("7", -3.0)), _token("1", -0.01, ("2", -5.0)), _token("x", -0.5))
    assert token_margins(tokens) == pytest.approx([0.04, 4.99])  # the last token has no alternative
    assert token_margins((_token("a", -0.1),)) is None


def test_learned_check_scores_an_answer_with_the_checkers_version_in_the_reason() -> None:
    rng = np.random.default_rng(0)
    items, scores = [], []
    for _ in range(80):
        good = bool(rng.random() < 0.5)
        items.append(CheckedAnswer("What is 6 * 7?", "6 * 7 = 42" if good else "6 * 7 = 43"))
        scores.append(float(good))
    checker = train_checker(checker_feature_matrix(items), np.array(scores))
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 6 * 7?"}]})
    check = LearnedAnswerCheck(checker, priors={"m": 0.7})
    right = check.check(AnswerEvidence("m", request, "6 * 7 = 42", (_token("42", -0.2, ("43", -2.0)),)))
    wrong = check.check(AnswerEvidence("m", request, "6 * 7 = 43"))
    assert right.status is CheckStatus.SCORED
    assert wrong.status is CheckStatus.SCORED
    assert right.p_good is not None
    assert wrong.p_good is not None
    assert right.p_good > wrong.p_good
    assert checker.version in right.reason
    assert right.check == "learned"
