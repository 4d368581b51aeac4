"""OpenAI realtime client events -> Gemini Live client messages (and what voxgate answers itself).

    OpenAI realtime                            Gemini Live
    session.update (the first)                 setup (`gemini_setup`); session.updated follows setupComplete
    session.update (later, changing setup)     nothing: an `error` event (session_update_unsupported)
    input_audio_buffer.append (PCM16 24 kHz)   realtimeInput.audio {data: PCM16 16 kHz, mimeType}
                                               (manual turns: realtimeInput.activityStart first)
    input_audio_buffer.commit                  manual turns: realtimeInput.activityEnd;
                                               automatic: realtimeInput.audioStreamEnd
    input_audio_buffer.clear                   nothing: input_audio_buffer.cleared
    conversation.item.create (user text)       clientContent {turns: [user text], turnComplete: false}
    conversation.item.create                   toolResponse.functionResponses[] {id: call_id, name,
      (function_call_output)                     response: {output}}
    response.create                            clientContent {turnComplete: true}; nothing after an
                                               activityEnd or a toolResponse (the model answers those)
    conversation.item.truncate                 nothing: conversation.item.truncated (the client's
                                               playback is cut; Gemini keeps no audio item to trim)
    response.cancel                            nothing upstream (`gemini_replies.LiveReplies.cancel`)
    anything else                              an `error` event (unsupported_event)

Before `setup` has gone, any other event sends it first with the defaults.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from voxgate.core.types import JSONObject
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import StreamingResampler
from voxgate.voice.native.gemini_replies import LiveReplies
from voxgate.voice.native.gemini_setup import INPUT_MIME, INPUT_RATE_HZ, LiveSettings, settings_after, setup_message
from voxgate.voice.realtime.protocol import EventNames, IdFactory, error_event

CLIENT_RATE_HZ = 24_000


@dataclass
class Translation:
    upstream: list[JSONObject] = field(default_factory=list)
    client: list[JSONObject] = field(default_factory=list)


class LiveRequests:
    def __init__(self, api_model: str, names: EventNames, ids: IdFactory, replies: LiveReplies) -> None:
        self._api_model = api_model
        self._names = names
        self._ids = ids
        self._replies = replies
        self.settings = LiveSettings()
        self.setup_sent = False
        self._resampler = StreamingResampler(CLIENT_RATE_HZ, INPUT_RATE_HZ)
        self._activity_open = False
        self._answer_coming = False

    def translate(self, event: JSONObject) -> Translation:
        out = Translation()
        kind = event.get("type")
        if kind == "session.update":
            self._session_update(event.get("session"), out)
            return out
        if not self.setup_sent:
            self._setup(out)
        handler = {
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self._item_create,
            "response.create": self._response_create,
            "conversation.item.truncate": self._truncate,
        }.get(str(kind))
        if handler is None:
            out.client.append(self._error(event, "unsupported_event",
                                          f"{kind} is not supported by a gemini-live session"))
        else:
            handler(event, out)
        return out

    def _setup(self, out: Translation) -> None:
        self.setup_sent = True
        out.upstream.append(setup_message(self._api_model, self.settings))

    def _session_update(self, session: Any, out: Translation) -> None:
        wanted = settings_after(session, self.settings)
        if not self.setup_sent:
            self.settings = wanted
            self._setup(out)
        elif wanted != self.settings:
            out.client.append(self._error(
                {}, "session_update_unsupported",
                "a gemini-live session takes its instructions, tools, voice and turn detection once, in its "
                "first session.update (before any audio); this update was not applied", param="session"))
        else:
            out.client.append(self._event("session.updated", session=None))

    def _append(self, event: JSONObject, out: Translation) -> None:
        try:
            pcm16 = base64.b64decode(str(event.get("audio", "")), validate=True)
        except (binascii.Error, ValueError):
            out.client.append(self._error(event, "invalid_audio", "`audio` must be base64 PCM16", param="audio"))
            return
        pcm16 = pcm16[: len(pcm16) // 2 * 2]
        if self.settings.manual_turns and not self._activity_open:
            self._activity_open = True
            out.upstream.append({"realtimeInput": {"activityStart": {}}})
        resampled = float_to_pcm16(self._resampler.process(pcm16_to_float(pcm16)))
        self._replies.audio_pending = True
        out.upstream.append({"realtimeInput": {"audio": {
            "data": base64.b64encode(resampled).decode("ascii"), "mimeType": INPUT_MIME}}})

    def _commit(self, event: JSONObject, out: Translation) -> None:
        if self.settings.manual_turns:
            if self._activity_open:
                self._activity_open = False
                self._answer_coming = True
                out.upstream.append({"realtimeInput": {"activityEnd": {}}})
        else:
            out.upstream.append({"realtimeInput": {"audioStreamEnd": True}})

    def _clear(self, event: JSONObject, out: Translation) -> None:
        out.client.append(self._event("input_audio_buffer.cleared"))

    def _item_create(self, event: JSONObject, out: Translation) -> None:
        item = event.get("item")
        item = item if isinstance(item, dict) else {}
        item_id = item.get("id") if isinstance(item.get("id"), str) else self._ids.new("item")
        if item.get("type") == "function_call_output":
            call_id = str(item.get("call_id", ""))
            self._answer_coming = True
            out.upstream.append({"toolResponse": {"functionResponses": [{
                "id": call_id, "name": self._replies.call_names.get(call_id, ""),
                "response": {"output": item.get("output", "")}}]}})
        elif item.get("type", "message") == "message" and item.get("role") in ("user", "system"):
            texts = [p.get("text") for p in item.get("content") or [] if isinstance(p, dict)]
            parts = [{"text": t} for t in texts if isinstance(t, str)]
            out.upstream.append({"clientContent": {"turns": [{"role": "user", "parts": parts}], "turnComplete": False}})
        else:
            out.client.append(self._error(event, "unsupported_item", "a gemini-live session takes user text "
                                          "messages and function_call_output items", param="item"))
            return
        out.client.append(self._event(self._names.item_created, previous_item_id=None,
                                      item={**item, "id": item_id, "object": "realtime.item", "status": "completed"}))

    def _response_create(self, event: JSONObject, out: Translation) -> None:
        self._replies.response_requested = True
        if self._answer_coming:  # the model answers an activityEnd or a toolResponse by itself
            self._answer_coming = False
            return
        out.upstream.append({"clientContent": {"turns": [], "turnComplete": True}})

    def _truncate(self, event: JSONObject, out: Translation) -> None:
        out.client.append(self._event("conversation.item.truncated", item_id=event.get("item_id"),
                                      content_index=event.get("content_index", 0),
                                      audio_end_ms=event.get("audio_end_ms", 0)))

    def _event(self, kind: str, **fields: Any) -> JSONObject:
        return {"type": kind, "event_id": self._ids.new("event"), **fields}

    def _error(self, event: JSONObject, code: str, message: str, *, param: str | None = None) -> JSONObject:
        client_event_id = event.get("event_id")
        return error_event(self._ids.new("event"), code, message, param,
                           client_event_id if isinstance(client_event_id, str) else None)
