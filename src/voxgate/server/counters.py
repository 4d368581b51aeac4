"""The counts behind virtual keys' limits: requests and tokens per one-minute window, USD per
budget period. `KeyGate` (server/limits) decides; a `Counters` only counts.

- `LocalCounters`: in this process (the default; one replica).
- `RedisCounters`: in Redis (`redis: redis://...` in the catalog, through `server/resp`'s small
  RESP client: a keyed request's two calls are its hottest Redis traffic), shared by every replica. A
  request is admitted with one round trip: one Lua script (`ADMIT_SCRIPT`) that checks every
  window it is counted in (the key's, the chosen model's) against its RPM and TPM and the key's
  budgets, and takes the request and its token reservation from all of them or from none, so the
  check is atomic across replicas: with RPM 60, at most 60 requests a window succeed; with TPM N,
  the reservations admitted in a window add up to at most N (one request larger than N alone goes
  through an empty window). Usage is added in batches, one pipeline each (`add_usage`).
- `FailoverCounters`: Redis while it answers; when it fails (unreachable, no reply within 0.5 s, a
  connection closed mid-reply, an error reply), **fail open**: the local counters
  take over (limits then hold per replica), `voxgate_redis_up` drops to 0, one error is logged,
  and Redis is tried again every `retry_s`. Usage recorded meanwhile is kept (bounded) and
  added to Redis when it is back, so budgets catch up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from voxgate.core.clock import Clock
from voxgate.core.keys import BudgetPeriod
from voxgate.routing.decision import Decision
from voxgate.server.resp import Command, LuaScript, RedisAddress, RedisReplyError, RespClient, as_float, as_int

log = logging.getLogger("voxgate.counters")
_T = TypeVar("_T")
PREFIX = "voxgate:"
MAX_QUEUED_USAGE = 10_000
REDIS_TIMEOUT_S = 0.5
SPEND_TTL_S = {BudgetPeriod.DAY: 3 * 86_400, BudgetPeriod.MONTH: 40 * 86_400}
ADMIT_SCRIPT = """
local n, m, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local reply, over, broke = {0, 0}, 0, 0
for i = 1, n + m do
  local got = redis.call('HMGET', KEYS[i], 'requests', 'tokens')
  local r, t = tonumber(got[1] or 0), math.max(0, tonumber(got[2] or 0))
  if i <= n and over == 0 then
    local a = 4 * i
    local dr, dt, rpm, tpm = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    if dr > 0 and ((rpm >= 0 and r + dr > rpm) or (tpm >= 0 and t > 0 and t + dt > tpm)) then over = i end
  end
  reply[2 * i + 1], reply[2 * i + 2] = r, t
end
local s = 4 * n + 3
for j = 1, #KEYS - n - m do
  local usd = redis.call('GET', KEYS[n + m + j])
  reply[2 * (n + m) + 2 + j] = usd
  if broke == 0 and ARGV[s + j] ~= '' and tonumber(usd or 0) >= tonumber(ARGV[s + j]) then broke = j end
end
if over == 0 and broke == 0 then
  for i = 1, n do
    reply[2 * i + 1] = redis.call('HINCRBY', KEYS[i], 'requests', ARGV[4 * i])
    reply[2 * i + 2] = redis.call('HINCRBY', KEYS[i], 'tokens', ARGV[4 * i + 1])
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
reply[1], reply[2] = over, broke
return reply
"""
"""One admission (see `RedisCounters.admit`): KEYS = the n windows taken, the m windows looked at, the
spend counters; ARGV = n, m, the windows' TTL, (requests, tokens, rpm, tpm) per taken window (-1: no
limit), the USD at which each spend counter refuses ('' : none). The reply is [over, broke, then
(requests, tokens) per window, then each spend counter's USD]: `over` the first taken window a limit
refuses, `broke` the first spend counter at its limit (1-based; 0: none); nothing is taken unless both
are 0. Then the counts are after the take, else as they stand. `first_over` is the same rule."""
_ADMIT = LuaScript(ADMIT_SCRIPT)
DEFAULT_COMPLETION_RESERVE_TOKENS = 256
"""Completion tokens reserved at admission for a request that sets neither max_tokens nor
max_completion_tokens (its real usage replaces the reservation when it finishes)."""


def reserved_tokens(prompt_tokens_estimate: int, max_tokens: int | None) -> int:
    """The tokens a request reserves in its rate-limit windows at admission: its prompt estimate plus
    its max_tokens (or `DEFAULT_COMPLETION_RESERVE_TOKENS`)."""
    completion_tokens = DEFAULT_COMPLETION_RESERVE_TOKENS if max_tokens is None else max_tokens
    return max(0, prompt_tokens_estimate) + completion_tokens


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


def reconciled_tokens(decision: Decision, same_window: bool) -> int:
    """What a finished request adds to the window it was admitted in: its real tokens less those it
    reserved (`same_window`), or, once that window has turned, its real tokens to the new one. A request
    that failed (no usage) gives its whole reservation back."""
    usage = decision.usage or {}
    used = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
    request = decision.request
    if not same_window or "prompt_tokens_estimate" not in request:  # a voice session's decision reserved none
        return used
    return used - reserved_tokens(int(request["prompt_tokens_estimate"]), request.get("max_tokens"))


@dataclass(frozen=True)
class WindowTake:
    """One window an admitted request is counted in (a key's id, or `model:<id>`), and its limits."""

    counter_id: str
    requests: int
    tokens: int
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class BudgetCheck:
    """A spend counter read at admission; the request is refused once it reaches `refuse_at_usd`."""

    period: BudgetPeriod
    start_s: float
    refuse_at_usd: float | None = None


@dataclass(frozen=True)
class Admitted:
    """What one admission found: `over`, the index of the first taken window a limit refuses; `broke`,
    the first budget spent. Nothing was taken unless both are None; `windows` are then the counts after
    the take, else as they stand (taken windows first, then those looked at)."""

    over: int | None
    broke: BudgetPeriod | None
    windows: tuple[tuple[int, int], ...]
    spent_usd: dict[BudgetPeriod, float]

    @property
    def taken(self) -> bool:
        return self.over is None and self.broke is None


def first_over(takes: Sequence[WindowTake], counts: Sequence[tuple[int, int]]) -> int | None:
    """The first window that cannot take its request now (`counts`: before it), as `ADMIT_SCRIPT` decides:
    past the RPM, or past the TPM with tokens already in the window (one request larger than the TPM
    goes through an empty window). A window taking no request (a look, a give-back) is never over."""
    for index, (take, (requests, tokens)) in enumerate(zip(takes, counts, strict=True)):
        if take.requests <= 0:
            continue
        if take.rpm is not None and requests + take.requests > take.rpm:
            return index
        if take.tpm is not None and tokens > 0 and tokens + take.tokens > take.tpm:
            return index
    return None


class Counters(Protocol):
    async def admit(self, window_start_s: float, takes: Sequence[WindowTake], looks: Sequence[str],
                    spend_id: str | None, budgets: Sequence[BudgetCheck]) -> Admitted: ...

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

    async def admit(self, window_start_s: float, takes: Sequence[WindowTake], looks: Sequence[str],
                    spend_id: str | None, budgets: Sequence[BudgetCheck]) -> Admitted:
        budgets = budgets if spend_id else ()
        spent = {b.period: self._spend(spend_id, b.period, b.start_s) for b in budgets} if spend_id else {}
        broke = next((b.period for b in budgets
                      if b.refuse_at_usd is not None and spent.get(b.period, 0.0) >= b.refuse_at_usd), None)
        counts = [self._window(take.counter_id, window_start_s) for take in takes]
        over = first_over(takes, counts)
        if over is None and broke is None:
            for index, take in enumerate(takes):
                tally = await self.take(take.counter_id, window_start_s, take.requests, take.tokens, {})
                counts[index] = (tally.requests, tally.tokens)
        looked = [self._window(counter_id, window_start_s) for counter_id in looks]
        return Admitted(over, broke, (*counts, *looked), spent)

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
    """The same counts in Redis, through `server/resp.RespClient` (RESP on asyncio streams: the two
    calls of each keyed request are its hottest Redis traffic); every call is one round trip: a script
    (EVALSHA; EVAL once per server) or a pipeline."""

    def __init__(self, client: RespClient, window_s: float) -> None:
        self._redis = client
        self._window_ttl_s = int(window_s * 2) + 1

    async def admit(self, window_start_s: float, takes: Sequence[WindowTake], looks: Sequence[str],
                    spend_id: str | None, budgets: Sequence[BudgetCheck]) -> Admitted:
        """The whole admission in one round trip (`ADMIT_SCRIPT`)."""
        spends = [_spend_key(spend_id, b.period, b.start_s) for b in budgets] if spend_id else []
        keys = [*(_window_key(t.counter_id, window_start_s) for t in takes),
                *(_window_key(counter_id, window_start_s) for counter_id in looks), *spends]
        args: list[int | float | str] = [len(takes), len(looks), self._window_ttl_s]
        for t in takes:
            args += [t.requests, t.tokens, -1 if t.rpm is None else t.rpm, -1 if t.tpm is None else t.tpm]
        args += ["" if b.refuse_at_usd is None else b.refuse_at_usd for b in budgets] if spend_id else []
        reply = await self._redis.evalsha(_ADMIT, keys, args)
        windows = len(takes) + len(looks)
        if not isinstance(reply, list) or len(reply) != 2 + 2 * windows + len(spends):
            raise RedisReplyError(f"the admission script answered {reply!r:.80}")
        counts = tuple((as_int(reply[2 + 2 * i]), max(0, as_int(reply[3 + 2 * i]))) for i in range(windows))
        usd = reply[2 + 2 * windows:]
        spent = {b.period: as_float(raw) for b, raw in zip(budgets, usd, strict=True)} if spend_id else {}
        over, broke = as_int(reply[0]), as_int(reply[1])
        return Admitted(over - 1 if over else None, budgets[broke - 1].period if broke else None, counts, spent)

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        """A window moved by (requests, tokens) whatever its limits, and the key's spend: one admission."""
        budgets = [BudgetCheck(period, start_s) for period, start_s in period_starts.items()]
        admitted = await self.admit(window_start_s, (WindowTake(key_id, requests, tokens),), (), key_id, budgets)
        (requests_now, tokens_now), = admitted.windows
        return Tally(requests_now, tokens_now, admitted.spent_usd)

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        commands: list[Command] = []
        for update in updates:
            if update.tokens:
                window = _window_key(update.key_id, update.window_start_s)
                commands += [("HINCRBY", window, "tokens", update.tokens), ("EXPIRE", window, self._window_ttl_s)]
            for period, start_s in update.period_starts.items():
                spend = _spend_key(update.key_id, period, start_s)
                commands += [("INCRBYFLOAT", spend, update.cost_usd), ("EXPIRE", spend, SPEND_TTL_S[period])]
        if commands:
            await self._redis.execute(*commands)

    async def seed_spend(self, period: BudgetPeriod, start_s: float, totals: Mapping[str, float]) -> None:
        """Counters another replica already keeps win (SET NX): the spend table is the same one."""
        if totals:
            await self._redis.execute(*(("SET", _spend_key(key_id, period, start_s), float(usd), "NX", "EX",
                                         SPEND_TTL_S[period]) for key_id, usd in totals.items()))

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

    async def _ask_shared(self, ask: Callable[[], Awaitable[_T]]) -> tuple[bool, _T | None]:
        """Redis's answer to `ask` while it is usable: (True, the answer); (False, None) when it is down,
        or fails now (then it counts as down, and is tried again after `retry_s`)."""
        if not self._usable():
            return False, None
        try:
            answer = await ask()
        except self._errors as exc:
            self._failed(exc)
            return False, None
        await self._recovered()
        return True, answer

    async def admit(self, window_start_s: float, takes: Sequence[WindowTake], looks: Sequence[str],
                    spend_id: str | None, budgets: Sequence[BudgetCheck]) -> Admitted:
        """Redis's verdict while it answers (what it took is mirrored in the local counts, which serve
        alone while it fails)."""
        answered, admitted = await self._ask_shared(
            lambda: self._shared.admit(window_start_s, takes, looks, spend_id, budgets))
        if not answered:
            return await self._local.admit(window_start_s, takes, looks, spend_id, budgets)
        assert admitted is not None
        if admitted.taken:
            for take in takes:
                await self._local.take(take.counter_id, window_start_s, take.requests, take.tokens, {})
        return admitted

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        local = await self._local.take(key_id, window_start_s, requests, tokens, period_starts)
        answered, tally = await self._ask_shared(
            lambda: self._shared.take(key_id, window_start_s, requests, tokens, period_starts))
        return tally if answered and tally is not None else local

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        await self._local.add_usage(updates)
        if not updates:
            return
        answered, _ = await self._ask_shared(lambda: self._shared.add_usage(updates))
        if not answered:
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
    """Counters in the Redis at `url`, failing open to local ones (`redis: redis://host:6379/0`): an
    unreachable or slow Redis (`OSError`) and an error reply (`RedisReplyError`) alike."""
    client = RespClient(RedisAddress.parse(url), timeout_s=REDIS_TIMEOUT_S)
    return FailoverCounters(RedisCounters(client, window_s), clock, on_health, errors=(RedisReplyError, OSError))
