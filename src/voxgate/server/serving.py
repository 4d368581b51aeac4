"""Serving with a graceful stop: SIGTERM (or Ctrl-C) drains before uvicorn shuts down.

    GracefulServer(uvicorn.Config(app, ...), gateway, drain_timeout_s=30).run()

On the first SIGTERM/SIGINT voxgate stops accepting connections (the listening sockets close),
closes idle keep-alive connections, marks the gateway draining (/readyz answers 503 `draining`,
each realtime session ends with close code 1012 once its turn in progress is answered), and lets
in-flight requests and streams finish, for at most `drain_timeout_s`. Then uvicorn's own shutdown
runs: whatever is still open is closed after a short grace, the app's lifespan ends, the gateway
flushes every queued decision row and stops its models, and the process exits with status 0.
A second signal during the drain stops at once.

The drain is driven from uvicorn's `on_tick` (every 0.1 s, on the event loop): no extra tasks.
"""

from __future__ import annotations

import logging
import time
from types import FrameType
from typing import Any

import uvicorn

from voxgate.server.gateway import Gateway

log = logging.getLogger("voxgate.serving")
SHUTDOWN_GRACE_S = 2.0  # uvicorn's own timeout_graceful_shutdown, after the drain


def _is_http(connection: Any) -> bool:
    return type(connection).__module__.startswith("uvicorn.protocols.http")


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, gateway: Gateway, drain_timeout_s: float) -> None:
        super().__init__(config)
        self._gateway = gateway
        self._drain_timeout_s = drain_timeout_s
        self._drain_requested = False
        self._drain_deadline_s: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain. Second: stop now. (The signal is not re-raised: the exit status is 0.)"""
        if self._drain_requested:
            self.should_exit = True
            self.force_exit = True
        self._drain_requested = True

    async def on_tick(self, counter: int) -> bool:
        if await super().on_tick(counter):
            return True
        if not self._drain_requested:
            return False
        now_s = time.monotonic()
        if self._drain_deadline_s is None:
            self._drain_deadline_s = now_s + self._drain_timeout_s
            self._begin_drain()
        open_connections = len(self.server_state.connections)
        if open_connections and now_s < self._drain_deadline_s:
            return False
        if open_connections:
            log.warning("drain timeout (%.0f s): closing %d connections still open", self._drain_timeout_s,
                        open_connections)
        return True

    def _begin_drain(self) -> None:
        connections = list(self.server_state.connections)
        log.info("draining: no new connections; waiting up to %.0f s for %d open ones", self._drain_timeout_s,
                 len(connections))
        for server in getattr(self, "servers", []):
            server.close()
        for connection in connections:
            if _is_http(connection):
                connection.shutdown()  # idle keep-alive: closed now; busy: closed after its response
        self._gateway.draining.set()


def serve(app: Any, gateway: Gateway, host: str, port: int, log_level: str, drain_timeout_s: float,
          ws_max_size: int, *, own_log_handlers: bool = False) -> None:
    """Run uvicorn until SIGTERM/SIGINT has drained; `own_log_handlers`: uvicorn's loggers go to the root
    logger's handlers (the JSON lines of `--log-format json`) instead of uvicorn's own."""
    extra: dict[str, Any] = {"log_config": None} if own_log_handlers else {}
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, ws_max_size=ws_max_size,
                            timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S), **extra)
    GracefulServer(config, gateway, drain_timeout_s).run()
