"""The client side of a realtime session: its transport, and how a session's task group ends.

`RealtimeTransport` is any text connection to the client (a WebSocket, a Twilio Media Streams
bridge); `SessionClosed` ends a task group quietly when the client goes; `raise_session_end`
turns the group's exceptions into the one the server maps to a close code. Shared by the
embedded session (`session`) and the native-audio proxy (`voice/native/proxy`).
"""

from __future__ import annotations

from typing import Protocol

from voxgate.core.errors import SessionEndedError


class RealtimeTransport(Protocol):
    async def receive(self) -> str | bytes | None: ...  # the next client frame; None once the client has gone

    async def send(self, text: str) -> None: ...


def raise_session_end(group: BaseExceptionGroup[BaseException]) -> None:
    """Unwrap the task group's exceptions: the client left (return), the session must end, or a bug."""
    rest = group.subgroup(lambda exc: not isinstance(exc, SessionClosed | BaseExceptionGroup))
    if rest is None:
        return
    ended = [exc for exc in rest.exceptions if isinstance(exc, SessionEndedError)]
    if ended and len(ended) == len(rest.exceptions):
        raise ended[0] from None
    raise rest


class SessionClosed(Exception):
    """The client went away: end the task group quietly (`raise_session_end` returns)."""
