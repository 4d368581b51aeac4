"""The live cascade runner against in-memory backends: escalation, acceptance, failures, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from tests.support.chat_backends import ScriptedChatBackend
from tests.unit.routing.test_dispatcher import ListLog
from voxgate.core.clock import ManualClock
from voxgate.core.errors import AllBackendsFailedError, BackendConnectError
from voxgate.core.escalation import may_be_escalated
from voxgate.core.tool_notes import current_tool_notes
from voxgate.core.types import JSONObject, Mode, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.evidence import AnswerCheck, AnswerEvidence, CheckResult
from voxgate.routing.cascade.payloads import completion_chunks
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings
from voxgate.routing.cascade.runner import (
    CascadeRunner,
    RunnerSettings,
    is_tool_call_turn,
    plan_for_decision,
)
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.validation import parse_chat_request

CARDS = (
    ModelCard("small", quality_hint=0.3, price=Price(0.1, 0.1)),
    ModelCard("mid", quality_hint=0.5, price=Price(0.5, 0.5)),
    ModelCard("big", quality_hint=0.9, price=Price(2, 2)),
)
CONFIDENT = {"content": [{"token": "Paris", "logprob": -0.01,
                          "top_logprobs": [{"token": "Paris", "logprob": -0.01}, {"token": "Lyon", "logprob": -7.0}]}]}
UNSURE = {"content": [{"token": "Which", "logprob": -2.5,
                       "top_logprobs": [{"token": "Which", "logprob": -2.5}, {"token": "What", "logprob": -2.6}]}]}


def answer(text: str, logprobs: JSONObject | None = None, completion_tokens: int = 4) -> JSONObject:
    choice: JSONObject = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "c1", "object": "chat.completion", "created": 1, "choices": [choice],
            "usage": {"prompt_tokens": 10, "completion_tokens": completion_tokens}}


class Setup:
    def __init__(self, backends: dict[str, ScriptedChatBackend], settings: RunnerSettings | None = None,
                 checks: Sequence[AnswerCheck] | None = None, *, record_answers: bool = False) -> None:
        self.clock = ManualClock()
        stats = LatencyStats(CARDS)
        breakers = CircuitBreakers(self.clock, failure_threshold=5, cooldown_s=10)
        self.router = Router(CARDS, HeuristicPredictor(), stats, breakers, SessionAffinity(), self.clock)
        self.log = ListLog()
        self.backends = backends
        self.dispatcher = Dispatcher(backends, CARDS, stats, breakers, self.log, self.clock,
                                     record_answers=record_answers)
        checks = default_checks() if checks is None else checks
        self.runner = CascadeRunner(self.dispatcher, CARDS, checks, self.clock, settings)

    def decide(self, prompt: str, constraints: RoutingConstraints | None = None,
               settings: CascadeSettings | None = None) -> tuple[Decision, CascadePlan, RoutingConstraints]:
        constraints = constraints or RoutingConstraints(mode=Mode.BALANCED)
        request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": prompt}]})
        decision = self.router.decide(request, constraints, "auto")
        plan = plan_for_decision(decision, constraints, settings or CascadeSettings(accept=0.7, hopeless_below=0.0))
        return decision, plan, constraints

    async def run(self, prompt: str, **kwargs: object) -> tuple[JSONObject, Decision]:
        decision, plan, constraints = self.decide(prompt)
        request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": prompt}]})
        response = await self.runner.complete(request, decision, plan, constraints)
        return response, decision


WEATHER_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, False),
        ({"tools": WEATHER_TOOLS}, True),
        ({"tools": WEATHER_TOOLS, "tool_choice": "required"}, True),
        ({"tools": WEATHER_TOOLS, "tool_choice": "none"}, False),
        ({"tools": WEATHER_TOOLS, "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
                "name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"sky\": \"sunny\"}"}]}, False),
    ],
)
def test_a_tool_call_turn_is_one_that_may_call_a_tool(extra: JSONObject, expected: bool) -> None:
    body: JSONObject = {"model": "auto", "messages": [{"role": "user", "content": "Weather in Oslo?"}], **extra}
    assert is_tool_call_turn(parse_chat_request(body)) is expected


def test_a_tool_turn_keeps_the_stage_the_hopeless_floor_skips() -> None:
    setup = Setup({c.id: ScriptedChatBackend(c.id) for c in CARDS})
    floor = CascadeSettings(accept=0.7, hopeless_below=0.99)  # every cheaper stage is hopeless for chat
    decision, chat_plan, constraints = setup.decide("What is 17 * 23?", settings=floor)
    assert chat_plan.models == ("big",)
    assert all("hopeless" in why for why in chat_plan.skipped.values())
    tool_plan = plan_for_decision(decision, constraints, floor, tool_turn=True)
    assert tool_plan.models[-1] == "big"
    assert len(tool_plan.models) > 1
    assert not any("hopeless" in why for why in tool_plan.skipped.values())
    assert "a tool turn" in tool_plan.reason


def test_plan_starts_cheap_and_ends_at_the_best_predicted() -> None:
    setup = Setup({c.id: ScriptedChatBackend(c.id) for c in CARDS})
    _, plan, _ = setup.decide("What is 17 * 23?")
    assert plan.models == ("small", "mid", "big")


async def test_a_wrong_sum_escalates_and_a_right_one_is_accepted() -> None:
    backends = {"small": ScriptedChatBackend("small", answer=answer("17 * 23 equals 411.")),
                "mid": ScriptedChatBackend("mid", answer=answer("391")),
                "big": ScriptedChatBackend("big", answer=answer("391"))}
    setup = Setup(backends)
    response, decision = await setup.run("What is 17 * 23?")
    assert response["model"] == "mid"
    assert response["choices"][0]["message"]["content"] == "391"
    assert backends["big"].calls == 0
    assert decision.cascade is not None
    stages = decision.cascade["stages"]
    assert [(s["model"], s["action"]) for s in stages] == [("small", "escalate"), ("mid", "accept")]
    assert stages[0]["deciding_check"] == "arithmetic"
    assert "411" in stages[0]["reason"]
    assert {c["check"] for c in stages[0]["checks"]} >= {"arithmetic", "token_confidence"}
    assert decision.answered_by == "mid"
    assert decision.outcome == "ok"
    assert decision.cost_usd == pytest.approx(sum(s["cost_usd"] for s in stages))
    assert decision.cost_usd > stages[1]["cost_usd"]
    assert setup.log.records[-1]["cascade"]["answered_by"] == "mid"
    assert backends["small"].sent[0]["logprobs"] is True


async def test_a_confident_first_answer_is_accepted_and_logprobs_are_stripped() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris", CONFIDENT)) for c in CARDS}
    setup = Setup(backends)
    response, decision = await setup.run("What is the capital of France?")
    assert response["model"] == "small"
    assert "logprobs" not in response["choices"][0]
    assert backends["mid"].calls == backends["big"].calls == 0
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["deciding_check"] == "token_confidence"


async def test_without_logprobs_nothing_vouches_so_the_cascade_reaches_the_last_stage() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    setup = Setup(backends)
    response, decision = await setup.run("What is the capital of France?")
    assert response["model"] == "big"
    assert decision.cascade is not None
    assert [s["action"] for s in decision.cascade["stages"]] == ["escalate", "escalate", "stop"]


class AskingBackend(ScriptedChatBackend):
    """Answers with a question, as the tool layer does after grounding refused a call with a made-up
    city (`toolcall_missing`), and notes that it told the model to ask for the city."""

    async def complete(self, body: JSONObject) -> JSONObject:
        current_tool_notes().append({"model": self.model_id, "action": "asked_again_in_words",
                                     "reason": "no call takes a value from the conversation",
                                     "functions": ["get_weather"], "asked_for": ["city"]})
        return await super().complete(body)


class StageAwareBackend(ScriptedChatBackend):
    """Notes, for each call, whether a later stage may replace its answer (`core.escalation`)."""

    def __init__(self, model_id: str, seen: list[tuple[str, bool]], **kwargs: Any) -> None:
        super().__init__(model_id, **kwargs)
        self.seen = seen

    async def complete(self, body: JSONObject) -> JSONObject:
        self.seen.append((self.model_id, may_be_escalated()))
        return await super().complete(body)


async def test_every_stage_but_the_last_is_asked_as_one_a_later_stage_may_replace() -> None:
    seen: list[tuple[str, bool]] = []
    backends: dict[str, ScriptedChatBackend] = {c.id: StageAwareBackend(c.id, seen, answer=answer("Paris"))
                                                for c in CARDS}
    response, _ = await Setup(backends).run("What is the capital of France?")  # no log-probs: every stage escalates
    assert response["model"] == "big"
    assert seen == [("small", True), ("mid", True), ("big", False)]
    assert may_be_escalated() is False


class RepairingBackend(ScriptedChatBackend):
    """Answers with a call, as the tool layer does after closing one the model cut short in a runaway
    list (`toolcall_repair`), and notes the repair."""

    async def complete(self, body: JSONObject) -> JSONObject:
        current_tool_notes().append({"model": self.model_id, "action": "call_repaired", "reason": "closed",
                                     "functions": ["get_weather"]})
        return await super().complete(body)


async def test_a_call_the_tool_layer_repaired_escalates_and_the_last_stage_keeps_its_own() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    repaired = answer("", CONFIDENT)
    repaired["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    backends: dict[str, ScriptedChatBackend] = {c.id: RepairingBackend(c.id, answer=repaired) for c in CARDS}
    setup = Setup(backends)
    decision, plan, constraints = setup.decide("Weather in Oslo?")
    body = {"model": "auto", "messages": [{"role": "user", "content": "Weather in Oslo?"}], "tools": WEATHER_TOOLS}
    response = await setup.runner.complete(parse_chat_request(body), decision, plan, constraints)
    assert response["model"] == "big"  # kept from the last stage, repaired or not
    assert decision.cascade is not None
    first = decision.cascade["stages"][0]
    assert (first["action"], first["deciding_check"]) == ("escalate", "tool_arguments")
    assert "call_cut_short" in first["reason"]


async def test_a_question_for_what_a_refused_call_made_up_is_accepted_from_the_first_stage() -> None:
    question = answer("Which city do you mean?", UNSURE)  # the token confidence would escalate it
    backends: dict[str, ScriptedChatBackend] = {c.id: AskingBackend(c.id, answer=question) for c in CARDS}
    setup = Setup(backends)
    decision, plan, constraints = setup.decide("What is the weather?")
    body = {"model": "auto", "messages": [{"role": "user", "content": "What is the weather?"}], "tools": WEATHER_TOOLS}
    response = await setup.runner.complete(parse_chat_request(body), decision, plan, constraints)
    assert response["model"] == "small"
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["deciding_check"] == "asks_for_missing"
    assert backends["mid"].calls == backends["big"].calls == 0
    unnoted = {c.id: ScriptedChatBackend(c.id, answer=question) for c in CARDS}
    plain = Setup(unnoted)
    decision, plan, constraints = plain.decide("What is the weather?")
    assert (await plain.runner.complete(parse_chat_request(body), decision, plan, constraints))["model"] == "big"


async def test_the_last_stage_is_not_asked_for_logprobs_unless_the_client_or_the_settings_ask() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    setup = Setup(backends)
    response, decision = await setup.run("What is the capital of France?")
    assert response["model"] == "big"
    assert backends["small"].sent[0]["logprobs"] is True
    assert backends["mid"].sent[0]["logprobs"] is True
    assert "logprobs" not in backends["big"].sent[0]
    assert "top_logprobs" not in backends["big"].sent[0]
    assert decision.cascade is not None
    assert decision.cascade["stages"][-1]["action"] == "stop"

    asked = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    setup = Setup(asked)
    decision, plan, constraints = setup.decide("What is the capital of France?")
    request = parse_chat_request({"model": "auto", "logprobs": True, "top_logprobs": 5,
                                  "messages": [{"role": "user", "content": "What is the capital of France?"}]})
    await setup.runner.complete(request, decision, plan, constraints)
    assert asked["big"].sent[0]["logprobs"] is True
    assert asked["big"].sent[0]["top_logprobs"] == 5

    kept = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    await Setup(kept, RunnerSettings(last_stage_logprobs=True)).run("What is the capital of France?")
    assert kept["big"].sent[0]["logprobs"] is True
    assert kept["big"].sent[0]["top_logprobs"] == 2


async def test_a_plan_of_one_stage_is_not_asked_for_logprobs() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    setup = Setup(backends)
    decision, plan, constraints = setup.decide("What is the capital of France?")
    plan = replace(plan, stages=plan.stages[-1:])
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "Capital of France?"}]})
    response = await setup.runner.complete(request, decision, plan, constraints)
    assert response["model"] == "big"
    assert [b.calls for b in backends.values()] == [0, 0, 1]
    assert "logprobs" not in backends["big"].sent[0]


async def test_an_upstream_failure_escalates_and_is_recorded() -> None:
    backends = {"small": ScriptedChatBackend("small", error=BackendConnectError("refused", model_id="small")),
                "mid": ScriptedChatBackend("mid", answer=answer("Paris", CONFIDENT)),
                "big": ScriptedChatBackend("big")}
    setup = Setup(backends)
    response, decision = await setup.run("What is the capital of France?")
    assert response["model"] == "mid"
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["error"] == "refused"
    assert [(a.model, a.status) for a in decision.attempts] == [("small", "error"), ("mid", "ok")]


async def test_every_stage_failing_raises_and_finishes_the_decision() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, error=BackendConnectError("down", model_id=c.id)) for c in CARDS}
    setup = Setup(backends)
    with pytest.raises(AllBackendsFailedError):
        await setup.run("What is the capital of France?")
    assert setup.log.records[-1]["outcome"] == "failed"


class _Raising:
    name = "broken"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        raise ValueError("bug")


async def test_a_check_that_raises_escalates() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris", CONFIDENT)) for c in CARDS}
    setup = Setup(backends)
    setup.runner = CascadeRunner(setup.dispatcher, CARDS, [_Raising(), *default_checks()], setup.clock)
    response, decision = await setup.run("What is the capital of France?")
    assert decision.cascade is not None
    first = decision.cascade["stages"][0]
    assert first["action"] == "escalate"
    assert first["deciding_check"] == "broken"
    assert "ValueError" in first["reason"]
    assert response["model"] == "big"


async def test_latency_limit_stops_before_a_stage_that_would_break_it() -> None:
    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("Paris")) for c in CARDS}
    setup = Setup(backends)
    constraints = RoutingConstraints(mode=Mode.BALANCED, max_latency_ms=100_000)
    decision, plan, _ = setup.decide("What is the capital of France?", constraints)
    blocked = CascadePlan(plan.stages, plan.accept)
    tight = RoutingConstraints(mode=Mode.BALANCED, max_latency_ms=1.0)  # stage 1 ran in 0 ms (manual clock)
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "capital of France?"}]})
    response = await setup.runner.complete(request, decision, blocked, tight)
    assert response["model"] == "small"
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["action"] == "stop"
    assert "max_latency_ms" in decision.cascade["stages"][0]["reason"]


async def test_agreement_runs_the_first_two_stages_side_by_side() -> None:
    backends = {"small": ScriptedChatBackend("small", answer=answer("The answer is 7.", CONFIDENT)),
                "mid": ScriptedChatBackend("mid", answer=answer("It is 8.", CONFIDENT)),
                "big": ScriptedChatBackend("big", answer=answer("8"))}
    setup = Setup(backends, RunnerSettings(agreement=True))
    response, decision = await setup.run("Which number comes next: 2, 4, 6?")
    assert backends["small"].calls == backends["mid"].calls == 1
    assert decision.cascade is not None
    first = decision.cascade["stages"][0]
    agreement = next(c for c in first["checks"] if c["check"] == "agreement")
    assert agreement["value"] == 0.0
    assert first["action"] == "escalate"
    assert response["model"] in ("mid", "big")


class _Hanging:
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.started = asyncio.Event()
        self.cancelled = False

    async def complete(self, body: JSONObject) -> JSONObject:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return {}

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def test_cancelling_cancels_every_stage_in_flight() -> None:
    hanging = {c.id: _Hanging(c.id) for c in CARDS}
    setup = Setup(hanging, RunnerSettings(agreement=True))  # type: ignore[arg-type]
    task = asyncio.create_task(setup.run("What is the capital of France?"))
    await hanging["small"].started.wait()
    await hanging["mid"].started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hanging["small"].cancelled
    assert hanging["mid"].cancelled
    assert setup.log.records[-1]["outcome"] == "cancelled"
    assert {(a["model"], a["status"]) for a in setup.log.records[-1]["attempts"]} == {
        ("small", "cancelled"), ("mid", "cancelled")}


def test_completion_chunks_carry_the_whole_answer() -> None:
    text = "Paris is the capital of France, and has been for a long time."
    chunks = completion_chunks({**answer(text), "model": "small"}, include_usage=True)
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert streamed == text
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "small" for c in chunks)


async def test_the_request_can_ask_for_agreement() -> None:
    from voxgate.core.types import CascadeOptions

    backends = {c.id: ScriptedChatBackend(c.id, answer=answer("The answer is 8.", CONFIDENT)) for c in CARDS}
    setup = Setup(backends)  # agreement off by default
    constraints = RoutingConstraints(mode=Mode.BALANCED, cascade=CascadeOptions(agreement=True))
    decision, plan, _ = setup.decide("Which number comes next: 2, 4, 6?", constraints)
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "2, 4, 6?"}]})
    await setup.runner.complete(request, decision, plan, constraints)
    assert backends["small"].calls == backends["mid"].calls == 1
    assert decision.cascade is not None
    assert decision.cascade["agreement"] is True
    first = decision.cascade["stages"][0]
    assert next(c for c in first["checks"] if c["check"] == "agreement")["value"] == 1.0
