"""The streamed cascade (voice's first-sentence check) against in-memory backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.chat_backends import ScriptedChatBackend
from tests.unit.routing.test_dispatcher import ListLog
from voxgate.core.clock import ManualClock
from voxgate.core.errors import AllBackendsFailedError, BackendConnectError
from voxgate.core.escalation import may_be_escalated
from voxgate.core.tool_notes import current_tool_notes
from voxgate.core.types import ChatRequest, JSONObject, Mode, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings
from voxgate.routing.cascade.streamed import (
    MAX_HELD_CHARS,
    HeldStart,
    StreamedCascade,
    asks_a_question,
    first_sentence_plan,
)
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.validation import parse_chat_request

CARDS = (
    ModelCard("small", quality_hint=0.8, price=Price(0.1, 0.1)),  # within the cost band: routed first
    ModelCard("big", quality_hint=0.9, price=Price(2, 2)),
)
SURE = -0.01
UNSURE = -2.5


def token_chunk(text: str, logprob: float = SURE) -> JSONObject:
    runner_up = logprob - 6.0 if logprob > -1.0 else logprob - 0.1  # an unsure token has a close runner-up
    alternatives = [{"token": text, "logprob": logprob}, {"token": "other", "logprob": runner_up}]
    return {"id": "s1", "object": "chat.completion.chunk", "choices": [{
        "index": 0, "delta": {"content": text}, "finish_reason": None,
        "logprobs": {"content": [{"token": text, "logprob": logprob, "top_logprobs": alternatives}]}}]}


def reply_chunks(*pieces: str, logprob: float = SURE, completion_tokens: int = 6) -> list[JSONObject]:
    ending: list[JSONObject] = [
        {"id": "s1", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "s1", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 20, "completion_tokens": completion_tokens}},
    ]
    return [token_chunk(piece, logprob) for piece in pieces] + ending


class Setup:
    def __init__(self, small: ScriptedChatBackend, big: ScriptedChatBackend) -> None:
        self.clock = ManualClock()
        stats = LatencyStats(CARDS)
        breakers = CircuitBreakers(self.clock, failure_threshold=5, cooldown_s=10)
        self.router = Router(CARDS, HeuristicPredictor(), stats, breakers, SessionAffinity(), self.clock)
        self.log = ListLog()
        self.small, self.big = small, big
        self.dispatcher = Dispatcher({"small": small, "big": big}, CARDS, stats, breakers, self.log, self.clock)
        self.cascade = StreamedCascade(self.dispatcher, CARDS, default_checks(), self.clock)

    def decide(self, prompt: str) -> tuple[ChatRequest, Decision, CascadePlan]:
        request = parse_chat_request({"model": "auto", "stream": True,
                                      "messages": [{"role": "user", "content": prompt}]})
        constraints = RoutingConstraints(mode=Mode.COST)  # the cheapest model answers first
        decision = self.router.decide(request, constraints, "auto")
        plan = first_sentence_plan(decision, constraints, CascadeSettings(accept=0.4))
        assert plan is not None
        return request, decision, plan

    async def run(self, prompt: str) -> tuple[str, list[JSONObject], Decision]:
        request, decision, plan = self.decide(prompt)
        chunks = [chunk async for chunk in self.cascade.stream(request, decision, plan)]
        return text_of(chunks), chunks, decision


def text_of(chunks: list[JSONObject]) -> str:
    return "".join(str(c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))


def test_the_plan_is_the_routed_model_then_the_strongest_and_none_when_they_are_the_same() -> None:
    setup = Setup(ScriptedChatBackend("small"), ScriptedChatBackend("big"))
    _, _, plan = setup.decide("What is the capital of France?")
    assert plan.models == ("small", "big")
    assert plan.accept == 0.4
    strongest = setup.router.decide(parse_chat_request({"model": "auto", "messages": [
        {"role": "user", "content": "hi"}]}), RoutingConstraints(mode=Mode.QUALITY), "auto")
    assert strongest.chosen == "big"
    assert first_sentence_plan(strongest, RoutingConstraints(mode=Mode.QUALITY), CascadeSettings()) is None


@pytest.mark.parametrize(
    ("refusal", "planned"),
    [
        ("estimated latency 2900 ms > max_latency_ms 2000", True),  # voice's budget is soft: a late answer
        ("predicted quality 0.30 < min_quality 0.40", True),  # and so is its floor
        ("estimated cost $0.000264 > max_cost_usd $0.000100", False),  # a hard limit stays
        ("lacks capability: tools", False),
    ],
)
def test_the_strongest_model_refused_only_for_the_voice_budget_or_floor_can_still_take_the_turn(
    refusal: str, planned: bool
) -> None:
    setup = Setup(ScriptedChatBackend("small"), ScriptedChatBackend("big"))
    _, decision, _ = setup.decide("What is the capital of France?")
    big = next(c for c in decision.candidates if c.model == "big")
    big.eligible, big.reason = False, refusal
    plan = first_sentence_plan(decision, RoutingConstraints(mode=Mode.COST), CascadeSettings(accept=0.4))
    assert (plan is not None and plan.models == ("small", "big")) is planned


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("What is 7 plus 7? Answer with only the number.", True),
        ("which planet is the fifth from the Sun, answer with one word", True),  # Whisper left out the mark
        ("Can you remind me to call my sister tomorrow morning?", True),
        ("How long does it take to drive from Boston to New York", True),
        ("Turn off the kitchen lights.", False),
        ("Set a timer for ten minutes.", False),
        ("Whatever.", False),  # a question word must be a whole word
        ("", False),
    ],
)
def test_a_question_is_a_question_mark_or_an_opening_question_word(text: str, question: bool) -> None:
    assert asks_a_question(text) is question


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("The capital", False),
        ("It is 3.5", False),  # a decimal point is not a sentence end
        ("Paris. ", True),
        ("Paris!\n", True),
        ("Sure\nnext", True),
        ("Dr", False),
        ("x" * MAX_HELD_CHARS, True),  # a long first sentence is judged on what came so far
    ],
)
def test_a_first_sentence_is_complete_at_a_mark_before_a_space_a_line_break_or_the_length_cap(
    text: str, complete: bool
) -> None:
    held = HeldStart()
    held.push(token_chunk(text))
    assert held.complete is complete


async def test_a_confident_first_sentence_is_spoken_on_and_the_strong_model_is_never_asked() -> None:
    setup = Setup(ScriptedChatBackend("small", chunks=reply_chunks("Paris", ". ", "It is lovely.")),
                  ScriptedChatBackend("big", chunks=reply_chunks("Lyon.")))
    text, chunks, decision = await setup.run("What is the capital of France?")
    assert text == "Paris. It is lovely."
    assert setup.big.calls == 0
    assert all("logprobs" not in choice for c in chunks for choice in c.get("choices") or [])
    sent = setup.small.sent[0]
    assert sent["logprobs"] is True
    assert sent["top_logprobs"] >= 2
    assert [r["outcome"] for r in setup.log.records] == ["ok"]  # one record, finished once
    assert decision.strategy == "cascade"
    assert decision.cascade is not None
    [stage] = decision.cascade["stages"]
    assert stage["model"] == "small"
    assert stage["action"] == "accept"
    assert stage["held_chars"] == len("Paris. ")
    assert decision.cascade["answered_by"] == "small"
    assert decision.cascade["cost_usd"] == pytest.approx(CARDS[0].price.cost_usd(20, 6))


async def test_a_wrong_sum_escalates_before_a_word_is_said_and_the_cheap_stream_stops() -> None:
    many_more = [f" word{i}" for i in range(40)]
    setup = Setup(ScriptedChatBackend("small", chunks=reply_chunks("17 * 23 = 411", ".", " ", *many_more)),
                  ScriptedChatBackend("big", chunks=reply_chunks("391", completion_tokens=2)))
    text, _, decision = await setup.run("What is 17 * 23?")
    assert text == "391"  # nothing of the rejected answer went out
    assert setup.small.stream_closed
    assert setup.small.yielded < len(setup.small.chunks)
    assert "logprobs" not in setup.big.sent[0]  # the last stage is not held, so it is not asked for them
    assert decision.cascade is not None
    small, big = decision.cascade["stages"]
    assert (small["model"], small["action"], small["deciding_check"]) == ("small", "escalate", "arithmetic")
    assert (big["model"], big["action"]) == ("big", "stop")
    assert decision.answered_by == "big"
    assert [a.status for a in decision.attempts] == ["cancelled", "ok"]
    assert [r["outcome"] for r in setup.log.records] == ["ok"]
    spent = CARDS[0].price.cost_usd(*_usage(small)) + CARDS[1].price.cost_usd(20, 2)
    assert decision.cascade["cost_usd"] == pytest.approx(spent)  # both stages paid for


def _usage(stage: JSONObject) -> tuple[int, int]:
    return int(stage["prompt_tokens"] or 0), int(stage["completion_tokens"] or 0)


async def test_an_unsure_first_sentence_escalates_on_token_confidence() -> None:
    setup = Setup(ScriptedChatBackend("small", chunks=reply_chunks("Alejandro", ". ", logprob=UNSURE)),
                  ScriptedChatBackend("big", chunks=reply_chunks("Paris.")))
    text, _, decision = await setup.run("What is the capital of France? One word.")
    assert text == "Paris."
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["action"] == "escalate"
    assert decision.cascade["stages"][0]["deciding_check"] == "token_confidence"


class AskingStream(ScriptedChatBackend):
    """Streams a question, as the tool layer does after grounding refused a call with a made-up city:
    its note (what the model was told to ask for) comes before the words."""

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        current_tool_notes().append({"model": self.model_id, "action": "asked_again_in_words",
                                     "asked_for": ["city"]})
        async for chunk in super().stream(body):
            yield chunk


async def test_an_unsure_question_for_what_a_refused_call_made_up_is_spoken() -> None:
    setup = Setup(AskingStream("small", chunks=reply_chunks("Which city?", logprob=UNSURE)),
                  ScriptedChatBackend("big", chunks=reply_chunks("Oslo is sunny.")))
    text, _, decision = await setup.run("What is the weather?")
    assert text == "Which city?"
    assert setup.big.calls == 0
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["deciding_check"] == "asks_for_missing"


class StageAwareStream(ScriptedChatBackend):
    """Notes, when each stream is opened, whether a later stage may replace its answer (`core.escalation`)."""

    def __init__(self, model_id: str, seen: list[tuple[str, bool]], **kwargs: Any) -> None:
        super().__init__(model_id, **kwargs)
        self.seen = seen

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.seen.append((self.model_id, may_be_escalated()))
        return super().stream(body)


async def test_a_stage_before_the_last_is_opened_as_one_a_later_stage_may_replace() -> None:
    seen: list[tuple[str, bool]] = []
    setup = Setup(StageAwareStream("small", seen, chunks=reply_chunks("Alejandro", ". ", logprob=UNSURE)),
                  StageAwareStream("big", seen, chunks=reply_chunks("Paris.")))
    text, _, _ = await setup.run("What is the capital of France? One word.")
    assert text == "Paris."
    assert seen == [("small", True), ("big", False)]
    assert may_be_escalated() is False  # nothing left set


@pytest.mark.parametrize("fail_after_chunks", [0, 1])
async def test_a_cheap_stage_that_fails_before_or_while_held_escalates(fail_after_chunks: int) -> None:
    error = BackendConnectError("connection refused", model_id="small")
    setup = Setup(ScriptedChatBackend("small", chunks=reply_chunks("Par", "is. "), error=error,
                                      fail_after_chunks=fail_after_chunks),
                  ScriptedChatBackend("big", chunks=reply_chunks("Paris.")))
    text, _, decision = await setup.run("What is the capital of France?")
    assert text == "Paris."
    assert decision.cascade is not None
    first = decision.cascade["stages"][0]
    assert (first["action"], first["answered"]) == ("escalate", False)
    assert "connection refused" in first["reason"]
    assert [r["outcome"] for r in setup.log.records] == ["ok"]


async def test_a_tool_call_in_the_held_chunks_is_kept_unjudged() -> None:
    call = {"id": "s1", "object": "chat.completion.chunk", "choices": [{"index": 0, "finish_reason": None, "delta": {
        "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": "{}"}}]}}]}
    setup = Setup(ScriptedChatBackend("small", chunks=[call, *reply_chunks()]),
                  ScriptedChatBackend("big", chunks=reply_chunks("No.")))
    _, chunks, decision = await setup.run("Weather in Oslo?")
    assert setup.big.calls == 0
    assert any(c["choices"] and c["choices"][0]["delta"].get("tool_calls") for c in chunks)
    assert decision.cascade is not None
    assert decision.cascade["stages"][0]["action"] == "accept"


async def test_closing_the_reply_early_cancels_the_stage_and_records_the_decision_once() -> None:
    setup = Setup(ScriptedChatBackend("small", chunks=reply_chunks("Paris", ". ", "More", " words.")),
                  ScriptedChatBackend("big", chunks=reply_chunks("Lyon.")))
    request, decision, plan = setup.decide("What is the capital of France?")
    stream = setup.cascade.stream(request, decision, plan)
    first = await anext(stream)
    assert text_of([first]) == "Paris"
    await stream.aclose()  # a barge-in
    assert setup.small.stream_closed
    assert [r["outcome"] for r in setup.log.records] == ["cancelled"]
    assert decision.cascade is not None
    assert decision.cascade["reason"].startswith("cancelled")


async def test_when_every_stage_fails_the_error_reaches_the_caller_and_the_decision_is_failed() -> None:
    error = BackendConnectError("connection refused", model_id="x")
    setup = Setup(ScriptedChatBackend("small", error=error), ScriptedChatBackend("big", error=error))
    with pytest.raises(AllBackendsFailedError):
        await setup.run("What is the capital of France?")
    assert [r["outcome"] for r in setup.log.records] == ["failed"]
