"""The cascade's surface: `routing.strategy` / `routing.cascade` parsing, profiles, and the disconnect watch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import CascadeOptions, JSONObject, Mode, Strategy
from voxgate.routing.cascade.planner import CascadeSettings
from voxgate.server.cascading import settings_for, until_disconnected
from voxgate.server.constraints import parse_constraints


def test_strategy_comes_from_body_header_or_profile() -> None:
    assert parse_constraints("auto", None, {}, Mode.BALANCED).strategy is Strategy.CASCADE
    assert parse_constraints("auto:balanced", None, {}, Mode.BALANCED).strategy is Strategy.PREDICT
    # `auto` naming a mode asks for that mode's choice, like the profile of the same name
    assert parse_constraints("auto", {"mode": "quality"}, {}, Mode.BALANCED).strategy is Strategy.PREDICT
    assert parse_constraints("auto", None, {"x-voxgate-mode": "cost"}, Mode.BALANCED).strategy is Strategy.PREDICT
    assert parse_constraints("auto:cascade", {"mode": "cost"}, {}, Mode.BALANCED).strategy is Strategy.CASCADE
    assert parse_constraints("auto:cascade", None, {}, Mode.BALANCED).strategy is Strategy.CASCADE
    assert parse_constraints("auto:quality", None, {"x-voxgate-strategy": "cascade"}, Mode.BALANCED).strategy \
        is Strategy.CASCADE
    assert parse_constraints("auto", None, {"x-voxgate-strategy": "predict"}, Mode.BALANCED).strategy \
        is Strategy.PREDICT
    body = {"strategy": "predict"}
    assert parse_constraints("auto:cascade", body, {}, Mode.BALANCED).strategy is Strategy.PREDICT
    assert parse_constraints("auto:cascade", None, {}, Mode.QUALITY).mode is Mode.QUALITY


def test_cascade_options_are_parsed_and_merged_over_the_defaults() -> None:
    routing = {"cascade": {"models": ["a", "b"], "accept": 0.9, "max_stages": 2}}
    options = parse_constraints("auto", routing, {}, Mode.BALANCED).cascade
    assert options == CascadeOptions(("a", "b"), 0.9, 2)
    merged = settings_for(CascadeSettings(accept=0.6, max_stages=3), CascadeOptions(accept=None, max_stages=2))
    assert (merged.accept, merged.max_stages, merged.models) == (0.6, 2, None)
    whole = parse_constraints("auto", {"cascade": {"max_stages": 5.0}}, {}, Mode.BALANCED).cascade
    assert whole is not None  # JSON's 5.0 is a whole number: schema-valid, served (found by the HTTP fuzz run)
    assert whole.max_stages == 5
    assert isinstance(whole.max_stages, int)


def test_middle_cost_share_is_parsed_and_overrides_the_server_default() -> None:
    routing = {"cascade": {"middle_cost_share": 0.25, "agreement": True}}
    options = parse_constraints("auto", routing, {}, Mode.BALANCED).cascade
    assert options == CascadeOptions(agreement=True, middle_cost_share=0.25)
    assert options.as_dict()["middle_cost_share"] == 0.25
    assert settings_for(CascadeSettings(middle_cost_share=0.5), options).middle_cost_share == 0.25
    assert settings_for(CascadeSettings(middle_cost_share=0.5), CascadeOptions(accept=0.9)).middle_cost_share == 0.5


@pytest.mark.parametrize("routing", [
    {"strategy": "magic"}, {"cascade": {"accept": 1.5}}, {"cascade": {"max_stages": 0}},
    {"cascade": {"max_stages": 2.5}}, {"cascade": {"max_stages": True}}, {"cascade": {"models": []}},
    {"cascade": {"models": "a,b"}},
    {"cascade": {"bar": 1}}, {"cascade": "fast"}, {"cascade": {"agreement": "yes"}},
    {"cascade": {"middle_cost_share": 1.5}}, {"cascade": {"middle_cost_share": "half"}},
    {"cascade": {"middle_cost_share": True}},
])
def test_bad_cascade_fields_are_refused_naming_the_field(routing: JSONObject) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        parse_constraints("auto", routing, {}, Mode.BALANCED)
    assert raised.value.param in ("routing.strategy", "routing.cascade")


class _Receive:
    """An ASGI receive that says the client went away once `gone` is set."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()

    async def __call__(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


class _Request:
    def __init__(self, receive: _Receive) -> None:
        self.receive = receive


async def test_a_client_going_away_cancels_the_work() -> None:
    receive = _Receive()
    cancelled = asyncio.Event()

    async def work() -> JSONObject:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    asyncio.get_running_loop().call_later(0.01, receive.gone.set)
    assert await until_disconnected(_Request(receive), work()) is None  # type: ignore[arg-type]
    assert cancelled.is_set()


async def test_finished_work_stops_the_watch() -> None:
    async def work() -> JSONObject:
        return {"ok": True}

    assert await until_disconnected(_Request(_Receive()), work()) == {"ok": True}  # type: ignore[arg-type]


def test_the_plan_is_recorded_in_the_decision() -> None:
    from voxgate.core.clock import ManualClock
    from voxgate.core.types import ModelCard, Price, RoutingConstraints
    from voxgate.routing.affinity import SessionAffinity
    from voxgate.routing.breaker import CircuitBreakers
    from voxgate.routing.predictor import HeuristicPredictor
    from voxgate.routing.router import Router
    from voxgate.routing.stats import LatencyStats
    from voxgate.server.cascading import plan_of
    from voxgate.server.validation import parse_chat_request

    cards = (ModelCard("small", quality_hint=0.3, price=Price(0.1, 0.1)),
             ModelCard("big", quality_hint=0.9, price=Price(2, 2)))
    clock = ManualClock()
    router = Router(cards, HeuristicPredictor(), LatencyStats(cards), CircuitBreakers(clock), SessionAffinity(), clock)
    constraints = RoutingConstraints(mode=Mode.QUALITY, strategy=Strategy.CASCADE)
    chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
    decision = router.decide(chat, constraints, "auto")
    assert decision.chosen == "big"

    class _Gateway:
        cascade_settings = CascadeSettings(accept=0.8, hopeless_below=0.0)

    plan = plan_of(_Gateway(), chat, decision, constraints)  # type: ignore[arg-type]
    assert plan.models == ("small", "big")
    assert decision.chosen == "small"
    assert decision.fallback_plan == ["big"]
    assert decision.strategy == "cascade"
    assert decision.cascade is not None
    assert decision.cascade["plan"]["accept"] == 0.8
    assert "predict alone would choose big" in decision.reason
