"""The check protocol: what an answer check may look at, and what it says.

`AnswerEvidence` is everything known about one model's answer to one request: the request, the
answer text, the per-token log-probabilities with their top alternatives when the upstream gave
them, tool calls, the finish reason, and other models' or samples' answers to the same request
(for agreement). An `AnswerCheck` turns evidence into a `CheckResult`: a calibrated probability
that the answer is good (`p_good`), the raw value it was computed from, what that value means,
and a reason a person can read; or "not applicable" when the check has nothing to say about this
kind of request; or "failed" when it could not run. Checks are pure and cheap (no model calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from voxgate.core.types import ChatRequest, JSONObject


@dataclass(frozen=True, slots=True)
class TokenAlternative:
    """One of the most likely tokens at a position, with its natural-log probability."""

    token: str
    logprob: float


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token: its text, its log-probability, and the top alternatives (itself included)."""

    token: str
    logprob: float
    top: tuple[TokenAlternative, ...] = ()


@dataclass(frozen=True)
class AnswerEvidence:
    """One model's answer to one request, as the checks see it.

    `token_logprobs` is None when the upstream gave none (not every server can); `peer_answers`
    maps a label ("smollm2-135m", "sample-2") to another answer to the same request;
    `prior_quality` is the router's predicted quality for the model (None: not known);
    `asked_for`: the required arguments the tool layer told the model to ask the user for, its
    call having made them up (`backends/toolcall_missing`); `repaired_call`: the tool layer closed a call
    the model cut short in a runaway list (`backends/toolcall_repair`).
    """

    model_id: str
    request: ChatRequest
    answer_text: str
    token_logprobs: tuple[TokenLogprob, ...] | None = None
    tool_calls: tuple[JSONObject, ...] = ()
    finish_reason: str | None = None
    peer_answers: Mapping[str, str] = field(default_factory=dict)
    prior_quality: float | None = None
    asked_for: tuple[str, ...] = ()
    repaired_call: bool = False


class CheckStatus(StrEnum):
    SCORED = "scored"
    NOT_APPLICABLE = "not_applicable"
    FAILED = "failed"


@dataclass(frozen=True)
class CheckResult:
    """What one check concluded about one answer.

    `p_good`: calibrated probability (0-1) that the answer is good, None unless scored.
    `value`: the raw measurement (e.g. the 10th percentile of token log-probs), `meaning` says
    what it is. `conclusive`: the check verified the answer itself (an arithmetic result
    recomputed, a required JSON schema violated), so it decides the stage on its own.
    """

    check: str
    status: CheckStatus
    p_good: float | None = None
    value: float | None = None
    meaning: str = ""
    reason: str = ""
    conclusive: bool = False

    @classmethod
    def scored(
        cls, check: str, p_good: float, value: float | None, meaning: str, reason: str, *, conclusive: bool = False
    ) -> CheckResult:
        p_good = min(max(float(p_good), 0.0), 1.0)
        return cls(check, CheckStatus.SCORED, p_good, value, meaning, reason, conclusive)

    @classmethod
    def not_applicable(cls, check: str, reason: str) -> CheckResult:
        return cls(check, CheckStatus.NOT_APPLICABLE, reason=reason)

    @classmethod
    def failed(cls, check: str, reason: str) -> CheckResult:
        """The check could not run (it raised, or ran out of time): the stage escalates."""
        return cls(check, CheckStatus.FAILED, reason=reason)

    def as_dict(self) -> JSONObject:
        return {
            "check": self.check,
            "status": self.status.value,
            "p_good": None if self.p_good is None else round(self.p_good, 4),
            "value": None if self.value is None else round(self.value, 4),
            "meaning": self.meaning,
            "reason": self.reason,
            "conclusive": self.conclusive,
        }


class AnswerCheck(Protocol):
    """A check on an answer: pure, no I/O, a few milliseconds at most. `name` appears in decisions."""

    @property
    def name(self) -> str: ...

    def check(self, evidence: AnswerEvidence) -> CheckResult: ...
