"""Fail-open counters: while the shared store fails, the local counts serve, health goes to False
once, usage made meanwhile is added to the shared store when it answers again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from voxgate.core.clock import ManualClock
from voxgate.core.keys import BudgetPeriod
from voxgate.server.counters import (
    Admitted,
    BudgetCheck,
    FailoverCounters,
    LocalCounters,
    Tally,
    UsageUpdate,
    WindowTake,
)

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

    async def admit(self, window_start_s: float, takes: Sequence[WindowTake], looks: Sequence[str],
                    spend_id: str | None, budgets: Sequence[BudgetCheck]) -> Admitted:
        if self.down:
            raise OSError("connection refused")
        return await super().admit(window_start_s, takes, looks, spend_id, budgets)

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


async def test_an_admission_takes_from_every_window_or_from_none() -> None:
    counters = LocalCounters()
    key, model = WindowTake("k", 1, 40, rpm=10, tpm=100), WindowTake("model:m", 1, 40, rpm=1)
    first = await counters.admit(0.0, (key, model), ("model:other",), "k", [BudgetCheck(BudgetPeriod.DAY, 0.0, 1.0)])
    assert (first.over, first.broke, first.windows) == (None, None, ((1, 40), (1, 40), (0, 0)))
    second = await counters.admit(0.0, (key, model), (), "k", [])
    assert (second.over, second.windows) == (1, ((1, 40), (1, 40))), "the model's RPM refused: the key took nothing"
    third = await counters.admit(0.0, (key,), (), "k", [])
    assert third.taken
    assert (await counters.admit(0.0, (key,), (), "k", [])).over == 0, "80 tokens in: 40 more pass 100"
    await counters.add_usage([UsageUpdate("k", 0.0, 0, 1.0, {BudgetPeriod.DAY: 0.0})])
    spent = await counters.admit(0.0, (WindowTake("k", 0, 0),), (), "k", [BudgetCheck(BudgetPeriod.DAY, 0.0, 1.0)])
    assert (spent.broke, spent.spent_usd) == (BudgetPeriod.DAY, {BudgetPeriod.DAY: 1.0})
    back = await counters.admit(0.0, (WindowTake("k", -1, -40, rpm=0, tpm=0),), (), None, [])
    assert back.taken, "a give-back is never refused"
    assert back.windows == ((1, 40),)
