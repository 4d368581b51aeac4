"""Time, injected: the real clock for production, a manual one for tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic_s(self) -> float: ...

    def wall_s(self) -> float: ...


class SystemClock:
    def monotonic_s(self) -> float:
        return time.perf_counter()

    def wall_s(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start_s: float = 1_000.0) -> None:
        self._now_s = start_s

    def advance(self, seconds: float) -> None:
        self._now_s += seconds

    def monotonic_s(self) -> float:
        return self._now_s

    def wall_s(self) -> float:
        return self._now_s
