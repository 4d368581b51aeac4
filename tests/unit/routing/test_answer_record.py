"""Answers kept in the decision for `voxgate outcomes` (opt-in): what is kept, and only when asked."""

from __future__ import annotations

import pytest

from tests.support.chat_backends import ScriptedChatBackend
from tests.unit.routing.cascade.test_runner import CONFIDENT, Setup, answer
from tests.unit.routing.test_dispatcher import CARDS, ListLog, _decide
from voxgate.core.clock import ManualClock
from voxgate.core.errors import BackendConnectError
from voxgate.core.types import JSONObject
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.answer_record import answer_entry, settle_answer
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.validation import parse_chat_request


def test_an_entry_keeps_the_text_and_the_signals_the_checker_reads() -> None:
    entry = answer_entry("small", answer("Paris", CONFIDENT))
    assert entry["model"] == "small"
    assert entry["text"] == "Paris"
    assert entry["token_logprobs"] == [-0.01]
    assert entry["margins"] == [pytest.approx(6.99)]  # Paris's lead over Lyon
    assert answer_entry("small", answer("Paris")) == {"model": "small", "text": "Paris"}  # no log-probs upstream
    assert answer_entry("small", {"choices": []}) == {"model": "small", "text": ""}


def test_settle_names_the_last_answer_of_the_answering_model() -> None:
    content: JSONObject = {"answers": [{"model": "a", "text": "one"}, {"model": "b", "text": "two"},
                                       {"model": "a", "text": "three"}]}
    settle_answer(content, "a")
    assert content["answer"] == "three"
    settle_answer(content, "nobody")
    assert content["answer"] == "three"


def _dispatcher(record: bool, *backends: ScriptedChatBackend) -> tuple[Router, Dispatcher, ListLog]:
    clock = ManualClock()
    stats = LatencyStats(CARDS)
    breakers = CircuitBreakers(clock, failure_threshold=2, cooldown_s=10)
    router = Router(CARDS, HeuristicPredictor(), stats, breakers, SessionAffinity(), clock)
    log = ListLog()
    dispatcher = Dispatcher({b.model_id: b for b in backends}, CARDS, stats, breakers, log, clock,
                            record_answers=record)
    return router, dispatcher, log


@pytest.mark.parametrize("record", [True, False])
async def test_a_completion_is_kept_only_when_recording_and_content_logging_are_on(record: bool) -> None:
    down = ScriptedChatBackend("a", error=BackendConnectError("refused"))
    router, dispatcher, log = _dispatcher(record, down, ScriptedChatBackend("b", answer=answer("Paris", CONFIDENT)))
    request, decision = _decide(router)
    decision.content = {"prompt": "hello"}
    await dispatcher.complete(request, decision)
    content = log.records[-1]["content"]
    if record:
        assert content["answer"] == "Paris"
        assert content["answers"] == [{"model": "b", "text": "Paris", "token_logprobs": [-0.01],
                                        "margins": [pytest.approx(6.99)]}]
    else:
        assert content == {"prompt": "hello"}
    request, decision = _decide(router)  # content logging off: nothing to keep the answer in
    await dispatcher.complete(request, decision)
    assert log.records[-1]["content"] is None


async def test_a_stream_keeps_the_text_it_relayed() -> None:
    router, dispatcher, log = _dispatcher(True, ScriptedChatBackend("a"), ScriptedChatBackend("b"))
    request, decision = _decide(router, stream=True)
    decision.content = {"prompt": "hello"}
    chunks = [chunk async for chunk in await dispatcher.open_stream(request, decision)]
    assert chunks
    assert log.records[-1]["content"]["answers"] == [{"model": "a", "text": "ok"}]
    assert log.records[-1]["content"]["answer"] == "ok"


async def test_a_cascade_keeps_every_stages_answer_and_the_accepted_one() -> None:
    backends = {"small": ScriptedChatBackend("small", answer=answer("17 * 23 equals 411.")),
                "mid": ScriptedChatBackend("mid", answer=answer("17 * 23 = 391", CONFIDENT)),
                "big": ScriptedChatBackend("big", answer=answer("391"))}
    setup = Setup(backends, record_answers=True)
    decision, plan, constraints = setup.decide("What is 17 * 23?")
    decision.content = {"prompt": "What is 17 * 23?"}
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 17 * 23?"}]})
    await setup.runner.complete(request, decision, plan, constraints)
    content = setup.log.records[-1]["content"]
    assert [a["model"] for a in content["answers"]] == ["small", "mid"]
    assert content["answers"][0]["text"] == "17 * 23 equals 411."
    assert content["answer"] == "17 * 23 = 391"
    assert setup.log.records[-1]["answered_by"] == "mid"
