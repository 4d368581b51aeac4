"""Server events of a realtime session as a test sees them: recorded in arrival order, awaited by type.

    recorder = EventRecorder()
    await recorder.record(event)                       # whoever receives events (a fake transport, an SDK reader)
    done = await recorder.wait_for("response.done", 2) # the second one, waiting up to `timeout_s`
    await recorder.wait_until(lambda event: ...)       # the first event that matches
    recorder.of_type("error"), recorder.types()

Used by the unit tests' in-memory transport and the integration tests' SDK reader alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

DEFAULT_WAIT_S = 5.0


class EventRecorder:
    def __init__(self, timeout_s: float = DEFAULT_WAIT_S) -> None:
        self.events: list[dict[str, Any]] = []
        self.timeout_s = timeout_s
        self._changed = asyncio.Condition()

    async def record(self, event: dict[str, Any]) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, kind: str, count: int = 1, *, timeout_s: float | None = None,
                       **fields: Any) -> dict[str, Any]:
        """The `count`-th event of type `kind` whose top-level `fields` match, once it has arrived."""
        return await self.wait_until(
            lambda e: e["type"] == kind and all(e.get(k) == v for k, v in fields.items()), count, timeout_s=timeout_s)

    async def wait_until(self, matches: Callable[[dict[str, Any]], bool], count: int = 1, *,
                         timeout_s: float | None = None) -> dict[str, Any]:
        """The `count`-th event for which `matches` is true, once it has arrived."""

        def found() -> list[dict[str, Any]]:
            return [e for e in self.events if matches(e)]

        async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(found()) >= count)
        return found()[count - 1]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]
