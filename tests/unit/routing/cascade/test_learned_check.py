"""The learned checker behind the AnswerCheck protocol: margins from top alternatives, a scored result."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.chat_backends import ScriptedChatBackend
from tests.unit.routing.cascade.test_runner import CARDS, Setup, answer
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.evidence import (
    AnswerEvidence,
    CheckResult,
    CheckStatus,
    TokenAlternative,
    TokenLogprob,
)
from voxgate.routing.cascade.learned_check import LearnedAnswerCheck, token_margins
from voxgate.routing.learned.answer_checker import (
    AnswerChecker,
    CheckedAnswer,
    checker_feature_matrix,
    train_checker,
)
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


def _checker_on_arithmetic() -> AnswerChecker:
    rng = np.random.default_rng(1)
    items = [CheckedAnswer("What is 6 * 7?", "6 * 7 = 42" if good else "6 * 7 = 43")
             for good in (bool(rng.random() < 0.5) for _ in range(60))]
    return train_checker(checker_feature_matrix(items), np.array([float("42" in i.answer) for i in items]))


def test_the_evidence_prior_wins_over_the_static_priors() -> None:
    checker = _checker_on_arithmetic()
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 6 * 7?"}]})
    check = LearnedAnswerCheck(checker, priors={"m": 0.01})
    static = check.check(AnswerEvidence("m", request, "6 * 7 = 42"))
    live = check.check(AnswerEvidence("m", request, "6 * 7 = 42", prior_quality=0.99))
    expected = checker.p_good(CheckedAnswer("What is 6 * 7?", "6 * 7 = 42", prior_quality=0.99))
    assert live.p_good == pytest.approx(expected)
    assert static.p_good == pytest.approx(checker.p_good(CheckedAnswer("What is 6 * 7?", "6 * 7 = 42",
                                                                       prior_quality=0.01)))
    assert check.version == checker.version


async def test_a_cascade_with_the_learned_check_names_its_version_and_passes_the_stage_prior() -> None:
    seen: list[AnswerEvidence] = []

    class Recording(LearnedAnswerCheck):
        def check(self, evidence: AnswerEvidence) -> CheckResult:
            seen.append(evidence)
            return super().check(evidence)

    checker = _checker_on_arithmetic()
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("6 * 7 = 42")) for c in CARDS}
    setup = Setup(backends, checks=(*default_checks(), Recording(checker)))
    decision, plan, constraints = setup.decide("What is 6 * 7?")
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 6 * 7?"}]})
    await setup.runner.complete(request, decision, plan, constraints)
    recorded = setup.log.records[-1]
    assert recorded["checker_version"] == checker.version
    first = recorded["cascade"]["stages"][0]
    learned = next(c for c in first["checks"] if c["check"] == "learned")
    assert learned["status"] == "scored"
    assert checker.version in learned["reason"]
    assert seen[0].prior_quality == plan.stages[0].predicted_quality
    plain = Setup(backends)  # without the learned check, the decision names no checker
    decision, plan, constraints = plain.decide("What is 6 * 7?")
    await plain.runner.complete(request, decision, plan, constraints)
    assert plain.log.records[-1]["checker_version"] is None
