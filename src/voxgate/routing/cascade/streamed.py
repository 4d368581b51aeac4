"""A streamed cascade: the first stage's opening sentence is checked before any of it is passed on.

    chunks = StreamedCascade(dispatcher, cards, checks, clock).stream(request, decision, plan)

Voice turns use it (`voice.answer_check`): a spoken reply cannot be taken back, and the chat
cascade's check of a whole answer would cost a whole answer's time before the first word. Here
every stage but the last streams with token log-probabilities, and its chunks are held until
its first sentence is complete (a sentence mark before a space, a line break, `MAX_HELD_CHARS`,
or the end of the answer). The checks judge that sentence as the chat cascade judges an answer
(`checks.run_checks`, `rule.judge_stage`, the plan's bar):

- accepted: the held chunks go out and the rest of the stream follows, not held;
- escalated (or the stage failed upstream): its stream is closed, which stops the generation,
  and the next stage is tried; the last stage streams straight through, unchecked, with the
  plan's fallback models behind it as the predict path has.

A tool call in the held chunks is not judged: the stage is kept, as the turn asked for a call.
The decision is finished once, here, with every stage in `decision.cascade` in the chat
cascade's shape (`"held": "first sentence"`) and the cost summed over the stages; closing the
stream early (a barge-in) records it as cancelled. No log-probabilities go downstream.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, aclosing, nullcontext
from dataclasses import dataclass, field, replace

from voxgate.backends.toolcall_record import asked_for_in
from voxgate.core.clock import Clock
from voxgate.core.errors import BackendError
from voxgate.core.escalation import escalation_may_follow
from voxgate.core.types import ChatRequest, JSONObject, ModelCard, RoutingConstraints
from voxgate.routing.cascade.checks import run_checks
from voxgate.routing.cascade.confidence import token_logprobs_from
from voxgate.routing.cascade.evidence import AnswerCheck, AnswerEvidence, CheckResult, TokenLogprob
from voxgate.routing.cascade.payloads import strip_logprobs, with_logprobs
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings, PlannedStage, plan_cascade
from voxgate.routing.cascade.rule import StageAction, StageJudgement, judge_stage
from voxgate.routing.cascade.runner import RunnerSettings, candidate_of, stage_entry
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher, close_stream
from voxgate.routing.policy import LATENCY_REJECTION, QUALITY_REJECTION

MAX_HELD_CHARS = 48
"""A first sentence longer than this is judged on what has come so far: every held character is
silence the listener waits through (a 0.5B writes ~10 tokens in the time). The ladder's spoken
answers fit ("The capital of Australia is Canberra." is 37); with 160, open requests' long first
sentences ("Sure, I can help you book...") held the first audio 0.6-0.9 s (bench/results/voice_latency.md)."""
_SENTENCE_END_RE = re.compile(r"[^\s.!?][.!?]+['\")\]]*\s|\S[ \t]*\n")
HELD = "first sentence"
SOFT_REJECTIONS = (QUALITY_REJECTION, LATENCY_REJECTION)
LAST_STAGE_REASON = "last stage: streamed without holding (nothing to escalate to)"


_INTERROGATIVE_RE = re.compile(
    r"^\W*(what|who|whom|whose|where|when|which|why|how|is|are|was|were|do|does|did|can|could|will|would|"
    r"should|shall|may|might|has|have|had)\b", re.IGNORECASE)


def asks_a_question(text: str) -> bool:
    """Whether a turn asks something (a question mark, or it opens with a question word).

    The checks judge answers to questions: the token-confidence calibration was fit on the ladder's
    questions, arithmetic and echo need one. A command ("Turn off the kitchen lights.") has no
    answer they can verify, so holding its reply would only cost silence (bench/results/voice_latency.md).
    """
    return "?" in text or _INTERROGATIVE_RE.match(text) is not None


def first_sentence_plan(
    decision: Decision, constraints: RoutingConstraints, settings: CascadeSettings
) -> CascadePlan | None:
    """Two stages: the routed model, then the dearest (strongest) one the turn may use; None when they
    are the same.

    Pure. Voice treats its quality floor and latency budget as soft (`server.realtime`: the floor
    wins over the budget; nothing above the floor, the best predicted answers), so a model refused
    only for `min_quality` or `max_latency_ms` may still take the turn when the check fails: a late
    answer rather than a wrong one. Hard refusals (capabilities, cost, open circuits) stay. The
    bar is the cascade's `accept`, raised to `min_quality` as in `plan_cascade`.
    """
    candidates = [
        candidate_of(c) for c in decision.candidates
        if c.eligible or (c.predicted_quality is not None and c.reason.startswith(SOFT_REJECTIONS))
    ]
    if decision.chosen is None or not candidates:
        return None
    strongest = max(candidates, key=lambda c: (c.cost_usd, c.quality, c.model_id)).model_id
    if strongest == decision.chosen:
        return None
    ordered = replace(settings, models=(decision.chosen, strongest), max_stages=2)
    plan = plan_cascade(candidates, replace(constraints, max_latency_ms=None), ordered)
    return plan if len(plan.stages) == 2 else None


@dataclass
class HeldStart:
    """A stage's chunks until its first sentence is complete, with the text and tokens they carry."""

    chunks: list[JSONObject] = field(default_factory=list)
    text: str = ""
    tokens: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str | None = None
    tool_call: bool = False
    error: str | None = None
    ended: bool = False

    def push(self, chunk: JSONObject) -> None:
        """Keep `chunk` (its log-probabilities moved out of it)."""
        if isinstance(chunk.get("error"), dict):
            self.error = str(chunk["error"].get("message") or "the stream failed")
            return
        self.chunks.append(chunk)
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            self.text += str(delta.get("content") or "")
            self.tool_call = self.tool_call or bool(delta.get("tool_calls"))
            self.tokens.extend(token_logprobs_from(choice) or ())
            choice.pop("logprobs", None)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    @property
    def complete(self) -> bool:
        """Whether there is enough to judge (or nothing more will come)."""
        return (self.ended or self.error is not None or self.tool_call or self.finish_reason is not None
                or len(self.text) >= MAX_HELD_CHARS or _SENTENCE_END_RE.search(self.text) is not None)


async def hold_first_sentence(chunks: AsyncIterator[JSONObject]) -> HeldStart:
    """Read `chunks` until the first sentence is complete; the stream stays open for the rest."""
    held = HeldStart()
    while not held.complete:
        chunk = await anext(chunks, None)
        if chunk is None:
            held.ended = True
        else:
            held.push(chunk)
    return held


class StreamedCascade:
    """Runs a plan as streams through the dispatcher, holding each checked stage's first sentence."""

    def __init__(
        self, dispatcher: Dispatcher, cards: Sequence[ModelCard], checks: Sequence[AnswerCheck], clock: Clock,
        settings: RunnerSettings | None = None,
        stage_context: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._dispatcher = dispatcher
        self._cards = {c.id: c for c in cards}
        self._checks = tuple(checks)
        self._clock = clock
        self._settings = settings or RunnerSettings()
        self._stage_context = stage_context
        """Entered around each stage's opening call (voice: `voice_priority`)."""

    async def stream(
        self, request: ChatRequest, decision: Decision, plan: CascadePlan
    ) -> AsyncGenerator[JSONObject, None]:
        """The accepted stage's chunks (see the module docstring); the decision is finished at the end."""
        decision.strategy = "cascade"
        decision.cascade = {"plan": plan.as_dict(), "held": HELD, "stages": [], "answered_by": None,
                            "reason": "", "cost_usd": 0.0, "latency_ms": 0.0}
        outcome = "cancelled"
        try:
            async with aclosing(self._stages(request, decision, plan)) as stages:  # closed on a barge-in too
                async for chunk in stages:
                    yield chunk
            last = decision.attempts[-1] if decision.attempts else None
            outcome = "failed" if last is None or last.status == "error" else "ok"
        except BackendError:
            outcome = "failed"
            decision.cascade["reason"] = "every stage failed upstream"
            raise
        finally:
            if decision.outcome == "pending":  # not already ended (the server stopping ends open streams)
                if outcome == "cancelled":
                    decision.cascade["reason"] = "cancelled: the reply was closed early"
                self._dispatcher.finish(decision, outcome)

    async def _open(
        self, request: ChatRequest, decision: Decision, models: Sequence[str], *, last: bool
    ) -> AsyncIterator[JSONObject]:
        """The stage's stream; a stage before the `last` is opened as one a later stage may replace."""
        with self._stage_context(), escalation_may_follow(not last):
            return await self._dispatcher.open_stream(request, decision, models=models, finish=False)

    async def _stages(
        self, request: ChatRequest, decision: Decision, plan: CascadePlan
    ) -> AsyncGenerator[JSONObject, None]:
        held_request = replace(request, body=with_logprobs(request.body, self._settings.top_logprobs))
        for index, stage in enumerate(plan.stages):
            if index == len(plan.stages) - 1:
                async with aclosing(self._last_stage(request, decision, plan, stage)) as last:
                    async for chunk in last:
                        yield chunk
                return
            started_s = self._clock.monotonic_s()
            try:
                chunks = await self._open(held_request, decision, (stage.model_id,), last=False)
            except BackendError as exc:
                judgement = judge_stage(stage.model_id, None, plan.accept, last=False, upstream_error=exc.message)
                self._record(decision, stage, judgement, [], 0.0, started_s, opened=False)
                continue
            judged: tuple[StageJudgement, list[CheckResult], float] | None = None
            try:
                held = await hold_first_sentence(chunks)
                judged = self._judge(request, stage, held, plan, asked_for_in(decision.tools, stage.model_id))
                held_ms = (self._clock.monotonic_s() - started_s) * 1000
                if judged[0].action is StageAction.ACCEPT:
                    for chunk in held.chunks:
                        yield chunk
                    async for chunk in chunks:
                        strip_logprobs(chunk)
                        yield chunk
            finally:
                await close_stream(chunks)  # an escalated stage stops generating here
                if judged is not None:  # recorded once closed, when its usage is known
                    self._record(decision, stage, *judged, started_s, held=held, held_ms=held_ms)
            if judged[0].action is StageAction.ACCEPT:
                self._settle(decision, stage.model_id, judged[0].reason)
                return

    async def _last_stage(
        self, request: ChatRequest, decision: Decision, plan: CascadePlan, stage: PlannedStage
    ) -> AsyncGenerator[JSONObject, None]:
        started_s = self._clock.monotonic_s()
        chunks = await self._open(request, decision, (stage.model_id, *plan.fallback), last=True)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await close_stream(chunks)
            answered_by = decision.answered_by or stage.model_id
            judgement = StageJudgement(answered_by, StageAction.STOP, True, None, None, LAST_STAGE_REASON)
            self._record(decision, replace(stage, model_id=answered_by), judgement, [], 0.0, started_s)
            self._settle(decision, answered_by, LAST_STAGE_REASON)

    def _judge(
        self, request: ChatRequest, stage: PlannedStage, held: HeldStart, plan: CascadePlan,
        asked_for: tuple[str, ...] = (),
    ) -> tuple[StageJudgement, list[CheckResult], float]:
        """The held start judged as an answer; `asked_for`: what the tool layer told this stage's model to
        ask the user for (`toolcall_record.asked_for_in`: its notes come before its words stream)."""
        if held.error is not None or (held.ended and not held.chunks):
            error = held.error or "the stream ended without a chunk"
            return judge_stage(stage.model_id, None, plan.accept, last=False, upstream_error=error), [], 0.0
        if held.tool_call:
            reason = "a tool call: kept unjudged (the turn asked for calls)"
            return StageJudgement(stage.model_id, StageAction.ACCEPT, True, None, None, reason), [], 0.0
        evidence = AnswerEvidence(
            model_id=stage.model_id, request=request, answer_text=held.text,
            token_logprobs=tuple(held.tokens) or None, finish_reason=held.finish_reason,
            prior_quality=stage.predicted_quality, asked_for=asked_for,
        )
        results, checks_ms = run_checks(self._checks, evidence, self._clock, self._settings.check_limit_ms)
        return judge_stage(stage.model_id, results, plan.accept, last=False), results, checks_ms

    def _record(
        self, decision: Decision, stage: PlannedStage, judgement: StageJudgement, results: Sequence[CheckResult],
        checks_ms: float, started_s: float, *, held: HeldStart | None = None, held_ms: float | None = None,
        opened: bool = True,
    ) -> None:
        """Append one stage to `decision.cascade`, its cost from the usage the dispatcher recorded."""
        assert decision.cascade is not None
        usage = decision.usage if opened else None
        card = self._cards.get(stage.model_id)
        tokens = (usage["prompt_tokens"], usage["completion_tokens"]) if usage else None
        cost_usd = card.price.cost_usd(*tokens) if card is not None and tokens else 0.0
        latency_ms = (self._clock.monotonic_s() - started_s) * 1000
        decision.cascade["cost_usd"] += cost_usd
        decision.cascade["latency_ms"] += latency_ms
        error = judgement.reason if not judgement.answered else None
        entry = stage_entry(judgement, decision.cascade["plan"]["accept"], results, checks_ms, tokens, cost_usd,
                            latency_ms, error)
        entry["held_chars"] = len(held.text) if held is not None else None
        entry["held_ms"] = None if held_ms is None else round(held_ms, 1)
        decision.cascade["stages"].append(entry)

    @staticmethod
    def _settle(decision: Decision, model_id: str, reason: str) -> None:
        assert decision.cascade is not None
        decision.cascade["answered_by"] = model_id
        decision.cascade["reason"] = f"answered by {model_id}: {reason}"
