"""Routing's spans, caught by the SDK's in-memory exporter: one per attempt under the caller's span,
cascade stages with their attempt inside, GenAI attributes, and no prompt or answer text anywhere."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from tests.support.chat_backends import ScriptedChatBackend
from tests.unit.routing.cascade.test_runner import CARDS as CASCADE_CARDS
from tests.unit.routing.cascade.test_runner import answer
from tests.unit.routing.test_dispatcher import CARDS, ListLog
from voxgate.core.clock import ManualClock
from voxgate.core.errors import BackendConnectError
from voxgate.core.types import JSONObject, Mode, ModelCard, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.planner import CascadeSettings
from voxgate.routing.cascade.runner import CascadeRunner, plan_for_decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.routing.tracing import decision_attributes
from voxgate.server.validation import parse_chat_request

PROMPT = "Please keep this PROMPT-PLUGH secret: what is 17 * 23?"
ANSWER = "ANSWER-XYZZY 17 * 23 equals 411."


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


def _setup(cards: tuple[ModelCard, ...], backends: dict[str, ScriptedChatBackend],
           tracer: Tracer) -> tuple[Router, Dispatcher]:
    clock = ManualClock()
    stats = LatencyStats(cards)
    breakers = CircuitBreakers(clock, failure_threshold=5, cooldown_s=10)
    router = Router(cards, HeuristicPredictor(), stats, breakers, SessionAffinity(), clock)
    dispatcher = Dispatcher(backends, cards, stats, breakers, ListLog(), clock, tracer=tracer)
    return router, dispatcher


def _chat(stream: bool = False) -> JSONObject:
    return {"model": "auto", "messages": [{"role": "user", "content": PROMPT}], "stream": stream}


def assert_no_content(spans: tuple[ReadableSpan, ...]) -> None:
    """Neither the prompt nor the answer, in any attribute, event or status of any span."""
    for span in spans:
        text = span.to_json()
        assert "PLUGH" not in text, span.name
        assert "XYZZY" not in text, span.name


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_each_attempt_is_a_client_span_under_the_request_with_genai_attributes(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    backends = {"a": ScriptedChatBackend("a", error=BackendConnectError("refused")),
                "b": ScriptedChatBackend("b", answer=answer(ANSWER, completion_tokens=7))}
    router, dispatcher = _setup(CARDS, backends, tracer)
    request = parse_chat_request(_chat())
    decision = router.decide(request, RoutingConstraints(mode=Mode.QUALITY), "auto")
    with tracer.start_as_current_span("request"):
        await dispatcher.complete(request, decision)
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "request")
    attempts = _children(spans, root)
    assert [s.name for s in attempts] == ["chat a", "chat b"]
    failed, answered = attempts
    assert all(s.kind is SpanKind.CLIENT for s in attempts)
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert answered.attributes is not None
    assert failed.attributes["error.type"] == "BackendConnectError"
    assert failed.attributes["voxgate.attempt.status"] == "error"
    assert answered.attributes["gen_ai.operation.name"] == "chat"
    assert answered.attributes["gen_ai.request.model"] == "b"
    assert answered.attributes["gen_ai.response.model"] == "b"
    assert answered.attributes["gen_ai.usage.input_tokens"] == 10
    assert answered.attributes["gen_ai.usage.output_tokens"] == 7
    assert answered.attributes["voxgate.decision_id"] == decision.id
    assert answered.attributes["voxgate.attempt"] == 2
    assert answered.status.status_code is StatusCode.UNSET
    assert_no_content(spans)


async def test_a_streamed_attempt_ends_when_the_stream_does_with_its_usage(
    tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    chunks = ({"choices": [{"delta": {"content": ANSWER}}]}, {"choices": [], "usage": {"prompt_tokens": 9,
                                                                                       "completion_tokens": 4}})
    router, dispatcher = _setup(CARDS, {"a": ScriptedChatBackend("a", chunks=chunks), "b": ScriptedChatBackend("b")},
                                tracer)
    request = parse_chat_request(_chat(stream=True))
    decision = router.decide(request, RoutingConstraints(mode=Mode.QUALITY), "auto")
    with tracer.start_as_current_span("request"):
        stream = await dispatcher.open_stream(request, decision)
        assert not [s for s in exporter.get_finished_spans() if s.name == "chat a"]  # open while it streams
        relayed = [chunk async for chunk in stream]
    assert relayed
    spans = exporter.get_finished_spans()
    (attempt,) = [s for s in spans if s.name == "chat a"]
    assert attempt.attributes is not None
    assert attempt.attributes["gen_ai.usage.output_tokens"] == 4
    assert attempt.attributes["voxgate.attempt.status"] == "ok"
    assert "voxgate.attempt.ttft_ms" in attempt.attributes
    assert attempt.parent is not None
    assert_no_content(spans)


async def test_cascade_stages_hold_their_attempts_and_verdicts(tracer: Tracer, exporter: InMemorySpanExporter) -> None:
    backends = {"small": ScriptedChatBackend("small", answer=answer(ANSWER)),
                "mid": ScriptedChatBackend("mid", answer=answer("ANSWER-XYZZY 391")),
                "big": ScriptedChatBackend("big", answer=answer("391"))}
    router, dispatcher = _setup(CASCADE_CARDS, backends, tracer)
    runner = CascadeRunner(dispatcher, CASCADE_CARDS, default_checks(), ManualClock(), tracer=tracer)
    request = parse_chat_request(_chat())
    constraints = RoutingConstraints(mode=Mode.BALANCED)
    decision = router.decide(request, constraints, "auto")
    plan = plan_for_decision(decision, constraints, CascadeSettings(accept=0.7, hopeless_below=0.0))
    with tracer.start_as_current_span("request"):
        await runner.complete(request, decision, plan, constraints)
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "request")
    stages = _children(spans, root)
    assert [s.name for s in stages] == ["cascade stage small", "cascade stage mid"]
    verdicts = [(s.attributes or {}).get("voxgate.cascade.verdict") for s in stages]
    assert verdicts == ["escalate", "accept"]
    assert (stages[0].attributes or {})["voxgate.cascade.deciding_check"] == "arithmetic"
    for index, stage in enumerate(stages):
        (attempt,) = _children(spans, stage)
        assert attempt.name == f"chat {plan.stages[index].model_id}"
        assert (stage.attributes or {})["voxgate.cascade.stage"] == index
    assert_no_content(spans)


def test_decision_attributes_are_names_and_numbers_only() -> None:
    router, _ = _setup(CARDS, {}, TracerProvider().get_tracer("unused"))
    decision = router.decide(parse_chat_request(_chat()), RoutingConstraints(), "auto")
    decision.key_id = "key-1"
    attributes = decision_attributes(decision)
    assert attributes["voxgate.decision_id"] == decision.id
    assert attributes["voxgate.strategy"] == "predict"
    assert attributes["voxgate.chosen_model"] == decision.chosen
    assert attributes["voxgate.key_id"] == "key-1"
    assert "PLUGH" not in json.dumps(attributes, default=list)

