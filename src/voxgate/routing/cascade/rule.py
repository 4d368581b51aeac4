"""The cascade rule: after each stage, accept its answer, escalate to the next stage, or stop.

Pure: the live cascade (`runner`) and the offline replay (`voxgate eval`) call the same
functions. A stage's checks are combined into one probability that its answer is good:

- a check that failed (raised, timed out) makes it 0: the stage escalates;
- a conclusive check (it verified the answer itself: arithmetic recomputed, a required schema
  violated) decides alone; with several, the lowest decides;
- otherwise the lowest `p_good` of the scored checks decides (any check can hold an answer back);
- no scored check at all: nothing vouches for the answer, so it is not accepted.

Then: at or above the bar (`accept`), accept. Below it, escalate, unless this is the last stage
or the next one cannot run (`next_blocked`, e.g. it would break `max_latency_ms`): then stop and
keep an answer (`kept_answer`): the strongest model's, unless a check verified it wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from voxgate.core.types import JSONObject
from voxgate.routing.cascade.evidence import CheckResult, CheckStatus


class StageAction(StrEnum):
    ACCEPT = "accept"
    ESCALATE = "escalate"
    STOP = "stop"


@dataclass(frozen=True)
class CombinedChecks:
    """A stage's checks as one verdict: `p_good` (None: nothing scored it), the deciding check, why."""

    p_good: float | None
    deciding_check: str | None
    explanation: str
    conclusive: bool = False


@dataclass(frozen=True)
class StageJudgement:
    model_id: str
    action: StageAction
    answered: bool
    p_good: float | None
    deciding_check: str | None
    reason: str
    conclusive: bool = False  # the deciding check verified the answer itself (not a confidence estimate)

    def as_dict(self) -> JSONObject:
        return {
            "model": self.model_id,
            "action": self.action.value,
            "answered": self.answered,
            "p_good": None if self.p_good is None else round(self.p_good, 4),
            "deciding_check": self.deciding_check,
            "conclusive": self.conclusive,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CascadeOutcome:
    """Every stage's judgement in order; `answer_index` is the stage whose answer is returned."""

    judgements: tuple[StageJudgement, ...]
    answer_index: int | None
    reason: str

    @property
    def answered_by(self) -> str | None:
        return None if self.answer_index is None else self.judgements[self.answer_index].model_id


def combine_checks(results: Sequence[CheckResult]) -> CombinedChecks:
    """One verdict from a stage's check results (see the module docstring for the order)."""
    failed = [r for r in results if r.status is CheckStatus.FAILED]
    if failed:
        return CombinedChecks(0.0, failed[0].check, f"check {failed[0].check} failed: {failed[0].reason}")
    scored = [r for r in results if r.status is CheckStatus.SCORED and r.p_good is not None]
    conclusive = [r for r in scored if r.conclusive]
    pool = conclusive or scored
    if not pool:
        return CombinedChecks(None, None, "no check could judge this answer")
    weakest = min(pool, key=lambda r: (r.p_good, r.check))
    kind = "conclusive check" if conclusive else "weakest check"
    return CombinedChecks(weakest.p_good, weakest.check, f"{kind} {weakest.check}: {weakest.reason}",
                          bool(conclusive))


def judge_stage(
    model_id: str,
    results: Sequence[CheckResult] | None,
    accept: float,
    *,
    last: bool,
    next_blocked: str | None = None,
    upstream_error: str | None = None,
) -> StageJudgement:
    """Accept, escalate or stop after one stage. `results` None with `upstream_error`: no answer came."""
    if results is None or upstream_error is not None:
        why = f"upstream failed: {upstream_error or 'no answer'}"
        if last or next_blocked:
            return StageJudgement(model_id, StageAction.STOP, False, None, None, why + _no_next(last, next_blocked))
        return StageJudgement(model_id, StageAction.ESCALATE, False, None, None, why + "; trying the next stage")
    combined = combine_checks(results)
    p_good = combined.p_good
    if p_good is not None and p_good >= accept:
        reason = f"p_good {p_good:.2f} >= bar {accept:.2f} ({combined.explanation})"
        return StageJudgement(model_id, StageAction.ACCEPT, True, p_good, combined.deciding_check, reason,
                              combined.conclusive)
    shortfall = combined.explanation if p_good is None else (
        f"p_good {p_good:.2f} < bar {accept:.2f} ({combined.explanation})"
    )
    if last or next_blocked:
        reason = shortfall + _no_next(last, next_blocked)
        return StageJudgement(model_id, StageAction.STOP, True, p_good, combined.deciding_check, reason,
                              combined.conclusive)
    return StageJudgement(model_id, StageAction.ESCALATE, True, p_good, combined.deciding_check, shortfall,
                          combined.conclusive)


def _no_next(last: bool, next_blocked: str | None) -> str:
    return "; last stage" if last else f"; no further stage: {next_blocked}"


def kept_answer(judgements: Sequence[StageJudgement]) -> int | None:
    """Which answer a cascade returns once it stops.

    The accepted one if any. Else the last answered stage (the strongest model tried), unless a
    check verified that answer wrong (a conclusive check: arithmetic recomputed, a schema broken):
    then the answered stage with the highest `p_good` (a later stage wins ties). A confidence
    estimate below the bar does not make an earlier, weaker model's rejected answer the better one:
    on the ladder's live TEST run that rule kept the 0.5B's wrong "74" over the 1.5B's right "68".
    """
    for index, judgement in enumerate(judgements):
        if judgement.action is StageAction.ACCEPT:
            return index
    answered = [i for i, j in enumerate(judgements) if j.answered]
    if not answered:
        return None
    last = answered[-1]
    if judgements[last].p_good is None or not judgements[last].conclusive:
        return last
    scored = [i for i in answered if judgements[i].p_good is not None]
    return max(scored, key=lambda i: (judgements[i].p_good or 0.0, i))


def run_cascade_rule(
    stages: Sequence[str],
    results: Sequence[Sequence[CheckResult] | None],
    accept: float,
    blocked: Sequence[str | None] | None = None,
) -> CascadeOutcome:
    """Walk the stages in order with every stage's check results known (the offline replay).

    `results[i]` None: stage i's upstream gave no answer. `blocked[i]`: why the stage after i
    could not run (None: it could). Stages after the one that ends the cascade are not judged.
    """
    if len(results) != len(stages):
        raise ValueError(f"{len(stages)} stages but {len(results)} result lists")
    judgements: list[StageJudgement] = []
    for index, model_id in enumerate(stages):
        next_blocked = blocked[index] if blocked is not None else None
        judgement = judge_stage(
            model_id, results[index], accept, last=index == len(stages) - 1, next_blocked=next_blocked,
            upstream_error=None if results[index] is not None else "no answer",
        )
        judgements.append(judgement)
        if judgement.action is not StageAction.ESCALATE:
            break
    return finish_cascade(judgements)


def finish_cascade(judgements: Sequence[StageJudgement]) -> CascadeOutcome:
    """The outcome of judged stages: which answer is returned, and a one-line reason."""
    index = kept_answer(judgements)
    if index is None:
        return CascadeOutcome(tuple(judgements), None, "no stage produced an answer")
    chosen = judgements[index]
    if chosen.action is StageAction.ACCEPT:
        reason = f"{chosen.model_id} accepted at stage {index + 1}: {chosen.reason}"
    else:
        why = "the strongest model tried" if index == len(judgements) - 1 else "the most trustworthy answer"
        reason = f"no answer reached the bar; kept {chosen.model_id} (stage {index + 1}, {why})"
    return CascadeOutcome(tuple(judgements), index, reason)
