"""The OpenAI Realtime wire protocol: client events in (validated), server events out (GA or beta).

    event = parse_client_event(text, limits)     # ClientEvent, or raises ProtocolViolation
    names = EventNames.for_shape(beta=True)      # the shape's names for audio/text events
    error_event(violation)                       # the realtime `error` server event

The official `openai` SDK's pydantic models (`openai.types.realtime`, `openai.types.beta.realtime`)
are the spec. The two shapes differ only in some server event names and content part types:

    GA                                        beta (`OpenAI-Beta: realtime=v1`)
    response.output_audio.delta / .done       response.audio.delta / .done
    response.output_audio_transcript.delta    response.audio_transcript.delta
    response.output_text.delta / .done        response.text.delta / .done
    conversation.item.added (+ .done)         conversation.item.created
    assistant content output_audio/output_text  audio/text

Every malformed client event becomes a `ProtocolViolation` with an error `code`, the offending
`param` and the client's `event_id`; the session answers it with an `error` event and carries on.

    code                     cause
    invalid_json             the frame is not a JSON object
    missing_required_parameter  no `type`, or an event lacks a required field
    unknown_event_type       `type` names no client event
    invalid_base64           `audio` is not base64
    invalid_audio            PCM16 audio with an odd number of bytes
    audio_too_large          one append decodes to more than `max_append_bytes` (15 MiB)
    input_audio_buffer_full  the input buffer would exceed the session's audio cap
    invalid_value            a field has the wrong type or an unsupported value
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
from dataclasses import dataclass

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.core.unicode_check import lone_surrogate_path

CLIENT_EVENT_TYPES = frozenset({
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
})
_MAX_EVENT_ID_CHARS = 512


class ProtocolViolation(InvalidRequestError):
    """A client event the session cannot act on; answered with an `error` event, not a close."""

    def __init__(self, message: str, *, code: str, param: str | None = None, event_id: str | None = None) -> None:
        super().__init__(message, param=param, code=code)
        self.event_id = event_id


@dataclass(frozen=True)
class ClientEvent:
    type: str
    event_id: str | None
    body: JSONObject


def parse_client_event(text: str | bytes) -> ClientEvent:
    """Parse one WebSocket frame into a ClientEvent; raise ProtocolViolation when it is not one."""
    try:
        body = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolViolation(f"The event is not valid JSON: {exc}.", code="invalid_json") from exc
    except RecursionError as exc:
        raise ProtocolViolation("The event nests arrays or objects too deeply to parse.", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ProtocolViolation("An event must be a JSON object with a `type`.", code="invalid_json")
    event_id = body.get("event_id")
    if not isinstance(event_id, str) or len(event_id) > _MAX_EVENT_ID_CHARS or lone_surrogate_path(event_id):
        event_id = None
    bad_text = lone_surrogate_path(body)
    if bad_text is not None:
        raise ProtocolViolation(
            f"`{bad_text[:200]}` holds a lone UTF-16 surrogate escape, which is not valid Unicode; "
            "send valid UTF-8 text.",
            code="invalid_json", param=bad_text[:200], event_id=event_id,
        )
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ProtocolViolation(
            "The event has no `type`.", code="missing_required_parameter", param="type", event_id=event_id
        )
    if kind not in CLIENT_EVENT_TYPES:
        raise ProtocolViolation(
            f"Unknown event type {kind[:64]!r}; expected one of {sorted(CLIENT_EVENT_TYPES)}.",
            code="unknown_event_type", param="type", event_id=event_id,
        )
    return ClientEvent(kind, event_id, body)


def decode_audio(event: ClientEvent, max_bytes: int) -> bytes:
    """The `audio` of an `input_audio_buffer.append`, base64-decoded and size-checked."""
    audio = event.body.get("audio")
    if not isinstance(audio, str):
        raise ProtocolViolation(
            "`audio` is required: base64-encoded audio in the session's input format.",
            code="missing_required_parameter", param="audio", event_id=event.event_id,
        )
    if len(audio) * 3 // 4 > max_bytes:
        raise ProtocolViolation(
            f"One append may carry at most {max_bytes} bytes of audio; send smaller chunks.",
            code="audio_too_large", param="audio", event_id=event.event_id,
        )
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolViolation(
            f"`audio` is not valid base64: {exc}.", code="invalid_base64", param="audio", event_id=event.event_id
        ) from exc


def require_string(event: ClientEvent, key: str) -> str:
    value = event.body.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolViolation(
            f"`{key}` is required and must be a string.", code="missing_required_parameter", param=key,
            event_id=event.event_id,
        )
    return value


def require_object(event: ClientEvent, key: str, *, optional: bool = False) -> JSONObject:
    value = event.body.get(key)
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise ProtocolViolation(
            f"`{key}` is required and must be an object.", code="missing_required_parameter", param=key,
            event_id=event.event_id,
        )
    return value


def require_int(event: ClientEvent, key: str) -> int:
    value = event.body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolViolation(
            f"`{key}` must be a non-negative integer.", code="invalid_value", param=key, event_id=event.event_id
        )
    return value


def error_event(event_id: str, code: str | None, message: str, param: str | None = None,
                client_event_id: str | None = None, error_type: str = "invalid_request_error") -> JSONObject:
    return {
        "type": "error",
        "event_id": event_id,
        "error": {"type": error_type, "code": code, "message": message, "param": param,
                  "event_id": client_event_id},
    }


def violation_of(exc: InvalidRequestError, event: ClientEvent | None) -> ProtocolViolation:
    """Attach the client event's id to an InvalidRequestError raised while handling it."""
    if isinstance(exc, ProtocolViolation):
        return exc
    return ProtocolViolation(exc.message, code=exc.code or "invalid_value", param=exc.param,
                             event_id=event.event_id if event else None)


class IdFactory:
    """Short ids with OpenAI's prefixes (`event_`, `item_`, `resp_`, `sess_`, `call_`), unique per session."""

    def __init__(self) -> None:
        self._salt = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}_{self._salt}{next(self._counter):06d}"


@dataclass(frozen=True)
class EventNames:
    """Server event names and content part types that differ between the GA and beta shapes."""

    audio_delta: str
    audio_done: str
    transcript_delta: str
    transcript_done: str
    text_delta: str
    text_done: str
    item_created: str
    audio_part: str
    text_part: str
    beta: bool

    @staticmethod
    def for_shape(*, beta: bool) -> EventNames:
        if beta:
            return EventNames("response.audio.delta", "response.audio.done", "response.audio_transcript.delta",
                              "response.audio_transcript.done", "response.text.delta", "response.text.done",
                              "conversation.item.created", "audio", "text", True)
        return EventNames("response.output_audio.delta", "response.output_audio.done",
                          "response.output_audio_transcript.delta", "response.output_audio_transcript.done",
                          "response.output_text.delta", "response.output_text.done", "conversation.item.added",
                          "output_audio", "output_text", False)


def encode_audio(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def usage_json(prompt_tokens: int, completion_tokens: int, audio_tokens: int = 0) -> JSONObject:
    """`response.usage` in the realtime shape (text tokens from the router; audio tokens estimated)."""
    return {
        "total_tokens": prompt_tokens + completion_tokens + audio_tokens,
        "input_tokens": prompt_tokens,
        "output_tokens": completion_tokens + audio_tokens,
        "input_token_details": {"text_tokens": prompt_tokens, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"text_tokens": completion_tokens, "audio_tokens": audio_tokens},
    }

