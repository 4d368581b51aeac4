"""Outbox: the bounded queue of server events to one client, and why its session ended."""

from __future__ import annotations

import asyncio

import pytest

from voxgate.core.errors import ServerShuttingDownError, SessionExpiredError, SlowClientError
from voxgate.voice.realtime.outbox import Outbox
from voxgate.voice.realtime.protocol import IdFactory
from voxgate.voice.realtime.transport import SessionClosed

WAIT_S = 5.0


class ListTransport:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def receive(self) -> str | bytes | None:
        return None

    async def send(self, text: str) -> None:
        self.sent.append(text)


async def test_finish_delivers_what_is_queued_then_ends_with_the_error() -> None:
    outbox, transport = Outbox(IdFactory(), queue_events=8), ListTransport()
    outbox.emit({"type": "a"})
    outbox.emit({"type": "b"})
    outbox.finish(ServerShuttingDownError("bye", code="server_shutting_down"))
    assert outbox.ending
    outbox.emit({"type": "c"})  # queued after the end marker: never delivered
    await asyncio.wait_for(outbox.send_loop(transport), WAIT_S)
    assert [t.split('"type":')[1] for t in transport.sent] == ['"a"}', '"b"}']
    assert all(t.startswith('{"event_id":"event_') for t in transport.sent)
    assert outbox.stopped
    with pytest.raises(ServerShuttingDownError):
        await outbox.wait_ended(WAIT_S)


async def test_a_full_queue_ends_the_session_as_a_slow_client_and_drops_later_events() -> None:
    outbox = Outbox(IdFactory(), queue_events=2)
    outbox.emit({"type": "a"})
    outbox.emit({"type": "b"})
    assert not outbox.stopped
    outbox.emit({"type": "c"})
    assert outbox.stopped
    with pytest.raises(SlowClientError, match="2 events behind"):
        await outbox.wait_ended(WAIT_S)


async def test_a_client_that_left_ends_quietly_and_one_that_stays_expires() -> None:
    left = Outbox(IdFactory(), queue_events=2)
    left.stop()
    with pytest.raises(SessionClosed):
        await left.wait_ended(WAIT_S)
    with pytest.raises(SessionExpiredError, match=r"maximum length of 0\.01 s"):
        await Outbox(IdFactory(), queue_events=2).wait_ended(0.01)
