"""Client events of a realtime session, one handler per event type.

`handle_frame(session, frame)` never raises for bad input: a malformed event, or one that cannot
be carried out, is answered with an `error` event that names the client's `event_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.engines.vad import SpeechEvent, SpeechStarted
from voxgate.voice.realtime.conversation import validate_item
from voxgate.voice.realtime.idle_timeout import fire_idle_timeout
from voxgate.voice.realtime.out_of_band import response_conversation, response_input, start_out_of_band
from voxgate.voice.realtime.protocol import (
    ClientEvent,
    ProtocolViolation,
    decode_audio,
    parse_client_event,
    require_int,
    require_object,
    require_string,
    violation_of,
)
from voxgate.voice.realtime.session_config import (
    apply_session_update,
    parse_max_tokens,
    parse_modalities,
    parse_tools,
)
from voxgate.voice.realtime.turns import (
    BufferCleared,
    BufferCommitted,
    CancelRequested,
    ResponseRequested,
)

if TYPE_CHECKING:
    from voxgate.voice.realtime.session import RealtimeSession

_MIN_COMMIT_MS = 100

Handler = Callable[["RealtimeSession", ClientEvent], None]


def handle_frame(session: RealtimeSession, frame: str | bytes) -> None:
    event: ClientEvent | None = None
    try:
        event = parse_client_event(frame)
        _HANDLERS[event.type](session, event)
    except InvalidRequestError as exc:
        violation = violation_of(exc, event)
        session.emit_error(violation.code, violation.message, violation.param, violation.event_id)


def _session_update(session: RealtimeSession, event: ClientEvent) -> None:
    session.configure(apply_session_update(session.config, event.body.get("session")))
    session.emit({"type": "session.updated", "session": session.render_session()})


def _append(session: RealtimeSession, event: ClientEvent) -> None:
    audio = decode_audio(event, session.limits.max_append_bytes)
    for speech in session.input.append(audio):
        on_speech(session, speech, event.event_id)
    session.speculate()
    if (stopped := session.semantic_end_of_turn()) is not None:
        on_speech(session, stopped, event.event_id)
    fire_idle_timeout(session)


def on_speech(session: RealtimeSession, speech: SpeechEvent, event_id: str | None) -> None:
    """Tell the client about a speech start or stop and feed it to the turn state machine."""
    if isinstance(speech, SpeechStarted):
        session.idle.disarm()
        session.emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": speech.audio_start_ms,
                      "item_id": session.next_user_item_id})
    else:
        session.times.speech_stopped_s = session.clock.monotonic_s()
        session.emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": speech.audio_end_ms,
                      "item_id": session.next_user_item_id})
    session.turn(speech, event_id)


def _commit(session: RealtimeSession, event: ClientEvent) -> None:
    if session.input.buffered_ms < _MIN_COMMIT_MS:
        raise ProtocolViolation(
            f"buffer too small: expected at least {_MIN_COMMIT_MS} ms of audio, have {session.input.buffered_ms} ms.",
            code="input_audio_buffer_commit_empty", event_id=event.event_id)
    session.times.speech_stopped_s = session.clock.monotonic_s()
    session.idle.disarm()
    session.turn(BufferCommitted(), event.event_id)
    session.commit_buffer()


def _clear(session: RealtimeSession, event: ClientEvent) -> None:
    session.input.clear()
    session.drop_speculation()
    session.turn(BufferCleared(), event.event_id)
    session.emit({"type": "input_audio_buffer.cleared"})


def _item_create(session: RealtimeSession, event: ClientEvent) -> None:
    item = validate_item(require_object(event, "item"))
    item = {**item, "id": item.get("id") or session.ids.new("item"), "object": "realtime.item",
            "status": "completed"}
    previous = event.body.get("previous_item_id")
    previous = previous if isinstance(previous, str) and previous != "root" else None
    session.conversation.add(item, previous)
    session.emit({"type": session.names.item_created, "previous_item_id": previous or None, "item": item})
    if not session.names.beta:
        session.emit({"type": "conversation.item.done", "item": item})


def _item_truncate(session: RealtimeSession, event: ClientEvent) -> None:
    item_id = require_string(event, "item_id")
    audio_end_ms = require_int(event, "audio_end_ms")
    content_index = event.body.get("content_index", 0)
    session.conversation.truncate(item_id, audio_end_ms)
    session.emit({"type": "conversation.item.truncated", "item_id": item_id, "content_index": content_index,
                  "audio_end_ms": audio_end_ms})


def _item_delete(session: RealtimeSession, event: ClientEvent) -> None:
    item_id = require_string(event, "item_id")
    session.conversation.delete(item_id)
    session.emit({"type": "conversation.item.deleted", "item_id": item_id})


def _item_retrieve(session: RealtimeSession, event: ClientEvent) -> None:
    entry = session.conversation.get(require_string(event, "item_id"))
    session.emit({"type": "conversation.item.retrieved", "item": entry.item})


def _response_overrides(body: JSONObject) -> dict[str, Any]:
    """The `response` object of `response.create`: per-response changes to the session config."""
    overrides: dict[str, Any] = {}
    if isinstance(body.get("instructions"), str):
        overrides["instructions"] = body["instructions"]
    for key in ("output_modalities", "modalities"):
        if key in body:
            overrides["output_modalities"] = parse_modalities(body[key], f"response.{key}")
    if "tools" in body:
        overrides["tools"] = parse_tools(body["tools"], "response.tools")
    if "tool_choice" in body:
        overrides["tool_choice"] = body["tool_choice"]
    for key in ("max_output_tokens", "max_response_output_tokens"):
        if key in body:
            overrides["max_output_tokens"] = parse_max_tokens(body[key], f"response.{key}")
    if isinstance(body.get("voice"), str):
        overrides["voice"] = body["voice"]
    if isinstance(body.get("metadata"), dict):
        overrides["metadata"] = {str(k): str(v) for k, v in body["metadata"].items()}
    return overrides


def _response_create(session: RealtimeSession, event: ClientEvent) -> None:
    body = require_object(event, "response", optional=True)
    overrides = _response_overrides(body)
    if "input" in body:
        overrides["input"] = response_input(session, body["input"])
    if response_conversation(body) == "none":
        start_out_of_band(session, overrides)
        return
    if not session.state.response_active and not session.state.response_wanted:
        session.pending_overrides = overrides
    session.turn(ResponseRequested(), event.event_id)


def _response_cancel(session: RealtimeSession, event: ClientEvent) -> None:
    session.turn(CancelRequested(), event.event_id)


def _output_audio_clear(session: RealtimeSession, event: ClientEvent) -> None:
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
