"""Which voice turns go through the first-sentence check (issue 12's voice part, issue 14 §5): the
strategy `cascade` (profile `auto`), `voice.answer_check` on, no tools, and a stronger model to hand
the turn to. Every other turn streams straight from the routed model, as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from voxgate.config import VoiceSettings
from voxgate.core.clock import ManualClock
from voxgate.core.types import CascadeOptions, JSONObject, Mode, ModelCard, Price, RoutingConstraints, Strategy
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings
from voxgate.routing.decision import Decision
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.gateway import Gateway
from voxgate.server.realtime import RoutedReplySource
from voxgate.server.validation import parse_chat_request
from voxgate.voice_settings import voice_settings_from

CARDS = (ModelCard("small", quality_hint=0.8, price=Price(0.1, 0.1)),
         ModelCard("big", quality_hint=0.9, price=Price(2, 2)))
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


async def _nothing() -> AsyncIterator[JSONObject]:
    return
    yield


@dataclass
class _Recorder:
    """Stands in for the dispatcher and the streamed cascade: says which one the turn went to."""

    opened: list[str] = field(default_factory=list)
    plans: list[CascadePlan] = field(default_factory=list)

    async def open_stream(self, chat: Any, decision: Decision) -> AsyncIterator[JSONObject]:
        self.opened.append("straight")
        return _nothing()

    def stream(self, chat: Any, decision: Decision, plan: CascadePlan) -> AsyncIterator[JSONObject]:
        self.opened.append("checked")
        self.plans.append(plan)
        return _nothing()


@dataclass
class _Settings:
    voice: VoiceSettings


@dataclass
class _Gateway:
    settings: _Settings
    dispatcher: _Recorder
    voice_cascade: _Recorder
    cascade_settings: CascadeSettings = field(default_factory=lambda: CascadeSettings(accept=0.4))


def _decision(mode: Mode) -> Decision:
    clock = ManualClock()
    router = Router(CARDS, HeuristicPredictor(), LatencyStats(CARDS), CircuitBreakers(clock, 5, 10.0),
                    SessionAffinity(), clock)
    chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 17 * 23?"}]})
    return router.decide(chat, RoutingConstraints(mode=mode), "auto")


async def _route_turn(*, strategy: Strategy = Strategy.CASCADE, answer_check: bool = True,
                      tools: bool = False, mode: Mode = Mode.COST, accept: float | None = None,
                      prompt: str = "What is 17 * 23?") -> _Recorder:
    recorder = _Recorder()
    gateway = _Gateway(_Settings(VoiceSettings(answer_check=answer_check)), recorder, recorder)
    source = RoutedReplySource(cast(Gateway, gateway), RoutingConstraints(), "auto")
    body: JSONObject = {"model": "auto", "messages": [{"role": "user", "content": prompt}]}
    if tools:
        body["tools"] = TOOLS
    routing: dict[str, Any] = {"mode": mode, "strategy": strategy}
    if accept is not None:
        routing["cascade"] = CascadeOptions(accept=accept)
    await source._open(parse_chat_request(body), _decision(mode), RoutingConstraints(**routing))
    return recorder


async def test_a_cascade_turn_on_a_cheaper_model_is_checked_before_the_strongest_is_asked() -> None:
    recorder = await _route_turn()
    assert recorder.opened == ["checked"]
    assert recorder.plans[0].models == ("small", "big")
    assert recorder.plans[0].accept == 0.4  # the server's cascade bar


async def test_the_request_s_own_bar_is_honoured() -> None:
    recorder = await _route_turn(accept=0.9)
    assert recorder.plans[0].accept == 0.9


@pytest.mark.parametrize(
    ("why", "turn"),
    [
        ("strategy predict (profile auto:fast)", {"strategy": Strategy.PREDICT}),
        ("voice.answer_check off", {"answer_check": False}),
        ("the turn offers tools", {"tools": True}),
        ("already routed to the strongest model", {"mode": Mode.QUALITY}),
        ("a command, not a question", {"prompt": "Turn off the kitchen lights."}),
    ],
)
async def test_other_turns_stream_straight_from_the_routed_model(why: str, turn: dict[str, Any]) -> None:
    recorder = await _route_turn(**turn)
    assert recorder.opened == ["straight"], why


def test_the_switch_reads_from_the_environment() -> None:
    assert voice_settings_from({}, {}).answer_check is True
    assert voice_settings_from({}, {"VOXGATE_VOICE_ANSWER_CHECK": "0"}).answer_check is False
    assert voice_settings_from({"voice": {"answer_check": False}}, {}).answer_check is False
