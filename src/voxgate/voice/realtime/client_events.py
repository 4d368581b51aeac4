"""Client events of a realtime session, one handler per event type, typed against `SessionControl`.

`handle_frame(session, frame)` never raises for bad input: a malformed event, or one that cannot
be carried out, is answered with an `error` event that names the client's `event_id`.

Handlers parse and validate; what an event changes is the business of its owner: the session
(`SessionControl`: audio, responses, configuration) or its item log (`conversation.item.*`).
`RealtimeSession` implements `SessionControl`; nothing here imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.item_log import ItemLog
from voxgate.voice.realtime.protocol import (
    ClientEvent,
    decode_audio,
    parse_client_event,
    require_object,
    violation_of,
)
from voxgate.voice.realtime.response_create import ResponseCreate, parse_response_create
from voxgate.voice.realtime.session_config import SessionConfig, apply_session_update


class SessionControl(Protocol):
    """What client events may ask of a session."""

    @property
    def config(self) -> SessionConfig: ...

    @property
    def items(self) -> ItemLog: ...

    @property
    def max_append_bytes(self) -> int: ...

    def emit(self, event: JSONObject) -> None: ...

    def emit_error(self, code: str | None, message: str, param: str | None,
                   client_event_id: str | None) -> None: ...

    def update_config(self, config: SessionConfig) -> None:
        """Apply a new configuration and announce it (`session.updated`)."""
        ...

    def append_audio(self, audio: bytes, event_id: str | None) -> None:
        """Raw input audio in the session's format: buffer it, detect speech, act on what it completes."""
        ...

    def commit_audio(self, event_id: str | None) -> None:
        """Make the input buffer a user turn; raise ProtocolViolation when it holds too little audio."""
        ...

    def clear_audio(self, event_id: str | None) -> None: ...

    def create_response(self, request: ResponseCreate, event_id: str | None) -> None: ...

    def cancel_response(self, event_id: str | None) -> None: ...


Handler = Callable[[SessionControl, ClientEvent], None]


def handle_frame(session: SessionControl, frame: str | bytes) -> None:
    event: ClientEvent | None = None
    try:
        event = parse_client_event(frame)
        _HANDLERS[event.type](session, event)
    except InvalidRequestError as exc:
        violation = violation_of(exc, event)
        session.emit_error(violation.code, violation.message, violation.param, violation.event_id)


def _session_update(session: SessionControl, event: ClientEvent) -> None:
    session.update_config(apply_session_update(session.config, event.body.get("session")))


def _append(session: SessionControl, event: ClientEvent) -> None:
    session.append_audio(decode_audio(event, session.max_append_bytes), event.event_id)


def _commit(session: SessionControl, event: ClientEvent) -> None:
    session.commit_audio(event.event_id)


def _clear(session: SessionControl, event: ClientEvent) -> None:
    session.clear_audio(event.event_id)


def _item_create(session: SessionControl, event: ClientEvent) -> None:
    session.items.create(event)


def _item_truncate(session: SessionControl, event: ClientEvent) -> None:
    session.items.truncate(event)


def _item_delete(session: SessionControl, event: ClientEvent) -> None:
    session.items.delete(event)


def _item_retrieve(session: SessionControl, event: ClientEvent) -> None:
    session.items.retrieve(event)


def _response_create(session: SessionControl, event: ClientEvent) -> None:
    body = require_object(event, "response", optional=True)
    request = parse_response_create(body, session.items.conversation, session.items.new_item_id)
    session.create_response(request, event.event_id)


def _response_cancel(session: SessionControl, event: ClientEvent) -> None:
    session.cancel_response(event.event_id)


def _output_audio_clear(session: SessionControl, event: ClientEvent) -> None:
    session.emit({"type": "output_audio_buffer.cleared", "response_id": None})


_HANDLERS: dict[str, Handler] = {
    "session.update": _session_update,
    "input_audio_buffer.append": _append,
    "input_audio_buffer.commit": _commit,
    "input_audio_buffer.clear": _clear,
    "conversation.item.create": _item_create,
    "conversation.item.truncate": _item_truncate,
    "conversation.item.delete": _item_delete,
    "conversation.item.retrieve": _item_retrieve,
    "response.create": _response_create,
    "response.cancel": _response_cancel,
    "output_audio_buffer.clear": _output_audio_clear,
}
