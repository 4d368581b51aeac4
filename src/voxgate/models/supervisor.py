"""Keeping the bundled llama.cpp servers alive: restart one that dies, with backoff.

    supervisor = LocalModelSupervisor(fleet.servers, on_down=..., on_up=...)
    await supervisor.run()          # in the gateway's task group, until cancelled

When a server process exits without being asked to (a crash, the OOM killer, `kill -9`),
`on_down(model_id, reason)` is called at once (the gateway holds the model's circuit open with
that reason, so routing goes around it and decisions say why), then the server is started again
after `restart_delay_s` (1 s, 2 s, 4 s, ... up to 60 s between failed attempts), on its old port
when that is free. `on_up(model_id, base_url)` follows each successful restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence

from voxgate.core.errors import ModelAssemblyError
from voxgate.models.local_server import LocalModelServer

log = logging.getLogger("voxgate.models")
RESTART_BASE_S = 1.0
RESTART_MAX_S = 60.0


def restart_delay_s(attempt: int) -> float:
    """Seconds to wait before restart attempt `attempt` (1-based): 1, 2, 4, ... 60."""
    return float(min(RESTART_MAX_S, RESTART_BASE_S * 2 ** max(0, attempt - 1)))


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class LocalModelSupervisor:
    """Watches every local model server and restarts the ones that die."""

    def __init__(self, servers: Sequence[LocalModelServer], on_down: Callable[[str, str], None],
                 on_up: Callable[[str, str], None]) -> None:
        self._servers = servers
        self._on_down = on_down
        self._on_up = on_up
        self.restarts: dict[str, int] = {server.model_id: 0 for server in servers}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as watchers:
            for server in self._servers:
                watchers.create_task(self._watch(server))

    async def _watch(self, server: LocalModelServer) -> None:
        while True:
            status = await server.wait_exit()
            await self._restart(server, describe_exit(status))

    async def _restart(self, server: LocalModelServer, cause: str) -> None:
        port = server.port
        attempt = 0
        while True:
            attempt += 1
            delay_s = restart_delay_s(attempt)
            reason = (f"its llama.cpp server died ({cause}); restarting it: attempt {attempt}, "
                      f"in {delay_s:.0f} s")
            log.warning("local model %s: %s", server.model_id, reason)
            self._on_down(server.model_id, reason)
            await asyncio.sleep(delay_s)
            try:
                await server.start(preferred_port=port)
            except (ModelAssemblyError, OSError) as exc:  # e.g. the weights' disk is gone: keep trying
                cause = f"restart failed: {(str(exc).splitlines() or [type(exc).__name__])[0]}"
                continue
            self.restarts[server.model_id] += 1
            log.warning("local model %s restarted at %s (pid %d)", server.model_id, server.base_url, server.pid)
            self._on_up(server.model_id, server.base_url)
            return
