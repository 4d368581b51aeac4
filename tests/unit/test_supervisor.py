"""Restart timing and wording of the local model supervisor."""

from __future__ import annotations

from voxgate.core.clock import ManualClock
from voxgate.models.supervisor import describe_exit, restart_delay_s
from voxgate.routing.breaker import CircuitBreakers


def test_restarts_back_off_to_a_minute() -> None:
    assert [restart_delay_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert restart_delay_s(30) == 60.0


def test_exits_are_described_by_signal_or_status() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exit status 3"


def test_a_held_breaker_gives_its_reason_until_released() -> None:
    breakers = CircuitBreakers(ManualClock())
    breakers.record_failure("m")
    breakers.hold_open("m", "its llama.cpp server died (killed by SIGKILL); restarting it")
    breakers.record_success("m")
    assert breakers.open_reason("m") == "its llama.cpp server died (killed by SIGKILL); restarting it"
    breakers.release("m")
    assert breakers.open_reason("m") is None
