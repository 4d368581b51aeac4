"""The counts behind virtual keys' limits: requests and tokens per one-minute window, USD per
budget period. `KeyGate` (server/limits) decides; a `Counters` only counts.

- `LocalCounters`: in this process (the default; one replica).
- `RedisCounters`: in Redis (`redis: redis://...` in the catalog), shared by every replica. A
  request is counted with one round trip: one Lua script (`TAKE_SCRIPT`: HINCRBY on the window,
  GET of the budgets), so the count is atomic across replicas: with RPM 60, at most 60 requests a
  window succeed. Usage is added in batches, one pipeline each (`add_usage`).
- `FailoverCounters`: Redis while it answers; when it fails, **fail open**: the local counters
  take over (limits then hold per replica), `voxgate_redis_up` drops to 0, one error is logged,
  and Redis is tried again every `retry_s`. Usage recorded meanwhile is kept (bounded) and
  added to Redis when it is back, so budgets catch up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from voxgate.core.clock import Clock
from voxgate.core.keys import BudgetPeriod

log = logging.getLogger("voxgate.counters")
PREFIX = "voxgate:"
MAX_QUEUED_USAGE = 10_000
SPEND_TTL_S = {BudgetPeriod.DAY: 3 * 86_400, BudgetPeriod.MONTH: 40 * 86_400}
TAKE_SCRIPT = """
local requests = redis.call('HINCRBY', KEYS[1], 'requests', ARGV[1])
local tokens = redis.call('HINCRBY', KEYS[1], 'tokens', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local counts = {requests, tokens}
for i = 2, #KEYS do counts[i + 1] = redis.call('GET', KEYS[i]) end
return counts
"""
"""A window's counts moved by (requests, tokens), then each budget period's USD: KEYS = the window,
then the spend counters; the reply is [requests, tokens, usd-or-nil, ...]."""


@dataclass(frozen=True)
class Tally:
    """A key's counts after a `take`: this window's requests and tokens, each period's USD."""

    requests: int
    tokens: int
    spent_usd: dict[BudgetPeriod, float]


@dataclass(frozen=True)
class UsageUpdate:
    """What one finished request adds: tokens to its window (beyond those taken at admission), USD."""

    key_id: str
    window_start_s: float
    tokens: int
    cost_usd: float
    period_starts: Mapping[BudgetPeriod, float] = field(default_factory=dict)


class Counters(Protocol):
    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally: ...

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None: ...

    async def seed_spend(self, period: BudgetPeriod, start_s: float, totals: Mapping[str, float]) -> None: ...

    async def aclose(self) -> None: ...


class LocalCounters:
    """Counts in this process; old windows and periods are replaced as time moves on."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int, int]] = {}
        self._spent: dict[tuple[str, BudgetPeriod], tuple[float, float]] = {}

    def _window(self, key_id: str, start_s: float) -> tuple[int, int]:
        window = self._windows.get(key_id)
        return (window[1], window[2]) if window is not None and window[0] == start_s else (0, 0)

    def _spend(self, key_id: str, period: BudgetPeriod, start_s: float) -> float:
        counted = self._spent.get((key_id, period))
        return counted[1] if counted is not None and counted[0] == start_s else 0.0

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        used_requests, used_tokens = self._window(key_id, window_start_s)
        used_requests, used_tokens = used_requests + requests, max(0, used_tokens + tokens)
        self._windows[key_id] = (window_start_s, used_requests, used_tokens)
        spent = {period: self._spend(key_id, period, start_s) for period, start_s in period_starts.items()}
        return Tally(used_requests, used_tokens, spent)

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        for update in updates:
            await self.take(update.key_id, update.window_start_s, 0, update.tokens, {})
            for period, start_s in update.period_starts.items():
                base = self._spend(update.key_id, period, start_s)
                self._spent[(update.key_id, period)] = (start_s, base + update.cost_usd)

    async def seed_spend(self, period: BudgetPeriod, start_s: float, totals: Mapping[str, float]) -> None:
        for key_id, usd in totals.items():
            self._spent[(key_id, period)] = (start_s, usd)

    async def aclose(self) -> None:
        return None


def _window_key(key_id: str, start_s: float) -> str:
    return f"{PREFIX}win:{key_id}:{int(start_s)}"


def _spend_key(key_id: str, period: BudgetPeriod, start_s: float) -> str:
    return f"{PREFIX}spend:{key_id}:{period.value}:{int(start_s)}"


class RedisCounters:
    """The same counts in Redis (redis-py's asyncio client); every call is one round trip: a
    script (EVALSHA; loaded once per server) or a pipeline."""

    def __init__(self, client: Any, window_s: float) -> None:
        self._redis = client
        self._window_ttl_s = int(window_s * 2) + 1
        self._take = client.register_script(TAKE_SCRIPT)

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        periods = list(period_starts.items())
        keys = [_window_key(key_id, window_start_s), *(_spend_key(key_id, p, start_s) for p, start_s in periods)]
        replies = await self._take(keys=keys, args=[requests, tokens, self._window_ttl_s])
        spent = {period: float(raw or 0.0) for (period, _), raw in zip(periods, replies[2:], strict=True)}
        return Tally(int(replies[0]), max(0, int(replies[1])), spent)

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for update in updates:
                if update.tokens:
                    window = _window_key(update.key_id, update.window_start_s)
                    pipe.hincrby(window, "tokens", update.tokens)
                    pipe.expire(window, self._window_ttl_s)
                for period, start_s in update.period_starts.items():
                    spend = _spend_key(update.key_id, period, start_s)
                    pipe.incrbyfloat(spend, update.cost_usd)
                    pipe.expire(spend, SPEND_TTL_S[period])
            await pipe.execute()

    async def seed_spend(self, period: BudgetPeriod, start_s: float, totals: Mapping[str, float]) -> None:
        """Counters another replica already keeps win (SET NX): the spend table is the same one."""
        if not totals:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key_id, usd in totals.items():
                pipe.set(_spend_key(key_id, period, start_s), usd, nx=True, ex=SPEND_TTL_S[period])
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()


class FailoverCounters:
    """Redis first; the local counters while Redis fails (fail-open), with a health callback."""

    def __init__(self, shared: Counters, clock: Clock, on_health: Callable[[bool], None],
                 retry_s: float = 1.0, errors: tuple[type[BaseException], ...] = (OSError,)) -> None:
        self._shared = shared
        self._local = LocalCounters()
        self._clock = clock
        self._on_health = on_health
        self._retry_s = retry_s
        self._errors = errors
        self._down_since_s: float | None = None
        self._unsent: list[UsageUpdate] = []

    def _usable(self) -> bool:
        return self._down_since_s is None or self._clock.monotonic_s() - self._down_since_s >= self._retry_s

    def _failed(self, exc: BaseException) -> None:
        if self._down_since_s is None:
            log.error("redis unreachable (%s): failing open, limits now count per replica until it is back", exc)
            self._on_health(False)
        self._down_since_s = self._clock.monotonic_s()

    async def _recovered(self) -> None:
        if self._down_since_s is None:
            return
        self._down_since_s = None
        unsent, self._unsent = self._unsent, []
        log.warning("redis reachable again; %d usage updates made meanwhile added to it", len(unsent))
        self._on_health(True)
        await self.add_usage(unsent)

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        local = await self._local.take(key_id, window_start_s, requests, tokens, period_starts)
        if self._usable():
            try:
                tally = await self._shared.take(key_id, window_start_s, requests, tokens, period_starts)
            except self._errors as exc:
                self._failed(exc)
            else:
                await self._recovered()
                return tally
        return local

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        await self._local.add_usage(updates)
        if not updates:
            return
        if self._usable():
            try:
                await self._shared.add_usage(updates)
            except self._errors as exc:
                self._failed(exc)
            else:
                await self._recovered()
                return
        self._unsent = [*self._unsent, *updates][-MAX_QUEUED_USAGE:]

    async def seed_spend(self, period: BudgetPeriod, start_s: float, totals: Mapping[str, float]) -> None:
        await self._local.seed_spend(period, start_s, totals)
        try:
            await self._shared.seed_spend(period, start_s, totals)
        except self._errors as exc:
            self._failed(exc)

    async def aclose(self) -> None:
        await self._shared.aclose()


def redis_counters(url: str, clock: Clock, on_health: Callable[[bool], None], window_s: float) -> FailoverCounters:
    """Counters in the Redis at `url`, failing open to local ones (`redis: redis://host:6379/0`)."""
    import redis.asyncio as redis_asyncio
    from redis.exceptions import RedisError

    client = redis_asyncio.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return FailoverCounters(RedisCounters(client, window_s), clock, on_health, errors=(RedisError, OSError))
