"""Fail-open counters: while the shared store fails, the local counts serve, health goes to False
once, usage made meanwhile is added to the shared store when it answers again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from voxgate.core.clock import ManualClock
from voxgate.core.keys import BudgetPeriod
from voxgate.server.counters import FailoverCounters, LocalCounters, Tally, UsageUpdate

DAY = {BudgetPeriod.DAY: 0.0}


class FlakyCounters(LocalCounters):
    """Local counters standing in for Redis, that fail with OSError while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def take(self, key_id: str, window_start_s: float, requests: int, tokens: int,
                   period_starts: Mapping[BudgetPeriod, float]) -> Tally:
        if self.down:
            raise OSError("connection refused")
        return await super().take(key_id, window_start_s, requests, tokens, period_starts)

    async def add_usage(self, updates: Sequence[UsageUpdate]) -> None:
        if self.down:
            raise OSError("connection refused")
        await super().add_usage(updates)


async def test_fails_open_to_local_counts_and_catches_up_on_recovery() -> None:
    shared, clock = FlakyCounters(), ManualClock()
    health: list[bool] = []
    counters = FailoverCounters(shared, clock, health.append, retry_s=1.0)
    await shared.take("k", 0.0, 5, 0, {})  # another replica's five requests
    assert (await counters.take("k", 0.0, 1, 0, DAY)).requests == 6
    shared.down = True
    assert (await counters.take("k", 0.0, 1, 0, DAY)).requests == 2, "this replica's own count"
    await counters.add_usage([UsageUpdate("k", 0.0, 0, 0.5, DAY)])
    assert health == [False]
    shared.down = False
    assert (await counters.take("k", 0.0, 1, 0, DAY)).requests == 3, "no retry before retry_s"
    clock.advance(1.0)
    tally = await counters.take("k", 0.0, 1, 0, DAY)
    assert tally.requests == 7, "requests counted locally during the outage are not replayed: windows are short"
    assert health == [False, True]
    assert (await shared.take("k", 0.0, 0, 0, DAY)).spent_usd == {BudgetPeriod.DAY: 0.5}, "usage caught up"
