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
from voxgate.server.counters import DEFAULT_COMPLETION_RESERVE_TOKENS, LocalCounters, UsageUpdate, reserved_tokens
from voxgate.server.model_limits import ModelLimits
from voxgate.server.validation import parse_chat_request

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()


class Limits(ModelLimits):
    """Model limits over local counters, with the usage they queue written by `flush`."""

    def __init__(self, clock: ManualClock, **by_model: ModelRateLimits) -> None:
        cards = [ModelCard(id=model_id, base_url="http://x/v1", rate_limits=limits)
                 for model_id, limits in by_model.items()]
        self.counters = LocalCounters()
        self.queued: list[UsageUpdate] = []
        super().__init__([*cards, ModelCard(id="free", base_url="http://y/v1")], clock, self.counters, 60.0,
                         self.queued.append)

    async def flush(self) -> None:
        queued, self.queued[:] = list(self.queued), []
        await self.counters.add_usage(queued)


def _limits(clock: ManualClock, **by_model: ModelRateLimits) -> Limits:
    return Limits(clock, **by_model)


def _answered(tokens: tuple[int, int], chosen: str = "wordy", answered_by: str | None = "wordy",
              max_tokens: int | None = None) -> Decision:
    return Decision(id="dec_1", created_at=NOON_S, profile="auto", mode="balanced", constraints={},
                    request={"prompt_tokens_estimate": 20, "max_tokens": max_tokens}, candidates=[], chosen=chosen,
                    fallback_plan=[], reason="", predictor_version="", overhead_us=0.0, answered_by=answered_by,
                    outcome="ok" if answered_by else "failed",
                    usage={"prompt_tokens": tokens[0], "completion_tokens": tokens[1]} if answered_by else None)


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


async def test_tpm_counts_the_tokens_answers_really_used_in_place_of_their_reservation() -> None:
    clock = ManualClock(NOON_S)
    limits = _limits(clock, wordy=ModelRateLimits(tpm=200))
    reserved = reserved_tokens(20, 60)
    assert await limits.take("wordy", reserved) is None
    assert await limits.take("wordy", reserved) is None
    refused = await limits.take("wordy", reserved)
    assert refused is not None, f"two reservations of {reserved} leave less than {reserved} of 200"
    assert f"200 tokens per minute ({2 * reserved} used)" in refused.message
    for _ in range(2):
        limits.observe_decision(_answered((22, 30), max_tokens=60))
    await limits.flush()
    assert limits.full_now() == {}
    assert await limits.take("wordy", reserved) is None, "104 used really: 80 more fit"
    limits.observe_decision(_answered((22, 90), max_tokens=60))
    await limits.flush()
    full = await limits.saturated()
    assert "200 tokens per minute (216 used)" in full["wordy"]
    assert await limits.take("wordy", 5) is not None


async def test_a_failed_or_fallback_answer_gives_the_chosen_models_reservation_back() -> None:
    limits = _limits(ManualClock(NOON_S), wordy=ModelRateLimits(tpm=1000))
    reserved = reserved_tokens(20, None)
    assert reserved == 20 + DEFAULT_COMPLETION_RESERVE_TOKENS, "no max_tokens: the documented default"
    for answered in (_answered((0, 0), answered_by=None), _answered((30, 40), answered_by="free")):
        assert await limits.take("wordy", reserved) is None
        limits.observe_decision(answered)
        await limits.flush()
        window = await limits.counters.take("model:wordy", NOON_S, 0, 0, {})
        assert (window.requests, window.tokens) == (1 if answered.answered_by is None else 2, 0)


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
