"""Concurrent voice sessions per virtual key (`max_voice_sessions`), held as leases.

- `LocalVoiceSlots`: this process's (the default; one replica).
- `RedisVoiceSlots` (`redis:` in the catalog): a sorted set per key in Redis, shared by every
  replica; a member is one session's lease, its score the lease's expiry (unix seconds). One Lua
  script drops expired leases, counts and adds, so two replicas never both take the last slot.
  Each replica renews its sessions' leases every `lease_s / 3` (`run_renewals`, in the gateway's
  task group): a replica killed with SIGKILL holds its slots for at most `lease_s` more.
- `FailoverVoiceSlots`: Redis while it answers; while it fails, **fail open** to this replica's
  own slots (logged once), as the rate-limit counters do. A lease taken in Redis is closed there.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from voxgate.core.clock import Clock

log = logging.getLogger("voxgate.counters")
LEASE_S = 60.0
_OPEN_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class VoiceLease:
    """One open session's slot: whose key, its id, and where it was taken (`shared`: Redis)."""

    key_id: str
    lease_id: str
    shared: bool = False


NO_LEASE = VoiceLease("", "")
"""What a session without a limit holds: nothing to count or give back."""


class VoiceSlots(Protocol):
    async def open(self, key_id: str, limit: int) -> VoiceLease | None:
        """A slot of the key's `limit`, or None when all are in use."""
        ...

    async def close(self, lease: VoiceLease) -> None: ...

    async def run_renewals(self) -> None:
        """Keep this replica's leases alive until cancelled (nothing to do for local slots)."""
        ...

    async def aclose(self) -> None: ...


class LocalVoiceSlots:
    """Slots counted in this process."""

    def __init__(self) -> None:
        self._held: dict[str, set[str]] = {}

    async def open(self, key_id: str, limit: int) -> VoiceLease | None:
        held = self._held.setdefault(key_id, set())
        if len(held) >= limit:
            return None
        lease = VoiceLease(key_id, secrets.token_hex(8))
        held.add(lease.lease_id)
        return lease

    async def close(self, lease: VoiceLease) -> None:
        self._held.get(lease.key_id, set()).discard(lease.lease_id)

    async def run_renewals(self) -> None:
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        """Nothing to release."""


def _slots_key(key_id: str) -> str:
    return f"voxgate:voice:{key_id}"


class RedisVoiceSlots:
    """Slots in Redis, leased and renewed (see the module docstring)."""

    def __init__(self, client: Any, clock: Clock, lease_s: float = LEASE_S) -> None:
        self._redis = client
        self._clock = clock
        self._lease_s = lease_s
        self._held: dict[str, VoiceLease] = {}

    async def open(self, key_id: str, limit: int) -> VoiceLease | None:
        lease = VoiceLease(key_id, secrets.token_hex(8), shared=True)
        now_s = self._clock.wall_s()
        taken = await self._redis.eval(_OPEN_SCRIPT, 1, _slots_key(key_id), now_s, now_s + self._lease_s, limit,
                                       lease.lease_id, int(self._lease_s * 2))
        if not int(taken):
            return None
        self._held[lease.lease_id] = lease
        return lease

    async def close(self, lease: VoiceLease) -> None:
        self._held.pop(lease.lease_id, None)
        await self._redis.zrem(_slots_key(lease.key_id), lease.lease_id)

    async def renew(self) -> None:
        """Push every held lease's expiry `lease_s` ahead."""
        if not self._held:
            return
        expiry_s = self._clock.wall_s() + self._lease_s
        async with self._redis.pipeline(transaction=False) as pipe:
            for lease in list(self._held.values()):
                pipe.zadd(_slots_key(lease.key_id), {lease.lease_id: expiry_s}, xx=True)
                pipe.expire(_slots_key(lease.key_id), int(self._lease_s * 2))
            await pipe.execute()

    async def run_renewals(self) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            await self.renew()

    async def aclose(self) -> None:
        await self._redis.aclose()


class FailoverVoiceSlots:
    """Redis's slots while it answers; this replica's while it fails (fail-open, logged once)."""

    def __init__(self, shared: RedisVoiceSlots, errors: tuple[type[BaseException], ...] = (OSError,),
                 on_health: Callable[[bool], None] | None = None) -> None:
        self._shared = shared
        self._local = LocalVoiceSlots()
        self._errors = errors
        self._on_health = on_health
        self._failing = False

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            log.error("redis unreachable (%s): voice session slots now count per replica until it is back", exc)
            if self._on_health is not None:
                self._on_health(False)
        self._failing = True

    async def open(self, key_id: str, limit: int) -> VoiceLease | None:
        try:
            lease = await self._shared.open(key_id, limit)
        except self._errors as exc:
            self._failed(exc)
            return await self._local.open(key_id, limit)
        if self._failing:
            self._failing = False
            log.warning("redis reachable again: voice session slots are shared again")
            if self._on_health is not None:
                self._on_health(True)
        return lease

    async def close(self, lease: VoiceLease) -> None:
        if not lease.shared:
            await self._local.close(lease)
            return
        try:
            await self._shared.close(lease)
        except self._errors as exc:
            self._failed(exc)  # the lease expires in Redis on its own

    async def run_renewals(self) -> None:
        while True:
            try:
                await self._shared.run_renewals()
            except self._errors as exc:
                self._failed(exc)
                await asyncio.sleep(1.0)

    async def aclose(self) -> None:
        await self._shared.aclose()


def redis_voice_slots(url: str, clock: Clock, on_health: Callable[[bool], None]) -> FailoverVoiceSlots:
    """Voice session slots in the Redis at `url`, failing open to this replica's."""
    import redis.asyncio as redis_asyncio
    from redis.exceptions import RedisError

    client = redis_asyncio.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return FailoverVoiceSlots(RedisVoiceSlots(client, clock), (RedisError, OSError), on_health)
