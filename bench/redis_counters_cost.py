"""What the rate-limit counters' two Redis calls per keyed request cost this process: the admission
script (`RedisCounters.admit` through `FailoverCounters`) and one request's usage write (`add_usage`),
against a loopback `redis-server` (Debian's package, started here and stopped by PID).

    PYTHONPATH=src .venv/bin/python -m bench.redis_counters_cost [--calls 3000]

Prints each call's median wall time and this process's CPU per call (what the gateway's event loop
spends: at one keep-alive client the usage write overlaps the next request). Point `PYTHONPATH` at
another checkout's `src` to measure its counters the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.processes import start_redis, stop_process
from voxgate.core.clock import SystemClock
from voxgate.core.keys import BudgetPeriod
from voxgate.server.counters import BudgetCheck, UsageUpdate, WindowTake, redis_counters

WARM_UP_CALLS = 300


async def _timed(call: Callable[[], Awaitable[object]], calls: int) -> tuple[float, float]:
    for _ in range(WARM_UP_CALLS):
        await call()
    took: list[float] = []
    cpu_started_s = time.process_time()
    for _ in range(calls):
        started_s = time.perf_counter()
        await call()
        took.append(time.perf_counter() - started_s)
    return statistics.median(took) * 1000, (time.process_time() - cpu_started_s) / calls * 1000


async def measure(port: int, calls: int) -> dict[str, tuple[float, float]]:
    counters = redis_counters(f"redis://127.0.0.1:{port}/0", SystemClock(), lambda up: None, 60.0)
    now_s = time.time()
    window_s, day_s = now_s - now_s % 60, now_s - now_s % 86_400
    takes = (WindowTake("bench", 1, 300, rpm=10**9, tpm=10**9),)
    budgets = [BudgetCheck(BudgetPeriod.DAY, day_s, 1e6), BudgetCheck(BudgetPeriod.MONTH, 0.0)]
    usage = [UsageUpdate("bench", window_s, -200, 3e-5, {BudgetPeriod.DAY: day_s, BudgetPeriod.MONTH: 0.0})]
    try:
        return {"admission script": await _timed(lambda: counters.admit(window_s, takes, (), "bench", budgets), calls),
                "usage write": await _timed(lambda: counters.add_usage(usage), calls)}
    finally:
        await counters.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        redis = start_redis(Path(workdir))
        try:
            found = asyncio.run(measure(redis.port, args.calls))
        finally:
            stop_process(redis.process)
    print("| call | wall p50 ms | client CPU ms per call |\n|---|---|---|")
    for name, (wall_ms, cpu_ms) in found.items():
        print(f"| {name} | {wall_ms:.3f} | {cpu_ms:.3f} |")


if __name__ == "__main__":
    main()
