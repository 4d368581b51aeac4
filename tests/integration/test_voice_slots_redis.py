"""Concurrent voice-session slots shared by replicas through a real Redis (Debian's redis-server):
two replicas' slot holders share one key's limit, a replica that stops renewing (killed) frees its
slots when its leases expire, and a stopped Redis fails open to each replica's own slots."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from tests.support.processes import RunningProcess, start_redis, stop_process
from voxgate.core.clock import ManualClock
from voxgate.server.voice_slots import FailoverVoiceSlots, RedisVoiceSlots

pytestmark = pytest.mark.integration
LEASE_S = 30.0
KEY = "0123456789ab"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RunningProcess]:
    running = start_redis(tmp_path)
    try:
        yield running
    finally:
        stop_process(running.process)


@pytest.fixture
async def replicas(
    redis_server: RunningProcess,
) -> AsyncIterator[tuple[ManualClock, RedisVoiceSlots, RedisVoiceSlots]]:
    clock = ManualClock(1_800_000_000.0)
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    a = RedisVoiceSlots(redis_asyncio.Redis.from_url(url), clock, LEASE_S)
    b = RedisVoiceSlots(redis_asyncio.Redis.from_url(url), clock, LEASE_S)
    try:
        yield clock, a, b
    finally:
        await a.aclose()
        await b.aclose()


async def test_two_replicas_share_one_keys_slots(
    replicas: tuple[ManualClock, RedisVoiceSlots, RedisVoiceSlots],
) -> None:
    _, a, b = replicas
    first = await a.open(KEY, 2)
    second = await b.open(KEY, 2)
    assert first is not None
    assert second is not None
    assert await a.open(KEY, 2) is None
    assert await b.open(KEY, 2) is None, "the limit is the key's, not each replica's"
    assert await b.open("ba9876543210", 2) is not None, "another key has its own slots"
    await a.close(first)
    assert await b.open(KEY, 2) is not None, "a slot closed on A is free on B"


async def test_a_replica_that_stops_renewing_frees_its_slots_when_the_lease_ends(
    replicas: tuple[ManualClock, RedisVoiceSlots, RedisVoiceSlots],
) -> None:
    clock, a, b = replicas
    assert await a.open(KEY, 1) is not None
    clock.advance(0.6 * LEASE_S)
    await a.renew()  # A is alive: its lease moves on
    clock.advance(0.6 * LEASE_S)
    assert await b.open(KEY, 1) is None, "a renewed lease still holds the slot"
    clock.advance(0.6 * LEASE_S)  # A was killed: no renewal since
    assert await b.open(KEY, 1) is not None, "the dead replica's lease expired"


async def test_a_stopped_redis_fails_open_to_each_replicas_slots_then_shares_again(tmp_path: Path) -> None:
    running = start_redis(tmp_path)
    health: list[bool] = []
    slots = FailoverVoiceSlots(
        RedisVoiceSlots(redis_asyncio.Redis.from_url(f"redis://127.0.0.1:{running.port}/0", socket_timeout=0.5,
                                                    socket_connect_timeout=0.5), ManualClock(1_800_000_000.0)),
        (RedisError, OSError), health.append)
    try:
        shared = await slots.open(KEY, 1)
        assert shared is not None
        assert shared.shared
        stop_process(running.process)
        local = await slots.open(KEY, 1)
        assert local is not None, "fail open: this replica's own slots"
        assert not local.shared
        assert await slots.open(KEY, 1) is None, "the limit still holds on this replica"
        await slots.close(shared)  # Redis is down: the lease expires there on its own
        assert health == [False]
        running = start_redis(tmp_path, running.port)
        assert await slots.open(KEY, 1) is None, "Redis kept the lease taken before it stopped"
        assert health == [False, True]
    finally:
        stop_process(running.process)
        await slots.aclose()
