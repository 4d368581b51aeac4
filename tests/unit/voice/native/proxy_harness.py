"""The native-audio proxy's unit-test harness: an in-memory upstream and a proxy run that keeps how it ended."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from tests.unit.voice.realtime.realtime_harness import FakeTransport
from voxgate.core.types import JSONObject
from voxgate.voice.native.proxy import NativeSessionProxy

WAIT_S = 5.0


class FakeUpstream:
    """The model's side: what the proxy sent, and server events a test pushes (None: it closes)."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[JSONObject] = asyncio.Queue()
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()

    async def send(self, text: str) -> Sequence[str]:
        self.sent.put_nowait(json.loads(text))
        return ()

    async def receive(self) -> str | None:
        return await self.outbox.get()

    def push(self, event: JSONObject | str | None) -> None:
        self.outbox.put_nowait(json.dumps(event) if isinstance(event, dict) else event)

    async def next_sent(self) -> JSONObject:
        return await asyncio.wait_for(self.sent.get(), WAIT_S)


class Running:
    """The proxy's run in a test's task group; its ending (None, or the exception) kept, not raised."""

    def __init__(self, proxy: NativeSessionProxy, client: FakeTransport, tasks: asyncio.TaskGroup) -> None:
        self.proxy = proxy
        self._ended: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.task = tasks.create_task(self._run(client))

    async def _run(self, client: FakeTransport) -> None:
        try:
            await self.proxy.run(client)
        except Exception as exc:
            self._ended.set_result(exc)
        else:
            self._ended.set_result(None)

    async def ended(self) -> BaseException | None:
        return await asyncio.wait_for(asyncio.shield(self._ended), WAIT_S)
