"""A circuit breaker per backend: after N consecutive failures, skip it for a cooldown."""

from __future__ import annotations

from dataclasses import dataclass

from voxgate.core.clock import Clock


@dataclass
class _BreakerState:
    consecutive_failures: int = 0
    open_until_s: float = 0.0


class CircuitBreakers:
    def __init__(self, clock: Clock, failure_threshold: int = 3, cooldown_s: float = 30.0) -> None:
        self._clock = clock
        self._failure_threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._states: dict[str, _BreakerState] = {}
        self._held: dict[str, str] = {}

    def hold_open(self, model_id: str, reason: str) -> None:
        """Skip this model until `release`, whatever its record (e.g. its server is restarting)."""
        self._held[model_id] = reason

    def release(self, model_id: str) -> None:
        """End a hold and forget past failures: the model starts afresh."""
        self._held.pop(model_id, None)
        self._states.pop(model_id, None)

    def open_reason(self, model_id: str) -> str | None:
        """Why calls to this model are being skipped now, or None when it may be called."""
        if model_id in self._held:
            return self._held[model_id]
        state = self._states.get(model_id)
        if state is None:
            return None
        remaining_s = state.open_until_s - self._clock.monotonic_s()
        if remaining_s <= 0:
            return None
        return (
            f"circuit open after {state.consecutive_failures} consecutive failures; "
            f"retried in {remaining_s:.0f} s"
        )

    def record_success(self, model_id: str) -> None:
        self._states.pop(model_id, None)

    def record_failure(self, model_id: str) -> None:
        state = self._states.setdefault(model_id, _BreakerState())
        state.consecutive_failures += 1
        if state.consecutive_failures >= self._failure_threshold:
            state.open_until_s = self._clock.monotonic_s() + self._cooldown_s
