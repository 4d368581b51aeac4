"""KeyGate: allow-lists (403 naming what a key may use), budgets (429 insufficient_quota), RPM and
TPM windows (429 with retry-after and x-ratelimit-*), voice session slots; a manual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from voxgate.core.clock import ManualClock
from voxgate.core.errors import PermissionDeniedError, QuotaExceededError, RateLimitedError
from voxgate.core.keys import BudgetPeriod, KeyPolicy, VirtualKey
from voxgate.core.types import ChatRequest, RoutingConstraints
from voxgate.routing.decision import Decision
from voxgate.server.counters import DEFAULT_COMPLETION_RESERVE_TOKENS, reserved_tokens
from voxgate.server.limits import Admission, KeyGate
from voxgate.server.validation import parse_chat_request
from voxgate.server.voice_slots import NO_LEASE

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()


def _key(**policy: Any) -> VirtualKey:
    return VirtualKey(id="0123456789ab", name="team-a", key_hash="", created_at=0.0, policy=KeyPolicy(**policy))


def _chat(model: str = "auto", text: str = "hi", max_tokens: int | None = None) -> ChatRequest:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    return parse_chat_request(body if max_tokens is None else {**body, "max_tokens": max_tokens})


def _finished(key_id: str, cost_usd: float, at_s: float, tokens: tuple[int, int] | None = (10, 5),
              chat: ChatRequest | None = None) -> Decision:
    """A finished decision; `chat` the request it answered (its reservation), `tokens` None: it failed."""
    request = {"prompt_tokens_estimate": chat.prompt_tokens_estimate, "max_tokens": chat.max_tokens} \
        if chat is not None else {"prompt_tokens_estimate": 0, "max_tokens": 0}
    return Decision(id="dec_1", created_at=at_s, profile="auto", mode="balanced", constraints={},
                    request=request, candidates=[], chosen="m", fallback_plan=[],
                    reason="", predictor_version="", overhead_us=0.0, answered_by="m" if tokens else None,
                    outcome="ok" if tokens else "failed", cost_usd=cost_usd, key_id=key_id,
                    usage={"prompt_tokens": tokens[0], "completion_tokens": tokens[1]} if tokens else None)


async def test_requests_without_a_virtual_key_pass_untouched() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    constraints = RoutingConstraints()
    admission = await gate.admit(None, _chat(), constraints)
    assert admission.constraints is constraints
    assert admission.key_id is None
    assert admission.headers == {}


async def test_a_key_outside_its_models_or_profiles_gets_403_naming_what_it_may_use() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(models=("small", "medium"), profiles=("auto:cost",))
    for model in ("auto", "large"):
        with pytest.raises(PermissionDeniedError, match=r"may use: auto:cost, small, medium"):
            await gate.admit(key, _chat(model), RoutingConstraints())
    with pytest.raises(PermissionDeniedError, match="large"):
        await gate.admit(key, _chat("auto:cost"), RoutingConstraints(models=("small", "large")))
    narrowed = (await gate.admit(key, _chat("auto:cost"), RoutingConstraints())).constraints
    assert narrowed.models == ("small", "medium"), "a profile routes only among the key's models"
    assert (await gate.admit(key, _chat("small"), RoutingConstraints())).key_id == key.id


async def test_rpm_window_refuses_with_retry_after_and_reopens_next_minute() -> None:
    clock = ManualClock(NOON_S + 15)
    gate = KeyGate(clock)
    key = _key(rpm=2)
    remaining = [(await gate.admit(key, _chat(), RoutingConstraints())).headers["x-ratelimit-remaining-requests"]
                 for _ in range(2)]
    assert remaining == ["1", "0"]
    with pytest.raises(RateLimitedError) as refused:
        await gate.admit(key, _chat(), RoutingConstraints())
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers["retry-after"] == "45"
    assert refused.value.headers["x-ratelimit-limit-requests"] == "2"
    explained = (await gate.admit(key, _chat(), RoutingConstraints(), count=False)).headers
    assert explained["x-ratelimit-remaining-requests"] == "0", "explaining is not refused"
    clock.advance(45)
    assert (await gate.admit(key, _chat(), RoutingConstraints())).headers["x-ratelimit-remaining-requests"] == "1"


async def test_tpm_reserves_each_requests_tokens_at_admission_so_concurrent_ones_cannot_overshoot() -> None:
    clock = ManualClock(NOON_S + 15)
    gate = KeyGate(clock)
    chat = _chat(text="x" * 40, max_tokens=100)
    reserved = reserved_tokens(chat.prompt_tokens_estimate, 100)
    tpm = 3 * reserved + reserved // 2
    key = _key(tpm=tpm)
    outcomes = await asyncio.gather(*(gate.admit(key, chat, RoutingConstraints()) for _ in range(10)),
                                    return_exceptions=True)
    admitted = [o for o in outcomes if isinstance(o, Admission)]
    refused = [o for o in outcomes if isinstance(o, RateLimitedError)]
    assert (len(admitted), len(refused)) == (3, 7)
    assert [a.headers["x-ratelimit-remaining-tokens"] for a in admitted] == [
        str(tpm - n * reserved) for n in (1, 2, 3)]
    for exc in refused:
        assert exc.code == "rate_limit_exceeded"
        assert exc.headers["retry-after"] == "45"
        assert exc.headers["x-ratelimit-limit-tokens"] == str(tpm)
        assert exc.headers["x-ratelimit-remaining-tokens"] == str(reserved // 2)
        assert f"{3 * reserved} used or reserved, this request needs about {reserved}" in exc.message
    window = await gate.counters.take(key.id, NOON_S, 0, 0, {})
    assert (window.requests, window.tokens) == (3, 3 * reserved), "refused requests took nothing"


async def test_a_finished_request_replaces_its_reservation_by_its_real_usage() -> None:
    clock = ManualClock(NOON_S)
    gate = KeyGate(clock)
    key = _key(tpm=1000)
    chat = _chat(max_tokens=300)
    reserved = reserved_tokens(chat.prompt_tokens_estimate, 300)
    for _ in range(3):
        await gate.admit(key, chat, RoutingConstraints())
    gate.observe_decision(_finished(key.id, 0.0, NOON_S, (14, 80), chat))
    gate.observe_decision(_finished(key.id, 0.0, NOON_S, None, chat))  # failed: its whole reservation back
    await gate.flush()
    admission = await gate.admit(key, chat, RoutingConstraints())
    assert admission.headers["x-ratelimit-remaining-tokens"] == str(1000 - 2 * reserved - 94)
    assert reserved_tokens(chat.prompt_tokens_estimate, None) == \
        chat.prompt_tokens_estimate + DEFAULT_COMPLETION_RESERVE_TOKENS
    clock.advance(60)
    gate.observe_decision(_finished(key.id, 0.0, NOON_S, (14, 80), chat))  # finished in the next window
    await gate.flush()
    window = await gate.counters.take(key.id, NOON_S + 60, 0, 0, {})
    assert window.tokens == 94, "the reservation stays in the window that turned; the real usage counts now"


async def test_a_request_larger_than_the_tpm_goes_through_an_empty_window_only() -> None:
    clock = ManualClock(NOON_S)
    gate = KeyGate(clock)
    key = _key(tpm=100)
    await gate.admit(key, _chat(max_tokens=500), RoutingConstraints())
    with pytest.raises(RateLimitedError, match="100 tokens per minute"):
        await gate.admit(key, _chat(max_tokens=1), RoutingConstraints())
    clock.advance(60)
    await gate.admit(key, _chat(max_tokens=1), RoutingConstraints())


async def test_a_spent_budget_gives_insufficient_quota_until_the_period_turns() -> None:
    clock = ManualClock(NOON_S)
    gate = KeyGate(clock)
    key = _key(budget_usd={BudgetPeriod.DAY: 1.0, BudgetPeriod.MONTH: 10.0})
    budget = (await gate.admit(key, _chat(), RoutingConstraints())).budget
    assert budget is not None
    assert budget.left_usd == 1.0
    gate.observe_decision(_finished(key.id, 0.7, NOON_S))
    await gate.flush()
    budget = (await gate.admit(key, _chat(), RoutingConstraints())).budget
    assert budget is not None
    assert budget.period is BudgetPeriod.DAY
    assert budget.left_usd == pytest.approx(0.3)
    gate.observe_decision(_finished(key.id, 0.3, NOON_S))
    await gate.flush()
    with pytest.raises(QuotaExceededError) as refused:
        await gate.admit(key, _chat(), RoutingConstraints())
    assert refused.value.code == "insufficient_quota"
    clock.advance(24 * 3600)
    spent = await gate.spent_usd(key.id)
    assert spent[BudgetPeriod.DAY] == 0.0
    assert spent[BudgetPeriod.MONTH] == pytest.approx(1.0)
    await gate.admit(key, _chat(), RoutingConstraints())


async def test_spend_loaded_at_start_counts_toward_the_budget() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(budget_usd={BudgetPeriod.MONTH: 5.0})
    await gate.seed_spend(BudgetPeriod.MONTH, datetime(2026, 12, 1, tzinfo=UTC).timestamp(), {key.id: 5.0})
    with pytest.raises(QuotaExceededError):
        await gate.admit(key, _chat(), RoutingConstraints())


async def test_voice_sessions_are_limited_per_key() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(max_voice_sessions=1)
    lease = await gate.open_voice_session(key)
    assert lease is not None
    assert await gate.open_voice_session(key) is None
    await gate.close_voice_session(lease)
    assert await gate.open_voice_session(key) is not None
    assert await gate.open_voice_session(_key(max_voice_sessions=1, rpm=3)) is None, "the same key id"
    assert await gate.open_voice_session(None) is NO_LEASE
    assert await gate.open_voice_session(_key()) is NO_LEASE, "no limit: nothing to count"


async def test_usage_not_yet_written_to_the_counters_still_counts_on_this_replica() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(budget_usd={BudgetPeriod.DAY: 1.0})
    gate.observe_decision(_finished(key.id, 0.6, NOON_S))
    assert (await gate.counters.take(key.id, NOON_S, 0, 0, {BudgetPeriod.DAY: NOON_S})).spent_usd == {
        BudgetPeriod.DAY: 0.0}, "queued, not written"
    admission = await gate.admit(key, _chat(), RoutingConstraints())
    assert admission.budget_left_usd == pytest.approx(0.4)
    gate.observe_spend(key.id, 0.4, NOON_S)  # speech seconds
    with pytest.raises(QuotaExceededError):
        await gate.admit(key, _chat(), RoutingConstraints())
    await gate.flush()
    assert (await gate.spent_usd(key.id))[BudgetPeriod.DAY] == pytest.approx(1.0), "written once, counted once"


async def test_a_spend_that_leaves_less_than_itself_is_written_before_the_answer() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    admission = await gate.admit(_key(budget_usd={BudgetPeriod.DAY: 1.0}), _chat(), RoutingConstraints())
    assert not gate.settles_first(admission, 0.4), "0.6 left: another such request still fits"
    assert gate.settles_first(admission, 0.5)
    assert gate.settles_first(admission, 2.0)
    assert not gate.settles_first(admission, None)
    unlimited = await gate.admit(_key(rpm=10), _chat(), RoutingConstraints())
    assert unlimited.budget_left_usd is None
    assert not gate.settles_first(unlimited, 5.0)


async def test_audio_requests_are_held_to_budgets_and_rpm_but_not_model_lists() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(rpm=1, models=("m",), budget_usd={BudgetPeriod.DAY: 1.0})
    admission = await gate.admit_speech(key)
    assert admission.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(RateLimitedError):
        await gate.admit_speech(key)
    gate.observe_spend(key.id, 1.0, NOON_S)
    with pytest.raises(QuotaExceededError):
        await gate.admit_speech(_key(budget_usd={BudgetPeriod.DAY: 1.0}))


async def test_a_voice_sessions_decision_reserves_nothing_and_counts_its_real_usage() -> None:
    gate = KeyGate(ManualClock(NOON_S))
    key = _key(tpm=10_000)
    admission = await gate.admit(key, _chat(), RoutingConstraints(), reserve=False)
    assert admission.headers["x-ratelimit-remaining-tokens"] == "10000"
    session = _finished(key.id, 0.0, NOON_S, (300, 200))
    session.request = {"kind": "voice_session", "route": "native_audio"}
    gate.observe_decision(session)
    await gate.flush()
    window = await gate.counters.take(key.id, NOON_S, 0, 0, {})
    assert window.tokens == 500
