"""Realtime events translated between the GA and beta shapes of OpenAI's protocol: pure, table-driven.

A client may speak either shape to any `backend: openai-realtime` model; the catalog says which shape
the model speaks (`realtime_dialect`), and `dialect_socket.DialectSocket` applies these two functions
when they differ:

    client_event_to(event, upstream_dialect)   -> the event to send up; raises Untranslatable
    server_events_to(event, client_dialect)    -> the events the client gets (none, one or two)

Client events: every type voxgate accepts exists in both shapes; `session.update`'s session,
`response.create`'s response and `conversation.item.create`'s item are rewritten (`dialect_objects`),
the rest (audio appends and commits, truncate, delete, retrieve, cancel) pass unchanged. A field with
no equivalent raises `Untranslatable`, which the client gets as a realtime `error` event.

Server events (`SERVER_RENAMES`, GA name -> beta name, used both ways):

    GA                                       beta
    response.output_audio.delta / .done      response.audio.delta / .done
    response.output_audio_transcript.*       response.audio_transcript.*
    response.output_text.delta / .done       response.text.delta / .done
    conversation.item.added                  conversation.item.created
    conversation.item.done                   -- (dropped: the beta client was told at .created)
    -- (after .added, for a completed item;  conversation.item.created with status "completed"
       and with response.output_item.done)   response.output_item.done

and the objects they carry (session, response, item) are rewritten. Events both shapes share pass
unchanged. `server_event_class` tells the rest apart: an event of the other shape with no
equivalent (GA's MCP and transcription-segment events, beta's transcription sessions), and an event
neither shape knows; both pass unchanged, and the socket counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from voxgate.core.types import JSONObject, RealtimeDialect
from voxgate.voice.native.dialect_objects import (
    Untranslatable,
    item_to,
    response_params_to,
    response_to,
    session_to,
)

__all__ = ["SERVER_RENAMES", "Untranslatable", "client_event_to", "server_event_class", "server_events_to"]

GA, BETA = RealtimeDialect.GA, RealtimeDialect.BETA

SERVER_RENAMES = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "conversation.item.added": "conversation.item.created",
}
_RENAMES_TO_GA = {beta: ga for ga, beta in SERVER_RENAMES.items()}
_SHARED_SERVER_EVENTS = frozenset({
    "error", "conversation.created", "conversation.item.retrieved", "conversation.item.truncated",
    "conversation.item.deleted", "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.failed",
    "input_audio_buffer.committed", "input_audio_buffer.cleared", "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped", "output_audio_buffer.started", "output_audio_buffer.stopped",
    "output_audio_buffer.cleared", "rate_limits.updated", "response.created", "response.done",
    "response.output_item.added", "response.output_item.done", "response.content_part.added",
    "response.content_part.done", "response.function_call_arguments.delta",
    "response.function_call_arguments.done", "session.created", "session.updated",
})
_GA_ONLY_SERVER_EVENTS = frozenset({
    "conversation.item.input_audio_transcription.segment", "input_audio_buffer.timeout_triggered",
    "input_audio_buffer.dtmf_event_received", "mcp_list_tools.in_progress", "mcp_list_tools.completed",
    "mcp_list_tools.failed", "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress", "response.mcp_call.completed", "response.mcp_call.failed",
    "session.closed",
})
_BETA_ONLY_SERVER_EVENTS = frozenset({"transcription_session.updated"})

ServerEventClass = Literal["translated", "shared", "no_equivalent", "unknown"]


def client_event_to(event: JSONObject, target: RealtimeDialect) -> JSONObject:
    """A client event (already validated by `protocol.parse_client_event`) in `target`'s shape."""
    kind = event.get("type")
    if kind == "session.update" and isinstance(event.get("session"), dict):
        return {**event, "session": session_to(event["session"], target, strict=True)}
    if kind == "response.create" and isinstance(event.get("response"), dict):
        return {**event, "response": response_params_to(event["response"], target)}
    if kind == "conversation.item.create" and isinstance(event.get("item"), dict):
        return {**event, "item": item_to(event["item"], target, strict=True)}
    return event


def server_event_class(kind: str, target: RealtimeDialect) -> ServerEventClass:
    """How an upstream event of type `kind` reaches a `target` client (see the module)."""
    renames = SERVER_RENAMES if target is BETA else _RENAMES_TO_GA
    other_only = _GA_ONLY_SERVER_EVENTS if target is BETA else _BETA_ONLY_SERVER_EVENTS
    if kind in renames or kind in _OBJECT_KEYS or kind == "conversation.item.done":
        return "translated"
    if kind in _SHARED_SERVER_EVENTS:
        return "shared"
    return "no_equivalent" if kind in other_only else "unknown"


def server_events_to(event: JSONObject, target: RealtimeDialect) -> list[JSONObject]:
    """The events a `target` client gets for one upstream event of the other shape (see the module)."""
    kind = str(event.get("type"))
    if target is BETA and kind == "conversation.item.done":
        return []
    renamed = (SERVER_RENAMES if target is BETA else _RENAMES_TO_GA).get(kind, kind)
    rewrite = _OBJECT_KEYS.get(kind)
    translated = {**event, "type": renamed}
    if rewrite is not None and isinstance(event.get(rewrite[0]), dict):
        translated[rewrite[0]] = rewrite[1](event[rewrite[0]], target)
    if target is GA and _completes_item(kind, translated):
        return [translated, {**_event_id_of(translated, "done"), "type": "conversation.item.done",
                             "item": translated["item"]}]
    return [translated]


def _completes_item(beta_kind: str, translated: JSONObject) -> bool:
    """A GA client hears `conversation.item.done` where beta has no such event (see the module)."""
    item = translated.get("item")
    if not isinstance(item, dict):
        return False
    return beta_kind == "response.output_item.done" or (
        beta_kind == "conversation.item.created" and item.get("status") == "completed")


def _event_id_of(event: JSONObject, suffix: str) -> JSONObject:
    event_id = event.get("event_id")
    return {"event_id": f"{event_id}_{suffix}"} if isinstance(event_id, str) else {}


def _server_session(session: JSONObject, target: RealtimeDialect) -> JSONObject:
    return session_to(session, target, strict=False)


def _server_item(item: JSONObject, target: RealtimeDialect) -> JSONObject:
    return item_to(item, target, strict=False)


_Rewrite = tuple[str, Callable[[JSONObject, RealtimeDialect], JSONObject]]
_OBJECT_KEYS: dict[str, _Rewrite] = {
    "session.created": ("session", _server_session),
    "session.updated": ("session", _server_session),
    "response.created": ("response", response_to),
    "response.done": ("response", response_to),
    **{kind: ("item", _server_item) for kind in (
        "response.output_item.added", "response.output_item.done", "conversation.item.created",
        "conversation.item.added", "conversation.item.done", "conversation.item.retrieved")},
}
