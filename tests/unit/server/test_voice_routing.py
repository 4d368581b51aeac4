"""Voice turns route under the latency budget AND the quality floor; when both can't hold, the floor
wins, and the turn says which constraint decided (issue 14 §5). The gateway here runs the real pure
policy over fixed candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from voxgate.core.errors import NoEligibleModelError
from voxgate.core.keys import BudgetStatus
from voxgate.core.types import ChatRequest, Mode, RoutingConstraints
from voxgate.routing.policy import Candidate, choose
from voxgate.server.gateway import Gateway
from voxgate.server.realtime import RoutedReplySource
from voxgate.server.validation import parse_chat_request
from voxgate.voice.realtime.reply import (
    ROUTED_BEST_BELOW_FLOOR,
    ROUTED_FASTEST_OVER_BUDGET,
    ROUTED_QUALITY_OVER_BUDGET,
    ROUTED_WITHIN_BOTH,
)

# (quality, latency) of a ladder like the bundled one: the fast model is the weak one
LADDER = [Candidate("tiny", 0.2, 0.0, 400.0), Candidate("small", 0.45, 0.0, 1_500.0),
          Candidate("medium", 0.6, 0.0, 3_000.0)]


@dataclass
class _Decision:
    id: str
    chosen: str


class _PolicyGateway:
    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self.asked: list[RoutingConstraints] = []

    async def decide(
        self, chat: ChatRequest, constraints: RoutingConstraints, profile: str, budget: BudgetStatus | None = None
    ) -> _Decision:
        self.asked.append(constraints)
        result = choose(self.candidates, constraints, None, budget)
        if result.chosen is None:
            raise NoEligibleModelError("no model", result.rejections)
        return _Decision(f"dec-{len(self.asked)}", result.chosen)


async def _route(candidates: list[Candidate], **constraints: Any) -> tuple[str, str]:
    gateway = _PolicyGateway(candidates)
    source = RoutedReplySource(cast(Gateway, gateway), RoutingConstraints(mode=Mode.FAST, **constraints), "auto")
    chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What time is it?"}]})
    decision, routed_by = await source._decide(chat, RoutingConstraints(mode=Mode.FAST, **constraints))
    return cast(_Decision, decision).chosen, routed_by


async def test_the_quickest_model_meeting_both_constraints() -> None:
    assert await _route(LADDER, max_latency_ms=2_000.0, min_quality=0.4) == ("small", ROUTED_WITHIN_BOTH)


async def test_when_both_cannot_hold_the_floor_wins_over_the_budget() -> None:
    assert await _route(LADDER, max_latency_ms=1_000.0, min_quality=0.4) == ("small", ROUTED_QUALITY_OVER_BUDGET)


async def test_nothing_above_the_floor_gives_the_best_predicted_quality_not_the_fastest() -> None:
    assert await _route(LADDER, max_latency_ms=1_000.0, min_quality=0.9) == ("medium", ROUTED_BEST_BELOW_FLOOR)


async def test_without_a_floor_the_fastest_answers_over_budget_as_before() -> None:
    assert await _route(LADDER, max_latency_ms=100.0) == ("tiny", ROUTED_FASTEST_OVER_BUDGET)


async def test_a_capability_refusal_is_not_relaxed() -> None:
    class _Refusing(_PolicyGateway):
        async def decide(
            self, chat: ChatRequest, constraints: RoutingConstraints, profile: str, budget: BudgetStatus | None = None
        ) -> _Decision:
            raise NoEligibleModelError("no model", {"tiny": "cannot call tools"})

    source = RoutedReplySource(cast(Gateway, _Refusing(LADDER)), RoutingConstraints(min_quality=0.4), "auto")
    chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(NoEligibleModelError):
        await source._decide(chat, RoutingConstraints(min_quality=0.4))
