"""Which requests go first when a bundled model's slots are all busy.

A voice turn has a person waiting in silence; a chat request has a client that can wait a little.
The realtime reply marks its upstream call with `voice_priority()`; the bundled models' slot gates
(`backends/slot_gate`) serve waiting voice calls before waiting chat calls. A context variable, so
the mark travels with the call through routing and the dispatcher without every layer passing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum


class Priority(IntEnum):
    """Lower goes first."""

    VOICE = 0
    CHAT = 1


_CURRENT: ContextVar[Priority] = ContextVar("voxgate_request_priority", default=Priority.CHAT)


def current_priority() -> Priority:
    return _CURRENT.get()


@contextmanager
def voice_priority() -> Iterator[None]:
    """Calls started inside this block (and tasks created in it) wait as voice calls."""
    token = _CURRENT.set(Priority.VOICE)
    try:
        yield
    finally:
        _CURRENT.reset(token)
