"""Per-model rate limits from the catalog: shared windows over every key, a look that the router
treats like an open breaker, an atomic take that gives back a slot it lost, and OpenAI's 429."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voxgate.config import default_models
from voxgate.core.clock import ManualClock
from voxgate.core.errors import NoEligibleModelError
from voxgate.core.types import ModelCard, ModelRateLimits, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.decision import Decision
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.counters import LocalCounters
from voxgate.server.model_limits import ModelLimits
from voxgate.server.validation import parse_chat_request

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()


def _limits(clock: ManualClock, **by_model: ModelRateLimits) -> ModelLimits:
    cards = [ModelCard(id=model_id, base_url="http://x/v1", rate_limits=limits)
             for model_id, limits in by_model.items()]
    return ModelLimits([*cards, ModelCard(id="free", base_url="http://y/v1")], clock, LocalCounters(), 60.0)


async def test_rpm_refuses_the_request_past_the_limit_with_openai_headers_until_the_window_turns() -> None:
    clock = ManualClock(NOON_S + 20)
    limits = _limits(clock, busy=ModelRateLimits(rpm=2))
    assert [await limits.take("busy", 10) for _ in range(2)] == [None, None]
    assert set(await limits.saturated()) == {"busy"}
    refused = await limits.take("busy", 10)
    assert refused is not None
    assert refused.code == "rate_limit_exceeded"
    assert "2 requests per minute" in refused.message
    assert refused.headers["retry-after"] == "40"
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert await limits.take("free", 10) is None, "a model without limits is never refused"
    clock.advance(40)
    assert await limits.saturated() == {}
    assert await limits.take("busy", 10) is None


async def test_a_lost_race_gives_its_slot_back() -> None:
    clock = ManualClock(NOON_S)
    limits = _limits(clock, busy=ModelRateLimits(rpm=1))
    assert await limits.take("busy", 5) is None
    for _ in range(3):
        assert await limits.take("busy", 5) is not None
    clock.advance(60)
    assert await limits.take("busy", 5) is None, "refused takes left nothing in the window"


async def test_tpm_counts_the_tokens_answers_really_used() -> None:
    clock = ManualClock(NOON_S)
    limits = _limits(clock, wordy=ModelRateLimits(tpm=100))
    assert await limits.take("wordy", 20) is None
    assert await limits.saturated() == {}
    answered = Decision(id="dec_1", created_at=NOON_S, profile="auto", mode="balanced", constraints={},
                        request={"prompt_tokens_estimate": 20}, candidates=[], chosen="wordy", fallback_plan=[],
                        reason="", predictor_version="", overhead_us=0.0, answered_by="wordy", outcome="ok",
                        usage={"prompt_tokens": 22, "completion_tokens": 90})
    limits.observe_decision(answered)
    await limits.flush()
    full = await limits.saturated()
    assert "100 tokens per minute (112 used)" in full["wordy"]
    assert await limits.take("wordy", 5) is not None


async def test_a_request_larger_than_the_tpm_goes_through_an_empty_window() -> None:
    limits = _limits(ManualClock(NOON_S), wordy=ModelRateLimits(tpm=100))
    assert await limits.take("wordy", 500) is None
    assert await limits.take("wordy", 1) is not None


def test_the_router_routes_auto_around_a_model_at_its_limit_and_says_why() -> None:
    cards = default_models()
    clock = ManualClock()
    router = Router(cards, HeuristicPredictor(), LatencyStats(cards), CircuitBreakers(clock), SessionAffinity(), clock)
    chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "What is 2 + 2?"}]})
    usual = router.decide(chat, RoutingConstraints(), "auto").chosen
    assert usual is not None
    reason = "rate limit: 60 requests per minute, every key together; a slot frees in 12 s"
    decision = router.decide(chat, RoutingConstraints(), "auto", unavailable={usual: reason})
    assert decision.chosen not in (None, usual)
    assert usual not in decision.fallback_plan
    (record,) = [c for c in decision.candidates if c.model == usual]
    assert not record.eligible
    assert reason in record.reason
    with pytest.raises(NoEligibleModelError, match="rate limit"):
        router.decide(chat, RoutingConstraints(), "auto", unavailable={card.id: reason for card in cards})
