"""The live cascade: answer with the first planned stage, check, escalate, stop at the first accepted.

    plan = plan_for_decision(decision, constraints, settings)        # pure: the router's candidates
    response = await CascadeRunner(...).complete(request, decision, plan, constraints)

Each stage is one non-streaming call through the `Dispatcher` (so attempts, latency stats and
circuit breakers stay as they are) with token log-probabilities requested upstream; the checks
(`checks.run_checks`) judge the answer and the pure rule (`rule.judge_stage`) accepts, escalates
or stops, with `planner.next_stage_blocked` keeping `max_cost_usd` / `max_latency_ms` across
stages. Every stage lands in `decision.cascade`. The log-probabilities leave the response unless
the client asked for them. With `agreement`, the first two stages of a plan of three or more
answer at once and each one's answer is the other's peer (`AgreementCheck`).

When no stage produced an answer (every upstream failed), the plan's fallback models are tried
as the predict path would; when those fail too, `AllBackendsFailedError` (or the upstream's own
non-retryable error). Cancelling `complete` (the client went away) cancels every stage in flight
and records the decision as cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from opentelemetry.trace import INVALID_SPAN, NoOpTracer, Span, Status, StatusCode, Tracer, use_span

from voxgate.backends.toolcall_record import asked_for_in, repaired_in
from voxgate.core.clock import Clock
from voxgate.core.errors import AllBackendsFailedError, BackendConnectError, BackendError
from voxgate.core.escalation import escalation_may_follow
from voxgate.core.types import ChatRequest, JSONObject, ModelCard, RoutingConstraints, Usage, first_choice
from voxgate.routing.cascade.checks import run_checks
from voxgate.routing.cascade.confidence import token_logprobs_from
from voxgate.routing.cascade.evidence import AnswerCheck, AnswerEvidence, CheckResult
from voxgate.routing.cascade.learned_check import LearnedAnswerCheck
from voxgate.routing.cascade.payloads import strip_logprobs, with_logprobs
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings, next_stage_blocked, plan_cascade
from voxgate.routing.cascade.rule import StageAction, StageJudgement, finish_cascade, judge_stage
from voxgate.routing.decision import CandidateRecord, Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.features import RequestKind, request_kind
from voxgate.routing.policy import Candidate
from voxgate.routing.tracing import DECISION_ID, ERROR_TYPE, REQUEST_MODEL

_NOT_UPSTREAM = ("stream", "stream_options")


@dataclass(frozen=True)
class RunnerSettings:
    """Per-check time limit, how many alternatives per token to ask for, agreement on or off.

    `last_stage_logprobs`: ask the plan's last stage for token log-probs too. Off by default: its
    answer is kept whatever its confidence (only a conclusive check, which needs none, can reject
    it), and asking costs ~4-5 % more time per token on llama.cpp (`bench/results/cascade_levers.md`,
    2026-12-03 16:44). A client's own `logprobs` still reach every stage.
    """

    check_limit_ms: float = 50.0
    top_logprobs: int = 2
    agreement: bool = False
    last_stage_logprobs: bool = False


@dataclass
class StageAnswer:
    """What one stage's call gave: the completion or the error, what it cost and took."""

    model_id: str
    response: JSONObject | None
    error: BackendError | None
    latency_ms: float
    cost_usd: float = 0.0
    asked_for: tuple[str, ...] = ()
    """The arguments the tool layer told the model to ask the user for (`toolcall_record.asked_for_in`)."""
    repaired_call: bool = False
    """The tool layer closed a call the model cut short (`toolcall_record.repaired_in`)."""
    span: Span = INVALID_SPAN
    """The stage's span (its upstream attempt inside), ended once the stage is judged (`_end_stage`)."""

    @property
    def text(self) -> str:
        message = _message(self.response) if self.response is not None else {}
        content = message.get("content")
        return content if isinstance(content, str) else ""


def _message(response: JSONObject) -> JSONObject:
    message = first_choice(response).get("message")
    return message if isinstance(message, dict) else {}


TOOL_TURN_NOTE = (
    "a tool turn: no stage is skipped as hopeless (the predictor learned from turns without tools; "
    "tool_arguments verifies each call against its schema)"
)


def is_tool_call_turn(chat: ChatRequest) -> bool:
    """Tools are offered, may be called (`tool_choice` is not "none"), and no tool result is being answered."""
    body = chat.body
    if not body.get("tools") or body.get("tool_choice") == "none":
        return False
    return request_kind(body.get("messages"), offers_tools=True) is RequestKind.TOOL_CALL


def candidate_of(record: CandidateRecord) -> Candidate:
    """A decision's scored candidate as the planner takes it."""
    return Candidate(record.model, record.predicted_quality or 0.0, record.estimated_cost_usd or 0.0,
                     record.estimated_latency_ms or 0.0, record.quality_source or "")


def eligible_candidates(decision: Decision) -> list[Candidate]:
    """The router's scored candidates that met the request's constraints."""
    return [candidate_of(c) for c in decision.candidates if c.eligible]


def plan_for_decision(
    decision: Decision, constraints: RoutingConstraints, settings: CascadeSettings, *, tool_turn: bool = False
) -> CascadePlan:
    """The cascade plan over the candidates the router found eligible and within the constraints.

    A tool turn keeps every cheaper stage the predictor would call hopeless: its quality estimates
    come from chat turns, and a cheap model's call is checked exactly (BFCL through `auto` lost two
    simple calls the 0.5B made when the floor skipped it; `bench/results/bfcl.md`)."""
    candidates = eligible_candidates(decision)
    if not tool_turn:
        return plan_cascade(candidates, constraints, settings)
    plan = plan_cascade(candidates, constraints, replace(settings, hopeless_below=0.0))
    return replace(plan, reason=f"{plan.reason}; {TOOL_TURN_NOTE}") if plan.stages else plan


def _evidence(
    request: ChatRequest, answer: StageAnswer, peers: Mapping[str, str], prior: float | None
) -> AnswerEvidence:
    response = answer.response or {}
    choices = response.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    calls = _message(response).get("tool_calls")
    return AnswerEvidence(
        model_id=answer.model_id,
        request=request,
        answer_text=answer.text,
        token_logprobs=token_logprobs_from(choice),
        tool_calls=tuple(c for c in calls if isinstance(c, dict)) if isinstance(calls, list) else (),
        finish_reason=choice.get("finish_reason"),
        peer_answers=dict(peers),
        prior_quality=prior,
        asked_for=answer.asked_for,
        repaired_call=answer.repaired_call,
    )


def stage_entry(
    judgement: StageJudgement, bar: float, results: Sequence[CheckResult], checks_ms: float,
    usage: tuple[int, int] | None, cost_usd: float, latency_ms: float, error: str | None,
) -> JSONObject:
    """One stage of `decision.cascade["stages"]`, in the shape every cascade records."""
    return {
        **judgement.as_dict(),
        "bar": bar,
        "checks": [r.as_dict() for r in results],
        "checks_ms": round(checks_ms, 3),
        "prompt_tokens": usage[0] if usage else None,
        "completion_tokens": usage[1] if usage else None,
        "cost_usd": cost_usd,
        "latency_ms": round(latency_ms, 1),
        "error": error,
    }


class CascadeRunner:
    """Runs cascade plans through the dispatcher; stateless between requests."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        cards: Sequence[ModelCard],
        checks: Sequence[AnswerCheck],
        clock: Clock,
        settings: RunnerSettings | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._tracer = tracer or NoOpTracer()
        self._cards = {c.id: c for c in cards}
        self._checks = tuple(checks)
        self._checker_version = next((c.version for c in checks if isinstance(c, LearnedAnswerCheck)), None)
        self._clock = clock
        self._settings = settings or RunnerSettings()

    def _stage_bodies(self, request: ChatRequest) -> tuple[JSONObject, JSONObject]:
        """The body for the stages that are checked, and for the plan's last stage and its fallbacks."""
        body = {k: v for k, v in request.body.items() if k not in _NOT_UPSTREAM}
        checked = with_logprobs(body, self._settings.top_logprobs)
        return checked, checked if self._settings.last_stage_logprobs else body

    async def _answer(self, model_id: str, body: JSONObject, decision: Decision, *, last: bool) -> StageAnswer:
        """One stage's call, inside its span (left open for the verdict; ended here when cancelled); a
        stage before the `last` is asked as one a later stage may replace (`core.escalation`)."""
        span = self._tracer.start_span(f"cascade stage {model_id}")
        if span.is_recording():
            span.set_attributes({REQUEST_MODEL: model_id, DECISION_ID: decision.id})
        try:
            with use_span(span, record_exception=False, set_status_on_exception=False), escalation_may_follow(
                    not last):
                answer = await self._call_stage(model_id, body, decision)
        except BaseException:
            span.end()
            raise
        answer.span = span
        return answer

    async def _call_stage(self, model_id: str, body: JSONObject, decision: Decision) -> StageAnswer:
        started_s = self._clock.monotonic_s()
        unavailable = self._dispatcher.unavailable(model_id)
        if unavailable is not None:
            return StageAnswer(model_id, None, BackendConnectError(unavailable, model_id=model_id), 0.0)
        noted = len(decision.tools)
        try:
            response = await self._dispatcher.call_model(model_id, body, decision)
        except BackendError as exc:
            return StageAnswer(model_id, None, exc, (self._clock.monotonic_s() - started_s) * 1000)
        latency_ms = (self._clock.monotonic_s() - started_s) * 1000
        usage = Usage.from_payload(response) or Usage(0, 0)
        card = self._cards.get(model_id)
        cost_usd = card.price.cost_usd(*usage) if card is not None else 0.0
        notes = decision.tools[noted:]
        return StageAnswer(model_id, response, None, latency_ms, cost_usd, asked_for_in(notes, model_id),
                           repaired_in(notes, model_id))

    async def _first_answers(
        self, plan: CascadePlan, bodies: tuple[JSONObject, JSONObject], decision: Decision, agreement: bool
    ) -> dict[int, StageAnswer]:
        """Stage 1's answer; with agreement and three stages or more, stages 1 and 2 side by side."""
        body = bodies[0]
        if not (agreement and len(plan.stages) >= 3):
            first_body = bodies[1] if len(plan.stages) == 1 else body
            return {0: await self._answer(plan.stages[0].model_id, first_body, decision, last=len(plan.stages) == 1)}
        async with asyncio.TaskGroup() as tasks:
            first = tasks.create_task(self._answer(plan.stages[0].model_id, body, decision, last=False))
            second = tasks.create_task(self._answer(plan.stages[1].model_id, body, decision, last=False))
        return {0: first.result(), 1: second.result()}

    def _judge(
        self, request: ChatRequest, answer: StageAnswer, peers: Mapping[str, str], plan: CascadePlan,
        *, last: bool, blocked: str | None,
    ) -> tuple[StageJudgement, list[CheckResult], float]:
        if answer.error is not None or answer.response is None:
            error = answer.error.message if answer.error is not None else "no answer"
            judgement = judge_stage(answer.model_id, None, plan.accept, last=last, next_blocked=blocked,
                                    upstream_error=error)
            return judgement, [], 0.0
        prior = next((s.predicted_quality for s in plan.stages if s.model_id == answer.model_id), None)
        evidence = _evidence(request, answer, peers, prior)
        results, checks_ms = run_checks(self._checks, evidence, self._clock, self._settings.check_limit_ms)
        return judge_stage(answer.model_id, results, plan.accept, last=last, next_blocked=blocked), results, checks_ms

    async def complete(
        self, request: ChatRequest, decision: Decision, plan: CascadePlan, constraints: RoutingConstraints
    ) -> JSONObject:
        """Run the plan; return the chosen completion. The decision is finished here.

        `routing.cascade.agreement` in the constraints overrides the runner's `agreement` setting.
        """
        decision.strategy = "cascade"
        decision.checker_version = self._checker_version
        decision.cascade = {"plan": plan.as_dict(), "stages": [], "answered_by": None, "reason": "",
                            "cost_usd": 0.0, "latency_ms": 0.0}
        try:
            answer = await self._run(request, decision, plan, constraints)
        except asyncio.CancelledError:
            decision.cascade["reason"] = "cancelled: the client went away"
            self._dispatcher.finish(decision, "cancelled")
            raise
        except BackendError:
            self._dispatcher.finish(decision, "failed")
            raise
        assert answer.response is not None
        response = answer.response
        if not request.body.get("logprobs"):
            strip_logprobs(response)
        decision.answered_by = answer.model_id
        usage = Usage.from_payload(response)
        decision.usage = {"prompt_tokens": usage[0], "completion_tokens": usage[1]} if usage else None
        self._dispatcher.finish(decision, "ok")
        return response

    async def _run(
        self, request: ChatRequest, decision: Decision, plan: CascadePlan, constraints: RoutingConstraints
    ) -> StageAnswer:
        assert decision.cascade is not None
        record = decision.cascade
        bodies = self._stage_bodies(request)
        asked = constraints.cascade.agreement if constraints.cascade is not None else None
        agreement = self._settings.agreement if asked is None else asked
        record["agreement"] = agreement
        answers = await self._first_answers(plan, bodies, decision, agreement) if plan.stages else {}
        tried: list[StageAnswer] = []
        judgements: list[StageJudgement] = []
        for index, stage in enumerate(plan.stages):
            last = index == len(plan.stages) - 1
            body = bodies[1] if last else bodies[0]
            answer = answers.pop(index, None) or await self._answer(stage.model_id, body, decision, last=last)
            tried.append(answer)
            record["cost_usd"] += answer.cost_usd
            record["latency_ms"] += answer.latency_ms
            peers = self._peers(answer, [*tried, *answers.values()]) if agreement else {}
            blocked = next_stage_blocked(plan, index + 1, record["cost_usd"], record["latency_ms"], constraints)
            judgement, results, checks_ms = self._judge(request, answer, peers, plan, last=last, blocked=blocked)
            judgements.append(judgement)
            _end_stage(answer, index, judgement)
            record["stages"].append(self._stage_record(answer, judgement, results, checks_ms, plan.accept))
            if judgement.action is not StageAction.ESCALATE:
                break
        for index, unused in answers.items():  # a side-by-side answer the cascade never reached still cost
            record["cost_usd"] += unused.cost_usd
            _end_stage(unused, index, None)
        outcome = finish_cascade(judgements)
        record["reason"] = outcome.reason
        if outcome.answer_index is not None:
            record["answered_by"] = tried[outcome.answer_index].model_id
            return tried[outcome.answer_index]
        return await self._fall_back(bodies[1], decision, plan, [a.error for a in tried if a.error is not None])

    def _peers(self, answer: StageAnswer, others: Sequence[StageAnswer]) -> dict[str, str]:
        return {o.model_id: o.text for o in others if o is not answer and o.response is not None}

    async def _fall_back(
        self, body: JSONObject, decision: Decision, plan: CascadePlan, errors: list[BackendError]
    ) -> StageAnswer:
        """No stage answered: the models outside the plan, best predicted first, as predict would."""
        assert decision.cascade is not None
        for model_id in plan.fallback:
            answer = await self._answer(model_id, body, decision, last=True)  # its answer is kept
            _end_stage(answer, None, None)
            decision.cascade["cost_usd"] += answer.cost_usd
            if answer.response is not None:
                decision.cascade["answered_by"] = model_id
                decision.cascade["reason"] += f"; answered by fallback {model_id}"
                return answer
            if answer.error is not None:
                errors.append(answer.error)
        final = [e for e in errors if not e.retryable]
        if final:
            raise final[-1]
        summary = "; ".join(e.message for e in errors) or "no stage was planned"
        raise AllBackendsFailedError(f"every model in the cascade failed: {summary}",
                                     [(e.model_id or "", e.message) for e in errors])

    def _stage_record(
        self, answer: StageAnswer, judgement: StageJudgement, results: Sequence[CheckResult], checks_ms: float,
        bar: float,
    ) -> JSONObject:
        usage = Usage.from_payload(answer.response) if answer.response is not None else None
        error = answer.error.message if answer.error is not None else None
        return stage_entry(judgement, bar, results, checks_ms, usage, answer.cost_usd, answer.latency_ms, error)


def _end_stage(answer: StageAnswer, index: int | None, judgement: StageJudgement | None) -> None:
    """End a stage's span with its place in the plan (None: a fallback after the plan), verdict and cost."""
    span = answer.span
    if span.is_recording():
        span.set_attributes({
            "voxgate.cascade.stage": -1 if index is None else index,
            "voxgate.cascade.verdict": judgement.action.value if judgement is not None else "not judged",
            "voxgate.cascade.cost_usd": answer.cost_usd,
            "voxgate.cascade.latency_ms": round(answer.latency_ms, 1),
        })
        if judgement is not None and judgement.p_good is not None:
            span.set_attribute("voxgate.cascade.p_good", judgement.p_good)
        if judgement is not None and judgement.deciding_check is not None:
            span.set_attribute("voxgate.cascade.deciding_check", judgement.deciding_check)
        if answer.error is not None:
            span.set_attribute(ERROR_TYPE, type(answer.error).__name__)
            span.set_status(Status(StatusCode.ERROR))
    span.end()
