"""The server events on their way to one realtime client, and the end of its session.

    outbox = Outbox(ids, queue_events=2_048)
    outbox.emit(event)                  # queued with an `event_id`; a full queue ends the session
    await outbox.send_loop(transport)   # one task: drains the queue onto the transport
    outbox.finish(error)                # deliver what is queued, then end with `error`
    outbox.stop()                       # end now (the client left)
    await outbox.wait_ended(max_s)      # raises why the session ended (see below)

The queue is bounded: a client that stops reading fills it and the session ends with
SlowClientError instead of buffering without bound. `wait_ended` raises SessionExpiredError when
`max_s` passes first, the error the session ended with (SlowClientError, ServerShuttingDownError),
or SessionClosed when the client simply left. The outbox owns the queue, the stop signal and the
reason; `session.RealtimeSession` decides when to finish.
"""

from __future__ import annotations

import asyncio
import json

from voxgate.core.errors import SessionEndedError, SessionExpiredError, SlowClientError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.protocol import IdFactory
from voxgate.voice.realtime.transport import RealtimeTransport, SessionClosed

_END_OF_EVENTS = "end of events"  # compared by identity: the send loop's last item when draining


class Outbox:
    def __init__(self, ids: IdFactory, *, queue_events: int) -> None:
        self._ids = ids
        self._queue_events = queue_events
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_events)
        self._stop = asyncio.Event()
        self._error: SessionEndedError | None = None

    @property
    def stopped(self) -> bool:
        """The session is ending: nothing more is queued."""
        return self._stop.is_set()

    @property
    def ending(self) -> bool:
        """The session has a reason to end (it may still be delivering what is queued)."""
        return self._error is not None

    def emit(self, event: JSONObject) -> None:
        """Queue a server event (an `event_id` is added); a full queue ends the session."""
        if self._stop.is_set():
            return
        text = json.dumps({"event_id": self._ids.new("event"), **event}, separators=(",", ":"))
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._error = SlowClientError(
                f"the client fell {self._queue_events} events behind", code="slow_client")
            self._stop.set()

    def finish(self, error: SessionEndedError) -> None:
        """Let the send loop deliver what is queued, then end the session with `error`."""
        self._error = error
        try:
            self._queue.put_nowait(_END_OF_EVENTS)
        except asyncio.QueueFull:
            self._stop.set()

    def stop(self) -> None:
        """End the session now (the client left)."""
        self._stop.set()

    async def send_loop(self, transport: RealtimeTransport) -> None:
        while (text := await self._queue.get()) is not _END_OF_EVENTS:
            await transport.send(text)
        self._stop.set()

    async def wait_ended(self, max_s: float) -> None:
        """Wait for the end; raise why (see the module)."""
        try:
            async with asyncio.timeout(max_s):
                await self._stop.wait()
        except TimeoutError:
            raise SessionExpiredError(
                f"the session reached its maximum length of {max_s:g} s", code="session_expired") from None
        if self._error is not None:
            raise self._error
        raise SessionClosed
