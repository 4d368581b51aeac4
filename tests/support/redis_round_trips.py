"""A TCP proxy in front of a real Redis that counts round trips, for tests that make "how many
times does a request talk to Redis" a contract rather than a timing.

    async with RoundTripProxy(redis_port) as proxy:       # in the test's event loop
        ... point the client at redis://127.0.0.1:{proxy.port}/0 ...
        proxy.mark("answer sent")                          # a marker in the same timeline
        proxy.timeline                                     # ["trip", "trip", "answer sent", "trip", ...]

A round trip is one burst of bytes from a client connection after Redis last spoke on it (a
command, a pipeline or a script call: the client then waits for the reply). A pipeline split
over several TCP segments is still one trip. Bytes are forwarded unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

TRIP = "trip"
CLOSE_WAIT_S = 2.0


class RoundTripProxy:
    """Forwards 127.0.0.1:`port` to the Redis on `redis_port`, logging each round trip in `timeline`."""

    def __init__(self, redis_port: int) -> None:
        self._redis_port = redis_port
        self._server: asyncio.Server | None = None
        self.timeline: list[str] = []
        self.port = 0
        self._connections: set[asyncio.Task[None]] = set()

    def mark(self, label: str) -> None:
        self.timeline.append(label)

    def trips_since(self, start: int) -> int:
        return self.timeline[start:].count(TRIP)

    async def __aenter__(self) -> RoundTripProxy:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        """Close the listener and wait for the connections (close the client first; Python 3.11's
        `Server.wait_closed` does not wait for them, so they are awaited here, up to CLOSE_WAIT_S)."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        if self._connections:
            await asyncio.wait(self._connections, timeout=CLOSE_WAIT_S)

    async def _connected(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        assert current is not None
        self._connections.add(current)
        current.add_done_callback(self._connections.discard)
        redis_in, redis_out = await asyncio.open_connection("127.0.0.1", self._redis_port)
        waiting = [False]  # the client has spoken and not been answered yet

        async def client_to_redis() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await client_in.read(65536):
                    if not waiting[0]:
                        waiting[0] = True
                        self.timeline.append(TRIP)
                    redis_out.write(data)
                    await redis_out.drain()
            redis_out.close()

        async def redis_to_client() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await redis_in.read(65536):
                    waiting[0] = False
                    client_out.write(data)
                    await client_out.drain()
            client_out.close()

        async with asyncio.TaskGroup() as pipes:
            pipes.create_task(client_to_redis())
            pipes.create_task(redis_to_client())
