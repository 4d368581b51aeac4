"""The admission script (`counters.ADMIT_SCRIPT`) in a real Redis (Debian's redis-server) decides
as the in-process counters do (`first_over`), and holds under concurrency: ten admissions sent at
once through separate clients, against a TPM that fits three reservations, take exactly three."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.processes import start_redis, stop_process
from voxgate.core.keys import BudgetPeriod
from voxgate.server.counters import (
    Admitted,
    BudgetCheck,
    Counters,
    LocalCounters,
    RedisCounters,
    UsageUpdate,
    WindowTake,
)
from voxgate.server.resp import RedisAddress, RespClient

pytestmark = pytest.mark.integration
WINDOW_S = 60.0
DAY = BudgetPeriod.DAY


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    running = start_redis(tmp_path)
    try:
        yield f"redis://127.0.0.1:{running.port}/0"
    finally:
        stop_process(running.process)


async def _scenario(counters: Counters) -> list[tuple[int | None, BudgetPeriod | None, tuple[tuple[int, int], ...]]]:
    """One sequence of admissions; what each found."""
    key, model = WindowTake("k", 1, 40, rpm=10, tpm=100), WindowTake("model:m", 1, 40, rpm=2)
    budget = [BudgetCheck(DAY, 0.0, 1.0), BudgetCheck(BudgetPeriod.MONTH, 0.0)]
    found: list[Admitted] = [
        await counters.admit(0.0, (key, model), ("model:other",), "k", budget),
        await counters.admit(0.0, (key, model), (), "k", budget),
        await counters.admit(0.0, (key, model), (), "k", budget),  # 80 tokens in the key's window: 40 more pass 100
        await counters.admit(0.0, (WindowTake("k", 1, 500, tpm=100),), (), "k", budget),
        await counters.admit(0.0, (WindowTake("fresh", 1, 500, tpm=100),), (), "fresh", budget),  # empty window
        await counters.admit(0.0, (WindowTake("model:m", 1, 0, rpm=2),), ("k",), None, ()),  # model at its RPM
        await counters.admit(0.0, (WindowTake("k", -1, -40, rpm=0, tpm=0),), (), None, ()),  # a give-back
    ]
    await counters.add_usage([UsageUpdate("k", 0.0, 0, 1.5, {DAY: 0.0, BudgetPeriod.MONTH: 0.0})])
    found.append(await counters.admit(0.0, (WindowTake("k", 1, 1, rpm=10),), (), "k", budget))
    spent = found[-1].spent_usd
    assert spent == {DAY: 1.5, BudgetPeriod.MONTH: 1.5}
    return [(a.over, a.broke, a.windows) for a in found]


async def test_the_script_decides_as_the_local_counters_do(redis_url: str) -> None:
    shared = RedisCounters(RespClient(RedisAddress.parse(redis_url)), WINDOW_S)
    try:
        in_redis = await _scenario(shared)
    finally:
        await shared.aclose()
    local = await _scenario(LocalCounters())
    assert in_redis == local
    assert local == [
        (None, None, ((1, 40), (1, 40), (0, 0))),
        (None, None, ((2, 80), (2, 80))),
        (0, None, ((2, 80), (2, 80))),
        (0, None, ((2, 80),)),
        (None, None, ((1, 500),)),
        (0, None, ((2, 80), (2, 80))),
        (None, None, ((1, 40),)),
        (None, DAY, ((1, 40),)),
    ]


async def test_ten_concurrent_admissions_against_a_tpm_for_three_take_three(redis_url: str) -> None:
    clients = [RedisCounters(RespClient(RedisAddress.parse(redis_url)), WINDOW_S) for _ in range(10)]
    try:
        take = WindowTake("k", 1, 300, tpm=1000)
        found = await asyncio.gather(*(c.admit(0.0, (take,), (), "k", []) for c in clients))
        assert sorted(a.taken for a in found) == [False] * 7 + [True] * 3
        assert sorted(a.windows[0] for a in found if a.taken) == [(1, 300), (2, 600), (3, 900)]
        assert {a.windows[0] for a in found if not a.taken} == {(3, 900)}
    finally:
        for c in clients:
            await c.aclose()
