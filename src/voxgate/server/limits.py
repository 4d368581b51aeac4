"""What a virtual key may do right now: allow-lists, budgets, rate limits and voice sessions.

`KeyGate.admit` runs before routing. In order it refuses a request
- outside the key's `models`/`profiles` (403, naming what the key may use);
- past a day or month budget (429 `insufficient_quota`);
- past the key's requests or tokens per minute (429 `rate_limit_exceeded`, `retry-after`);
and otherwise returns the key's tightest budget (the routing policy prefers cheaper models near
it) and OpenAI's `x-ratelimit-*` headers. `admit_speech` does the same for the audio routes
(budgets and RPM; no tokens, no allow-lists: the speech engines are not catalog models).

A request is counted in its window when admitted, with its tokens reserved (prompt estimate plus
max_tokens, `counters.reserved_tokens`): the check and the take are one atomic step (with Redis,
one script: the admission's one round trip before the answer), so concurrent requests cannot
overshoot the TPM together, and a refused request takes nothing. When it finishes its real usage
replaces the reservation (`counters.reconciled_tokens`, queued with its spend). The chat route
parses first (the reservation needs the body), then runs the count beside routing
(`count_request`, then `judge`; server/admission).

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
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace

import anyio

from voxgate.core.clock import Clock
from voxgate.core.errors import PermissionDeniedError, QuotaExceededError, RateLimitedError, RequestError
from voxgate.core.keys import BudgetPeriod, BudgetStatus, VirtualKey, period_start_s
from voxgate.core.types import ChatRequest, JSONObject, RoutingConstraints
from voxgate.routing.decision import Decision
from voxgate.server.counters import (
    Admitted,
    BudgetCheck,
    Counters,
    LocalCounters,
    Tally,
    UsageUpdate,
    WindowTake,
    reconciled_tokens,
    reserved_tokens,
)
from voxgate.server.voice_slots import NO_LEASE, LocalVoiceSlots, VoiceLease, VoiceSlots

WINDOW_S = 60.0
USAGE_SWEEP_S = 0.2


@dataclass(frozen=True)
class CountedRequest:
    """A request checked in its key's window (`requests`: 1, or 0 for a look) and what the counters
    said: the key's tally, and the whole admission (taken or not, which window refused)."""

    tally: Tally
    window_start_s: float
    at_s: float
    requests: int
    admitted: Admitted
    takes: tuple[WindowTake, ...]


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

    @property
    def counts_in_process(self) -> bool:
        """True with `LocalCounters`: counting is no round trip, so nothing is gained running it beside routing."""
        return isinstance(self.counters, LocalCounters)

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
                    *, count: bool = True, reserve: bool = True) -> Admission:
        """Check a request against its key and reserve its tokens (`reserve` False: a voice session's
        decision, whose usage is counted when it ends). `count` False (the explain route): nothing is
        counted and rate limits do not refuse; allow-lists and budgets still do."""
        if key is None:
            return Admission(None, constraints)
        try:
            allowed = _within_allow_lists(key, chat.requested_model, constraints)
            tokens = reserved_tokens(chat.prompt_tokens_estimate, chat.max_tokens) if reserve else 0
            return await self._admit(key, tokens, allowed, count=count)
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

    async def count_request(self, key: VirtualKey, tokens: int, requests: int = 1, *,
                            also: Sequence[WindowTake] = (), looks: Sequence[str] = ()) -> CountedRequest:
        """The admission's one round trip: check the key's window (RPM; TPM with `tokens` reserved) and
        budgets, and the windows in `also` (a model's), read those in `looks`; take the request from all
        of them, or, when one refuses, from none. The route runs it beside routing, then `judge`s."""
        now_s = self._clock.wall_s()
        window_start_s = self._window_start_s(now_s)
        takes = (WindowTake(key.id, requests, tokens if requests else 0, key.policy.rpm, key.policy.tpm), *also)
        unsettled_usd = self._unsettled_usd.get(key.id, 0.0)
        budgets = [BudgetCheck(period, start_s, None if (limit := key.policy.budget_usd.get(period)) is None
                               else limit - unsettled_usd)
                   for period, start_s in self._period_starts(now_s).items()]
        admitted = await self.counters.admit(window_start_s, takes, looks, key.id, budgets)
        requests_now, tokens_now = admitted.windows[0]
        tally = self._with_unsettled(key.id, Tally(requests_now, tokens_now, admitted.spent_usd))
        return CountedRequest(tally, window_start_s, now_s, requests, admitted, takes)

    async def give_back(self, key: VirtualKey, counted: CountedRequest) -> None:
        """A request that fails after `count_request` took it (say, no model can serve it) takes nothing
        from its windows."""
        if counted.admitted.taken and counted.requests:
            back = [replace(take, requests=-take.requests, tokens=-take.tokens) for take in counted.takes]
            await self.counters.admit(counted.window_start_s, back, (), None, ())

    def allowed(self, key: VirtualKey, chat: ChatRequest, constraints: RoutingConstraints) -> RoutingConstraints:
        """The constraints narrowed to the key's models; 403 outside its models/profiles."""
        try:
            return _within_allow_lists(key, chat.requested_model, constraints)
        except RequestError as exc:
            self._refused(key, exc)
            raise

    def judge(self, key: VirtualKey, counted: CountedRequest, constraints: RoutingConstraints) -> Admission:
        """The verdict on a counted request: 429 past a budget or the key's rate (nothing was taken)."""
        try:
            return self._verdict(key, counted, constraints)
        except RequestError as exc:
            self._refused(key, exc)
            raise

    async def _admit(self, key: VirtualKey, tokens: int, constraints: RoutingConstraints, *,
                     count: bool) -> Admission:
        counted = await self.count_request(key, tokens, 1 if count else 0)
        return self._verdict(key, counted, constraints)

    def _verdict(self, key: VirtualKey, counted: CountedRequest, constraints: RoutingConstraints) -> Admission:
        tally, broke = counted.tally, counted.admitted.broke
        if broke is not None:
            limit_usd = key.policy.budget_usd[broke]
            spent_usd = tally.spent_usd.get(broke, 0.0)
            raise QuotaExceededError(
                f"key {key.name} ({key.id}) has spent its {broke.value} budget of "
                f"${limit_usd:.2f} (${spent_usd:.4f} used); it resets at the start of the next "
                f"UTC {broke.value}.", code="insufficient_quota")
        reset_s = counted.window_start_s + self._window_s - counted.at_s
        headers = self._check_rates(key, counted, reset_s)
        left_usd = min((limit_usd - tally.spent_usd.get(period, 0.0)
                        for period, limit_usd in key.policy.budget_usd.items()), default=None)
        return Admission(key.id, constraints, self._tightest_budget(key, tally), headers, left_usd)

    def _check_rates(self, key: VirtualKey, counted: CountedRequest, reset_s: float) -> dict[str, str]:
        """The x-ratelimit-* headers (the counts include this request and its reserved tokens when it
        was taken); RateLimitedError when the key's window refused it."""
        rpm, tpm, tally = key.policy.rpm, key.policy.tpm, counted.tally
        headers: dict[str, str] = {}
        if rpm is not None:
            headers |= {"x-ratelimit-limit-requests": str(rpm), "x-ratelimit-reset-requests": _reset(reset_s),
                        "x-ratelimit-remaining-requests": str(max(0, rpm - tally.requests))}
        if tpm is not None:
            headers |= {"x-ratelimit-limit-tokens": str(tpm), "x-ratelimit-reset-tokens": _reset(reset_s),
                        "x-ratelimit-remaining-tokens": str(max(0, tpm - tally.tokens))}
        if counted.admitted.over != 0:
            return headers
        needs = counted.takes[0].tokens
        if rpm is not None and tally.requests + counted.requests > rpm:
            over = f"{rpm} requests per minute"
        else:
            over = f"{tpm} tokens per minute ({tally.tokens} used or reserved, this request needs about {needs})"
        headers["retry-after"] = str(max(1, math.ceil(reset_s)))
        raise RateLimitedError(f"key {key.name} ({key.id}) is over its limit of {over}; retry in "
                               f"{headers['retry-after']} s.", retry_after_s=reset_s, headers=headers,
                               code="rate_limit_exceeded")

    def observe_decision(self, decision: Decision) -> None:
        """Queue a finished decision's cost and tokens for its key (a dispatcher observer): its real
        usage replaces the tokens reserved at admission (`reconciled_tokens`)."""
        if decision.key_id is None:
            return
        now_s = self._clock.wall_s()
        window_start_s = self._window_start_s(now_s)
        tokens = reconciled_tokens(decision, self._window_start_s(decision.created_at) == window_start_s)
        if tokens or decision.cost_usd:
            self.queue_usage(UsageUpdate(decision.key_id, window_start_s, tokens, decision.cost_usd or 0.0,
                                    self._period_starts(decision.created_at)))

    def observe_spend(self, key_id: str, cost_usd: float, created_at: float) -> None:
        """Queue USD a key spent outside a decision (speech engines) for its budgets."""
        if cost_usd > 0:
            window_start_s = self._window_start_s(self._clock.wall_s())
            self.queue_usage(UsageUpdate(key_id, window_start_s, 0, cost_usd, self._period_starts(created_at)))

    def queue_usage(self, update: UsageUpdate) -> None:
        """Queue counts to write with the next `flush` (per-model windows' usage comes here too)."""
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
