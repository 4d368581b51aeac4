"""Real processes on loopback (`tests.support.processes`): the session's `voxgate serve` with the
bundled local ladder. Every test under tests/integration carries the `integration` mark."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import RunningProcess, start_voxgate, stop_process


@pytest.fixture(scope="session")
def voxgate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """The README's main job: `voxgate serve` with the bundled local ladder, no keys."""
    running = start_voxgate(tmp_path_factory.mktemp("voxgate"))
    try:
        yield running
    finally:
        stop_process(running.process)
