"""The bundled models' slot gate: at most N calls at once, waiting voice calls before chat calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from voxgate.backends.slot_gate import SlotGate, SlotGatedBackend
from voxgate.core.errors import BackendError
from voxgate.core.priority import Priority, current_priority, voice_priority
from voxgate.core.types import JSONObject


async def _hold_until(gate: SlotGate, priority: Priority, name: str, order: list[str], go: asyncio.Event) -> None:
    async with gate.hold(priority):
        order.append(name)
        await go.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_waiting_voice_calls_go_before_waiting_chat_calls_then_in_arrival_order() -> None:
    gate = SlotGate(2)
    order: list[str] = []
    go = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        for name, priority in [("chat-1", Priority.CHAT), ("chat-2", Priority.CHAT), ("chat-3", Priority.CHAT),
                               ("chat-4", Priority.CHAT), ("voice-1", Priority.VOICE), ("voice-2", Priority.VOICE)]:
            tasks.create_task(_hold_until(gate, priority, name, order, go))
            await _settle()
        assert order == ["chat-1", "chat-2"]
        assert (gate.in_use, gate.waiting) == (2, 4)
        go.set()
    assert order == ["chat-1", "chat-2", "voice-1", "voice-2", "chat-3", "chat-4"]
    assert (gate.in_use, gate.waiting) == (0, 0)


async def test_a_waiter_cancelled_leaves_the_queue_and_the_slot_goes_to_the_next() -> None:
    gate = SlotGate(1)
    order: list[str] = []
    go = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(_hold_until(gate, Priority.CHAT, "first", order, go))
        await _settle()
        cancelled = tasks.create_task(_hold_until(gate, Priority.VOICE, "cancelled", order, go))
        tasks.create_task(_hold_until(gate, Priority.CHAT, "next", order, go))
        await _settle()
        assert gate.waiting == 2
        cancelled.cancel()
        await _settle()
        assert gate.waiting == 1
        go.set()
    assert order == ["first", "next"]
    assert gate.in_use == 0


async def test_a_slot_handed_to_a_waiter_cancelled_before_it_runs_passes_on() -> None:
    gate = SlotGate(1)
    order: list[str] = []
    go = asyncio.Event()
    go.set()
    holding = gate.hold(Priority.CHAT)
    await holding.__aenter__()
    async with asyncio.TaskGroup() as tasks:
        handed = tasks.create_task(_hold_until(gate, Priority.CHAT, "handed", order, go))
        tasks.create_task(_hold_until(gate, Priority.CHAT, "last", order, go))
        await _settle()
        await holding.__aexit__(None, None, None)  # hands the slot to `handed` without yielding to it
        handed.cancel()
    assert order == ["last"]
    assert gate.in_use == 0


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        SlotGate(0)


def test_voice_priority_marks_the_calls_inside_it_only() -> None:
    assert current_priority() is Priority.CHAT
    with voice_priority():
        assert current_priority() is Priority.VOICE
    assert current_priority() is Priority.CHAT


class _FakeBackend:
    model_id = "m"

    def __init__(self) -> None:
        self.closed_streams = 0
        self.priorities: list[Priority] = []

    async def complete(self, body: JSONObject) -> JSONObject:
        self.priorities.append(current_priority())
        if body.get("fail"):
            raise BackendError("upstream said 500", model_id="m", status=500)
        return {"ok": True}

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        try:
            for index in range(3):
                yield {"index": index}
        finally:
            self.closed_streams += 1

    async def aclose(self) -> None:
        return None


async def test_a_call_holds_its_slot_while_it_runs_and_gives_it_back_on_failure() -> None:
    gate = SlotGate(1)
    backend = SlotGatedBackend(_FakeBackend(), gate)
    assert await backend.complete({}) == {"ok": True}
    with pytest.raises(BackendError):
        await backend.complete({"fail": True})
    assert gate.in_use == 0
    with voice_priority():
        await backend.complete({})
    assert backend._inner.priorities == [Priority.CHAT, Priority.CHAT, Priority.VOICE]  # type: ignore[attr-defined]


async def test_a_stream_holds_its_slot_until_it_is_closed_early() -> None:
    gate = SlotGate(1)
    fake = _FakeBackend()
    backend = SlotGatedBackend(fake, gate)
    stream = backend.stream({})
    assert await anext(stream) == {"index": 0}
    assert gate.in_use == 1
    await stream.aclose()  # type: ignore[attr-defined]  # the client left after one chunk
    assert gate.in_use == 0
    assert fake.closed_streams == 1
    assert [chunk async for chunk in backend.stream({})] == [{"index": 0}, {"index": 1}, {"index": 2}]
    assert gate.in_use == 0
