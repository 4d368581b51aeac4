"""A websockets server on 127.0.0.1 (a free port) in its own thread and event loop, for scripted upstreams.

    with serve_in_thread(handler, process_request=check) as port:
        ...                          # ws://127.0.0.1:{port}/...

The test's event loop owns none of its tasks; leaving the block stops the server and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

START_TIMEOUT_S = 10.0


@contextlib.contextmanager
def serve_in_thread(handler: Callable[[ServerConnection], Awaitable[None]], *,
                    process_request: Any = None, max_size: int | None = 2**20) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    ports: list[int] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        async with serve(handler, "127.0.0.1", 0, process_request=process_request, max_size=max_size) as server:
            ports.append(next(iter(server.sockets)).getsockname()[1])
            ready.set()
            await stop[0].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT_S):
        raise RuntimeError("the scripted websocket server did not start")
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(START_TIMEOUT_S)
        loop.close()
