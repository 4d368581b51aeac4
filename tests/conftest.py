"""Suite-wide rules: every async test fails if it leaves an asyncio task running; every test under
tests/integration and tests/contract carries the `integration` mark (real servers on loopback,
real model engines); a test without the mark that connects or binds an IP socket fails, so
`pytest -m "not integration"` is the pure suite."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis' per-example deadline (200 ms) and its too_slow health check are timing assertions: on
# a loaded 2-core machine property tests of pure code failed on them, not on a property. The
# properties stay; the clock goes.
settings.register_profile("voxgate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("voxgate")

TESTS_DIR = Path(__file__).parent
INTEGRATION_FOLDERS = ("integration", "contract")
IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS_DIR in item.path.parents and item.path.relative_to(TESTS_DIR).parts[0] in INTEGRATION_FOLDERS:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    if leaked:
        for task in leaked:
            task.cancel()
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {[t.get_coro() for t in leaked]}")


@pytest.fixture(autouse=True)
def _pure_tests_open_no_ip_sockets(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("integration") is not None:
        return
    for method in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, method, _refusing_ip(getattr(socket.socket, method)))


def _refusing_ip(method: Callable[..., Any]) -> Callable[..., Any]:
    def refuse(sock: socket.socket, *args: Any) -> Any:
        if sock.family in IP_FAMILIES:
            pytest.fail(f"a test without the `integration` mark used an IP socket ({method.__name__} {args}): "
                        "move it under tests/integration or tests/contract")
        return method(sock, *args)

    return refuse
