"""A bundled llama.cpp server's slots, held by the gateway so waiting voice calls go first.

llama.cpp serves `parallel_slots` requests at once and queues the rest in arrival order, so a voice
turn arriving behind a burst of chat requests waits for all of them. `SlotGate` admits at most
`slots` calls to one server; the others wait here, voice before chat (`core.priority`), then in
arrival order. `SlotGatedBackend` holds a slot for a whole call: a completion until it returns, a
stream until it ends or is closed. A caller cancelled while waiting leaves the queue; a slot freed
goes straight to the next waiter.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from voxgate.backends.base import ChatBackend
from voxgate.core.priority import Priority, current_priority
from voxgate.core.types import JSONObject


class SlotGate:
    """At most `slots` calls at once; waiters by (priority, arrival)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a slot gate needs at least one slot")
        self.slots = slots
        self.in_use = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, future in self._waiting if not future.done())

    @asynccontextmanager
    async def hold(self, priority: Priority) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: Priority) -> None:
        if self.in_use < self.slots and not self.waiting:
            self.in_use += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # the slot was handed over as we were cancelled
                self._release()
            raise

    def _release(self) -> None:
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot passes to it: in_use stays the same
                return
        self.in_use -= 1


class SlotGatedBackend:
    """`inner`, with each call holding one of `gate`'s slots for as long as it runs."""

    def __init__(self, inner: ChatBackend, gate: SlotGate) -> None:
        self._inner = inner
        self.gate = gate
        self.model_id = inner.model_id

    async def complete(self, body: JSONObject) -> JSONObject:
        async with self.gate.hold(current_priority()):
            return await self._inner.complete(body)

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        async with self.gate.hold(current_priority()):
            upstream = self._inner.stream(body)
            try:
                async for chunk in upstream:
                    yield chunk
            finally:
                await upstream.aclose()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self._inner.aclose()
