"""Fallback and recording, with in-memory backends and a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from tests.support.chat_backends import ScriptedChatBackend
from voxgate.core.clock import ManualClock
from voxgate.core.errors import AllBackendsFailedError, BackendConnectError, BackendStatusError
from voxgate.core.types import ChatRequest, JSONObject, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats

CARDS = (
    ModelCard("a", quality_hint=0.9, price=Price(1, 1)),
    ModelCard("b", quality_hint=0.8, price=Price(1, 1)),
)


class ListLog:
    def __init__(self) -> None:
        self.records: list[JSONObject] = []

    def record(self, decision: JSONObject) -> None:
        self.records.append(decision)

    async def get(self, decision_id: str) -> JSONObject | None:
        return None

    async def query(self, *, since: float | None, model: str | None, limit: int) -> list[JSONObject]:
        return []

    async def add_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> bool:
        return False


def _request(stream: bool = False, include_usage: bool = False) -> ChatRequest:
    body: JSONObject = {"model": "auto", "messages": [{"role": "user", "content": "hello"}]}
    return ChatRequest(
        body=body, requested_model="auto", stream=stream, include_usage=include_usage, max_tokens=None,
        needs=frozenset(), prompt_tokens_estimate=3, prompt_text="hello", turn_count=1, fingerprint="f",
    )


def _setup(a: ScriptedChatBackend, b: ScriptedChatBackend) -> tuple[Router, Dispatcher, ListLog, ManualClock]:
    clock = ManualClock()
    stats = LatencyStats(CARDS)
    breakers = CircuitBreakers(clock, failure_threshold=2, cooldown_s=10)
    router = Router(CARDS, HeuristicPredictor(), stats, breakers, SessionAffinity(), clock)
    log = ListLog()
    dispatcher = Dispatcher({"a": a, "b": b}, CARDS, stats, breakers, log, clock)
    return router, dispatcher, log, clock


def _decide(router: Router, stream: bool = False) -> tuple[ChatRequest, Decision]:
    request = _request(stream)
    from voxgate.core.types import Mode

    return request, router.decide(request, RoutingConstraints(mode=Mode.QUALITY), "auto")


async def test_complete_falls_back_on_retryable_error_and_records_both_attempts() -> None:
    failing = ScriptedChatBackend("a", error=BackendConnectError("refused"))
    router, dispatcher, log, _ = _setup(failing, ScriptedChatBackend("b"))
    request, decision = _decide(router)
    assert decision.chosen == "a"
    response = await dispatcher.complete(request, decision)
    assert response["model"] == "b"
    assert [(a.model, a.status) for a in decision.attempts] == [("a", "error"), ("b", "ok")]
    assert decision.attempts[0].retryable is True
    assert decision.outcome == "ok"
    assert decision.answered_by == "b"
    assert decision.cost_usd == pytest.approx(5 / 1e6)
    assert log.records[-1]["id"] == decision.id


async def test_complete_does_not_retry_client_errors() -> None:
    a = ScriptedChatBackend("a", error=BackendStatusError("bad request", status=400))
    b = ScriptedChatBackend("b")
    router, dispatcher, log, _ = _setup(a, b)
    request, decision = _decide(router)
    with pytest.raises(BackendStatusError):
        await dispatcher.complete(request, decision)
    assert b.calls == 0
    assert log.records[-1]["outcome"] == "failed"


async def test_all_failed_lists_every_attempt() -> None:
    router, dispatcher, _, _ = _setup(
        ScriptedChatBackend("a", error=BackendStatusError("busy", status=503)),
        ScriptedChatBackend("b", error=BackendStatusError("limited", status=429)),
    )
    request, decision = _decide(router)
    with pytest.raises(AllBackendsFailedError) as info:
        await dispatcher.complete(request, decision)
    assert [m for m, _ in info.value.attempts] == ["a", "b"]


async def test_stream_falls_back_before_first_chunk() -> None:
    failing = ScriptedChatBackend("a", error=BackendConnectError("refused"))
    router, dispatcher, log, _ = _setup(failing, ScriptedChatBackend("b"))
    request, decision = _decide(router, stream=True)
    chunks = [c async for c in await dispatcher.open_stream(request, decision)]
    assert [c["model"] for c in chunks] == ["b", "b"]
    assert all("usage" not in c for c in chunks), "usage chunk is dropped unless include_usage was asked"
    assert [(a.model, a.status) for a in decision.attempts] == [("a", "error"), ("b", "ok")]
    assert decision.usage == {"prompt_tokens": 3, "completion_tokens": 2}
    assert log.records[-1]["outcome"] == "ok"


async def test_stream_failure_after_first_chunk_ends_with_error_chunk() -> None:
    router, dispatcher, _log, _ = _setup(
        ScriptedChatBackend("a", error=BackendConnectError("dropped"), fail_after_chunks=1), ScriptedChatBackend("b")
    )
    request, decision = _decide(router, stream=True)
    chunks = [c async for c in await dispatcher.open_stream(request, decision)]
    assert chunks[0]["choices"][0]["delta"]["content"] == "o"
    assert chunks[-1]["error"]["code"] == "upstream_stream_failed"
    assert decision.outcome == "failed"
    assert [a.model for a in decision.attempts] == ["a"]


async def test_stream_closed_by_client_is_recorded_as_cancelled() -> None:
    router, dispatcher, _log, _ = _setup(ScriptedChatBackend("a"), ScriptedChatBackend("b"))
    request, decision = _decide(router, stream=True)
    stream = await dispatcher.open_stream(request, decision)
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert decision.outcome == "cancelled"
    assert decision.attempts[-1].status == "cancelled"


async def test_circuit_opens_after_threshold_and_router_skips_model() -> None:
    failing = ScriptedChatBackend("a", error=BackendConnectError("down"))
    router, dispatcher, _, clock = _setup(failing, ScriptedChatBackend("b"))
    for _ in range(2):
        request, decision = _decide(router)
        await dispatcher.complete(request, decision)
    _, decision = _decide(router)
    assert decision.chosen == "b"
    rejected = next(c for c in decision.candidates if c.model == "a")
    assert "circuit open" in rejected.reason
    clock.advance(11)
    _, decision = _decide(router)
    assert decision.chosen == "a"


class HangingBackend(ScriptedChatBackend):
    """Never answers: the caller's cancellation is the only way out."""

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.sent.append(body)
        await anyio.sleep_forever()
        yield {}


@pytest.mark.parametrize("stream", [False, True])
async def test_a_call_cancelled_before_any_answer_is_still_recorded(stream: bool) -> None:
    """The soak found voice turns naming decisions that never reached the log: a barge-in cancelled
    the reply before its first chunk, and nothing recorded the decision."""
    router, dispatcher, log, _ = _setup(HangingBackend("a"), ScriptedChatBackend("b"))
    request, decision = _decide(router, stream=stream)
    with anyio.move_on_after(0.05):
        if stream:
            await dispatcher.open_stream(request, decision)
        else:
            await dispatcher.complete(request, decision)
    assert decision.outcome == "cancelled"
    assert [(a.model, a.status) for a in decision.attempts] == [("a", "cancelled")]
    assert [r["id"] for r in log.records] == [decision.id]


async def test_a_stream_never_iterated_is_recorded_when_the_server_stops() -> None:
    router, dispatcher, log, _ = _setup(ScriptedChatBackend("a"), ScriptedChatBackend("b"))
    request, decision = _decide(router, stream=True)
    await dispatcher.open_stream(request, decision)  # the client left before the response started
    assert log.records == []
    assert dispatcher.end_open_streams("server stopping") == 1
    assert [r["id"] for r in log.records] == [decision.id]
    assert decision.outcome == "cancelled"
