"""The learned answer checker behind the `AnswerCheck` protocol (check name `learned`).

The evidence's token log-probabilities become the checker's per-token log-probs and margins
(the chosen token's log-prob minus the best other alternative's); the prior is the router's
predicted quality for the stage's model (the evidence's `prior_quality`, which the runner fills
from the plan; else `priors`), else the checker's neutral 0.5; the evidence's peer answers
(earlier stages, other samples) are the checker's peers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from voxgate.routing.cascade.evidence import AnswerEvidence, CheckResult, TokenLogprob
from voxgate.routing.learned.answer_checker import AnswerChecker, CheckedAnswer

MEANING = "learned P(good answer) from the prompt and answer text (and token log-probs when given)"


def token_margins(tokens: Sequence[TokenLogprob]) -> list[float] | None:
    """Per token, its log-prob minus the best alternative that is not itself; None without alternatives."""
    margins = []
    for token in tokens:
        others = [alt.logprob for alt in token.top if alt.token != token.token]
        if others:
            margins.append(token.logprob - max(others))
    return margins or None


@dataclass(frozen=True)
class LearnedAnswerCheck:
    checker: AnswerChecker
    priors: Mapping[str, float] = field(default_factory=dict)
    name: str = "learned"

    @property
    def version(self) -> str:
        """The checker's content hash (`checker-v1-...`): decisions name it."""
        return self.checker.version

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        tokens = evidence.token_logprobs
        item = CheckedAnswer(
            prompt=evidence.request.prompt_text,
            answer=evidence.answer_text,
            token_logprobs=None if tokens is None else [t.logprob for t in tokens],
            margins=None if tokens is None else token_margins(tokens),
            prior_quality=evidence.prior_quality if evidence.prior_quality is not None
            else self.priors.get(evidence.model_id),
            peer_answers=tuple(evidence.peer_answers.values()),
        )
        p_good = self.checker.p_good(item)
        reason = f"{self.checker.version} rates this answer {p_good:.2f}"
        return CheckResult.scored(self.name, p_good, p_good, MEANING, reason)
