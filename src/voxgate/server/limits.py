"""What a virtual key may do right now: allow-lists, budgets, rate limits and voice sessions.

`KeyGate.admit` runs before routing. In order it refuses a request
- outside the key's `models`/`profiles` (403, naming what the key may use);
- past a day or month budget (429 `insufficient_quota`);
- past the key's requests or tokens per minute (429 `rate_limit_exceeded`, `retry-after`);
and otherwise returns the key's tightest budget (the routing policy prefers cheaper models near
it) and OpenAI's `x-ratelimit-*` headers. `admit_speech` does the same for the audio routes
(budgets and RPM; no tokens, no allow-lists: the speech engines are not catalog models).

A request is counted in its window when admitted; its tokens when it finishes (its usage), the
TPM check adding its prompt estimate to the window's count. With Redis the count is the one round
trip before the answer, and the chat route runs it beside parsing and routing (`count_request`,
then `judge`).

Usage is written after the answer, not before it. `observe_decision` (a dispatcher observer) and
`observe_spend` (speech seconds) queue each request's cost and tokens; the request writes the
queue once its answer is out (`flush` as the response's background task; one pipeline for every
update queued meanwhile), except when `settles_first` says its spend leaves the key less than
that spend again of some budget: then the write comes before the answer ends, so the key's next
request is refused on every replica. `run_writer` sweeps up anything left queued (voice turns,
cascades) within two ticks of `USAGE_SWEEP_S`. Until written, queued USD still counts on this
replica (`_unsettled_usd` is added to what the counters report at admission).

The counts live in a `server/counters.Counters`: this process's, or Redis's, shared by every
replica (with fail-open): with Redis a keyed request costs one round trip before its answer (the
admission script), and its usage shares one pipeline with whatever else was queued. Windows are
fixed and one minute long; budgets start from the spend table (`seed_spend`). A request admitted
while another of the same key is in flight (or, on another replica, within the few ms before the
other's usage is written) may overshoot a budget by that request's cost. Voice session slots are
leases in a `server/voice_slots.VoiceSlots`: this process's, or Redis's, shared by every replica.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import anyio

from voxgate.core.clock import Clock
from voxgate.core.errors import PermissionDeniedError, QuotaExceededError, RateLimitedError, RequestError
from voxgate.core.keys import BudgetPeriod, BudgetStatus, VirtualKey, period_start_s
from voxgate.core.types import ChatRequest, JSONObject, RoutingConstraints
from voxgate.routing.decision import Decision
from voxgate.server.counters import Counters, LocalCounters, Tally, UsageUpdate
from voxgate.server.voice_slots import NO_LEASE, LocalVoiceSlots, VoiceLease, VoiceSlots

WINDOW_S = 60.0
USAGE_SWEEP_S = 0.2


@dataclass(frozen=True)
class CountedRequest:
    """A request counted in its key's window (`requests`: 1, or 0 for a look) and what Redis said."""

    tally: Tally
    window_start_s: float
    at_s: float
    requests: int


@dataclass(frozen=True)
class Admission:
    """An admitted request: its constraints narrowed to the key's models, budget, headers."""

    key_id: str | None
    constraints: RoutingConstraints
    budget: BudgetStatus | None = None
    headers: dict[str, str] = field(default_factory=dict)
    budget_left_usd: float | None = None
    """The least USD left in any of the key's budgets at admission (None: no budget)."""


def _reset(seconds: float) -> str:
    return f"{max(0, math.ceil(seconds))}s"


class KeyGate:
    """Admission and accounting for virtual keys; requests without one pass untouched."""

    def __init__(self, clock: Clock, window_s: float = WINDOW_S, counters: Counters | None = None,
                 on_refusal: Callable[[str, str], None] | None = None, voice_slots: VoiceSlots | None = None) -> None:
        self._clock = clock
        self._window_s = window_s
        self.counters: Counters = counters or LocalCounters()
        self._on_refusal = on_refusal
        self.voice_slots: VoiceSlots = voice_slots or LocalVoiceSlots()
        self._usage: list[UsageUpdate] = []
        self._unsettled_usd: dict[str, float] = {}
        self._swept: UsageUpdate | None = None

    def _period_starts(self, now_s: float) -> dict[BudgetPeriod, float]:
        return {period: period_start_s(period, now_s) for period in BudgetPeriod}

    def _window_start_s(self, now_s: float) -> float:
        return now_s - now_s % self._window_s

    async def spent_usd(self, key_id: str) -> dict[BudgetPeriod, float]:
        """USD the key has spent this UTC day and this month."""
        now_s = self._clock.wall_s()
        tally = await self.counters.take(key_id, self._window_start_s(now_s), 0, 0, self._period_starts(now_s))
        return self._with_unsettled(key_id, tally).spent_usd

    def _with_unsettled(self, key_id: str, tally: Tally) -> Tally:
        """The counters' tally plus this replica's USD not yet written to them."""
        unsettled_usd = self._unsettled_usd.get(key_id, 0.0)
        if not unsettled_usd:
            return tally
        return replace(tally, spent_usd={period: usd + unsettled_usd for period, usd in tally.spent_usd.items()})

    def _tightest_budget(self, key: VirtualKey, tally: Tally) -> BudgetStatus | None:
        """The budget with the smallest share left, or None when the key has none."""
        statuses = [BudgetStatus(key.id, period, limit_usd, tally.spent_usd.get(period, 0.0))
                    for period, limit_usd in key.policy.budget_usd.items()]
        return min(statuses, key=lambda s: (s.left_fraction, s.left_usd), default=None)

    async def admit(self, key: VirtualKey | None, chat: ChatRequest, constraints: RoutingConstraints,
                    *, count: bool = True) -> Admission:
        """Check a request against its key. `count` False (the explain route): nothing is counted
        and rate limits do not refuse; allow-lists and budgets still do."""
        if key is None:
            return Admission(None, constraints)
        try:
            allowed = _within_allow_lists(key, chat.requested_model, constraints)
            return await self._admit(key, chat.prompt_tokens_estimate, allowed, count=count)
        except RequestError as exc:
            self._refused(key, exc)
            raise

    async def admit_speech(self, key: VirtualKey | None) -> Admission:
        """Check an audio request (`/v1/audio/*`) against its key's budgets and RPM, and count it."""
        if key is None:
            return Admission(None, RoutingConstraints())
        try:
            return await self._admit(key, 0, RoutingConstraints(), count=True)
        except RequestError as exc:
            self._refused(key, exc)
            raise

    async def admit_session(self, key: VirtualKey | None) -> None:
        """Refuse a voice session (a phone call) under a key past a budget (429 `insufficient_quota`);
        nothing is counted: each turn is admitted as a request."""
        if key is not None:
            try:
                await self._admit(key, 0, RoutingConstraints(), count=False)
            except RequestError as exc:
                self._refused(key, exc)
                raise

    def _refused(self, key: VirtualKey, exc: RequestError) -> None:
        if self._on_refusal is not None:
            self._on_refusal(key.id, exc.code or "refused")

    async def count_request(self, key: VirtualKey, requests: int = 1) -> CountedRequest:
        """Count a request in the key's window and read its budgets: the admission's one round trip.
        It needs nothing from the body (a request's tokens come with its usage), so the route runs it
        beside parsing and routing, then `judge`s."""
        now_s = self._clock.wall_s()
        window_start_s = self._window_start_s(now_s)
        tally = await self.counters.take(key.id, window_start_s, requests, 0, self._period_starts(now_s))
        return CountedRequest(self._with_unsettled(key.id, tally), window_start_s, now_s, requests)

    async def give_back(self, key: VirtualKey, counted: CountedRequest) -> None:
        """A request refused or malformed after `count_request` takes nothing from the window."""
        if counted.requests:
            await self.counters.take(key.id, counted.window_start_s, -counted.requests, 0, {})

    def allowed(self, key: VirtualKey, chat: ChatRequest, constraints: RoutingConstraints) -> RoutingConstraints:
        """The constraints narrowed to the key's models; 403 outside its models/profiles."""
        try:
            return _within_allow_lists(key, chat.requested_model, constraints)
        except RequestError as exc:
            self._refused(key, exc)
            raise

    async def judge(self, key: VirtualKey, counted: CountedRequest, prompt_tokens: int,
                    constraints: RoutingConstraints) -> Admission:
        """The verdict on a counted request: 429 past a budget or a rate (the count given back)."""
        try:
            return self._verdict(key, counted, prompt_tokens, constraints)
        except RequestError as exc:
            await self.give_back(key, counted)
            self._refused(key, exc)
            raise

    async def _admit(self, key: VirtualKey, prompt_tokens: int, constraints: RoutingConstraints, *,
                     count: bool) -> Admission:
        counted = await self.count_request(key, 1 if count else 0)
        try:
            return self._verdict(key, counted, prompt_tokens, constraints)
        except RequestError:
            await self.give_back(key, counted)
            raise

    def _verdict(self, key: VirtualKey, counted: CountedRequest, prompt_tokens: int,
                 constraints: RoutingConstraints) -> Admission:
        tally = counted.tally
        budget = self._tightest_budget(key, tally)
        if budget is not None and budget.left_usd <= 0:
            raise QuotaExceededError(
                f"key {key.name} ({key.id}) has spent its {budget.period.value} budget of "
                f"${budget.limit_usd:.2f} (${budget.spent_usd:.4f} used); it resets at the start of the next "
                f"UTC {budget.period.value}.", code="insufficient_quota")
        reset_s = counted.window_start_s + self._window_s - counted.at_s
        headers = self._check_rates(key, tally, prompt_tokens, reset_s, count=bool(counted.requests))
        left_usd = min((limit_usd - tally.spent_usd.get(period, 0.0)
                        for period, limit_usd in key.policy.budget_usd.items()), default=None)
        return Admission(key.id, constraints, budget, headers, left_usd)

    def _check_rates(self, key: VirtualKey, tally: Tally, tokens: int, reset_s: float, *, count: bool
                     ) -> dict[str, str]:
        """The x-ratelimit-* headers; RateLimitedError when this request (counted in `tally`'s requests;
        its `tokens` not yet in the window: they come with its usage) is over."""
        rpm, tpm = key.policy.rpm, key.policy.tpm
        tokens_before = tally.tokens
        headers: dict[str, str] = {}
        if rpm is not None:
            headers |= {"x-ratelimit-limit-requests": str(rpm), "x-ratelimit-reset-requests": _reset(reset_s),
                        "x-ratelimit-remaining-requests": str(max(0, rpm - tally.requests))}
        if tpm is not None:
            headers |= {"x-ratelimit-limit-tokens": str(tpm), "x-ratelimit-reset-tokens": _reset(reset_s),
                        "x-ratelimit-remaining-tokens": str(max(0, tpm - tally.tokens - (tokens if count else 0)))}
        over = None
        if rpm is not None and tally.requests > rpm:
            over = f"{rpm} requests per minute"
        elif tpm is not None and tokens_before + tokens > tpm and tokens_before > 0:
            over = f"{tpm} tokens per minute ({tokens_before} used, this request needs about {tokens})"
        if over is not None and count:
            headers["retry-after"] = str(max(1, math.ceil(reset_s)))
            raise RateLimitedError(f"key {key.name} ({key.id}) is over its limit of {over}; retry in "
                                   f"{headers['retry-after']} s.", retry_after_s=reset_s, headers=headers,
                                   code="rate_limit_exceeded")
        return headers

    def observe_decision(self, decision: Decision) -> None:
        """Queue a finished decision's cost and tokens for its key (a dispatcher observer)."""
        if decision.key_id is None or (not decision.cost_usd and not decision.usage):
            return
        usage = decision.usage or {}
        used = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        now_s = self._clock.wall_s()
        self._queue(UsageUpdate(decision.key_id, self._window_start_s(now_s), used, decision.cost_usd or 0.0,
                                self._period_starts(decision.created_at)))

    def observe_spend(self, key_id: str, cost_usd: float, created_at: float) -> None:
        """Queue USD a key spent outside a decision (speech engines) for its budgets."""
        if cost_usd > 0:
            now_s = self._clock.wall_s()
            self._queue(UsageUpdate(key_id, self._window_start_s(now_s), 0, cost_usd, self._period_starts(created_at)))

    def _queue(self, update: UsageUpdate) -> None:
        self._usage.append(update)
        self._unsettled_usd[update.key_id] = self._unsettled_usd.get(update.key_id, 0.0) + update.cost_usd

    def settles_first(self, admission: Admission, cost_usd: float | None) -> bool:
        """Whether a request's usage must be written before its answer ends: its spend leaves the key
        less than that spend again of a budget (so the next request, on any replica, may be refused)."""
        if admission.budget_left_usd is None or not cost_usd:
            return False
        return admission.budget_left_usd - cost_usd <= cost_usd

    async def flush(self) -> None:
        """Add queued usage to the counters now: one round trip for all of it."""
        usage, self._usage = self._usage, []
        if not usage:
            return
        try:
            await self.counters.add_usage(usage)
        finally:
            for update in usage:
                left_usd = self._unsettled_usd.get(update.key_id, 0.0) - update.cost_usd
                if left_usd > 1e-12:
                    self._unsettled_usd[update.key_id] = left_usd
                else:
                    self._unsettled_usd.pop(update.key_id, None)

    async def settled_stream(self, chunks: AsyncIterator[JSONObject], admission: Admission,
                             decision: Decision) -> AsyncIterator[JSONObject]:
        """A keyed stream's chunks; at their end its usage is written first if `settles_first` says so
        (then `[DONE]` comes after the spend is counted). Closing this closes `chunks` too (the
        dispatcher records a cancelled stream then)."""
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
        if self.settles_first(admission, decision.cost_usd):
            await self.flush()

    async def run_writer(self) -> None:
        """Every `USAGE_SWEEP_S`, write usage that was already queued at the last sweep (what no request
        wrote itself: voice turns, cascades, a request that failed); run it in the gateway's task
        group, cancel it at shutdown."""
        while True:
            await asyncio.sleep(USAGE_SWEEP_S)
            oldest = self._usage[0] if self._usage else None
            if oldest is not None and oldest is self._swept:
                await self.flush()
                oldest = None
            self._swept = oldest

    async def seed_spend(self, period: BudgetPeriod, since_s: float, totals: dict[str, float]) -> None:
        """Start the budget counters of the period that began at `since_s` (from the spend table)."""
        await self.counters.seed_spend(period, since_s, totals)

    async def open_voice_session(self, key: VirtualKey | None) -> VoiceLease | None:
        """Take one of the key's concurrent voice sessions (`NO_LEASE` without a limit); None when all
        are in use, on any replica sharing the slots."""
        limit = None if key is None else key.policy.max_voice_sessions
        if key is None or limit is None:
            return NO_LEASE
        lease = await self.voice_slots.open(key.id, limit)
        if lease is None and self._on_refusal is not None:
            self._on_refusal(key.id, "voice_session_limit")
        return lease

    async def close_voice_session(self, lease: VoiceLease) -> None:
        """Give a session's slot back (however the session ended)."""
        if lease is not NO_LEASE:
            await self.voice_slots.close(lease)


def _within_allow_lists(key: VirtualKey, model: str, constraints: RoutingConstraints) -> RoutingConstraints:
    """403 outside the key's models/profiles; else the constraints with candidates narrowed to them."""
    allowed_models, allowed_profiles = key.policy.models, key.policy.profiles
    may_use = ", ".join([*(allowed_profiles or ["any profile"]), *(allowed_models or ["any model"])])
    is_profile = model.startswith("auto")
    if (is_profile and allowed_profiles is not None and model not in allowed_profiles) or (
        not is_profile and allowed_models is not None and model not in allowed_models
    ):
        raise PermissionDeniedError(f"key {key.name} may not use {model!r}; it may use: {may_use}.",
                                    param="model", code="model_not_allowed")
    if allowed_models is None:
        return constraints
    asked = constraints.models
    outside = [m for m in asked or () if m not in allowed_models]
    if outside:
        raise PermissionDeniedError(f"key {key.name} may not use {outside}; it may use: {may_use}.",
                                    param="routing.models", code="model_not_allowed")
    return replace(constraints, models=tuple(asked if asked is not None else allowed_models))
