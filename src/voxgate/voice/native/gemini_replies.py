"""Gemini Live server messages -> OpenAI realtime server events, in the shape the client speaks.

    Gemini Live                                OpenAI realtime
    serverContent.inputTranscription.text      (first of a turn) input_audio_buffer.speech_stopped,
                                               input_audio_buffer.committed, the user item added;
                                               conversation.item.input_audio_transcription.delta
    serverContent.modelTurn.parts[].inlineData  (first of a turn) response.created, the assistant item,
      (audio/pcm, 24 kHz)                       its audio content part; response.output_audio.delta
    serverContent.outputTranscription.text     response.output_audio_transcript.delta
    serverContent.turnComplete                 ...transcription.completed, the audio/transcript/part/
                                               item `done` events, response.done (completed)
    serverContent.interrupted                  input_audio_buffer.speech_started, then the response
                                               ends `cancelled` (reason turn_detected): barge-in
    toolCall.functionCalls[] {id, name, args}  function_call items (call_id = id), their arguments
                                               `done` event, then response.done (completed)
    usageMetadata {promptTokenCount,           response.usage of the next response.done
      responseTokenCount, totalTokenCount}
    toolCallCancellation, sessionResumptionUpdate, thought/text parts   ignored

`setupComplete` and `goAway` belong to the connection and are handled by `gemini_live`.
A turn the client cancelled (`response.cancel`) is ended at once (`cancel`); what the model still
sends for it is dropped until its `turnComplete` or `interrupted`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from voxgate.core.types import JSONObject
from voxgate.voice.realtime.protocol import EventNames, IdFactory


@dataclass
class _Response:
    id: str
    item_id: str | None = None
    transcript: str = ""
    outputs: list[JSONObject] = field(default_factory=list)


@dataclass
class _UserTurn:
    item_id: str
    transcript: str = ""


class LiveReplies:
    def __init__(self, names: EventNames, ids: IdFactory) -> None:
        self._names = names
        self._ids = ids
        self._response: _Response | None = None
        self._user: _UserTurn | None = None
        self._usage: JSONObject | None = None
        self._dropping = False
        self.call_names: dict[str, str] = {}
        self.audio_pending = False
        """Client audio went up since the last turn (the requests side sets it)."""
        self.response_requested = False
        """The client asked for a response that has not started (the requests side sets it)."""

    @property
    def in_flight(self) -> bool:
        return self._response is not None

    def translate(self, message: JSONObject) -> list[JSONObject]:
        events: list[JSONObject] = []
        if isinstance(message.get("usageMetadata"), dict):
            self._usage = _usage(message["usageMetadata"])
        content = message.get("serverContent")
        if isinstance(content, dict):
            events += self._server_content(content)
        tool_call = message.get("toolCall")
        if isinstance(tool_call, dict) and isinstance(tool_call.get("functionCalls"), list):
            events += self._function_calls([c for c in tool_call["functionCalls"] if isinstance(c, dict)])
        return events

    def cancel(self) -> list[JSONObject]:
        """`response.cancel`: the response ends now; the rest of the model's turn is dropped."""
        if self._response is None:
            return []
        self._dropping = True
        return self._close("cancelled", {"type": "cancelled", "reason": "client_cancelled"})

    # --- serverContent ------------------------------------------------------------------------

    def _server_content(self, content: JSONObject) -> list[JSONObject]:
        events: list[JSONObject] = []
        if content.get("interrupted") is True:
            events += self._barge_in()
        heard = _text(content.get("inputTranscription"))
        if heard:
            events += self._user_heard(heard)
        if not self._dropping:
            for audio in _audio_parts(content.get("modelTurn")):
                events += self._ensure_response(audio_part=True)
                events.append(self._event(self._names.audio_delta, **self._where(), delta=audio))
            spoken = _text(content.get("outputTranscription"))
            if spoken:
                events += self._ensure_response(audio_part=True)
                assert self._response is not None
                self._response.transcript += spoken
                events.append(self._event(self._names.transcript_delta, **self._where(), delta=spoken))
        if content.get("turnComplete") is True:
            events += self._turn_complete()
        return events

    def _user_heard(self, text: str) -> list[JSONObject]:
        events = self._ensure_user_item()
        assert self._user is not None
        self._user.transcript += text
        events.append(self._event("conversation.item.input_audio_transcription.delta", item_id=self._user.item_id,
                                  content_index=0, delta=text))
        return events

    def _ensure_user_item(self) -> list[JSONObject]:
        if self._user is not None:
            return []
        self._user = _UserTurn(self._ids.new("item"))
        self.audio_pending = False
        item = {"id": self._user.item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        return [self._event("input_audio_buffer.speech_stopped", item_id=self._user.item_id, audio_end_ms=0),
                self._event("input_audio_buffer.committed", item_id=self._user.item_id, previous_item_id=None),
                self._event(self._names.item_created, previous_item_id=None, item=item)]

    def _barge_in(self) -> list[JSONObject]:
        self._dropping = False
        events = [self._event("input_audio_buffer.speech_started", item_id=self._ids.new("item"), audio_start_ms=0)]
        if self._response is not None:
            events += self._close("cancelled", {"type": "cancelled", "reason": "turn_detected"})
        return events

    def _turn_complete(self) -> list[JSONObject]:
        events: list[JSONObject] = []
        if self._user is not None and self._user.transcript:
            events.append(self._event("conversation.item.input_audio_transcription.completed",
                                      item_id=self._user.item_id, content_index=0,
                                      transcript=self._user.transcript.strip()))
        self._user = None
        if self._response is None and self.response_requested and not self._dropping:
            events += self._ensure_response(audio_part=False)
        if self._response is not None:
            events += self._close("completed", None)
        self._dropping = False
        return events

    # --- responses ------------------------------------------------------------------------------

    def _ensure_response(self, *, audio_part: bool) -> list[JSONObject]:
        events: list[JSONObject] = []
        if self.audio_pending and self._user is None:
            events += self._ensure_user_item()
        if self._response is None:
            self._response = _Response(self._ids.new("resp"))
            self.response_requested = False
            events.append(self._event("response.created", response={
                "id": self._response.id, "object": "realtime.response", "status": "in_progress", "output": []}))
        if audio_part and self._response.item_id is None:
            events += self._open_audio_item(self._response)
        return events

    def _open_audio_item(self, response: _Response) -> list[JSONObject]:
        response.item_id = self._ids.new("item")
        item = {"id": response.item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}
        events = [self._event("response.output_item.added", response_id=response.id,
                              output_index=len(response.outputs), item=item)]
        if self._names.beta:
            events.append(self._event("conversation.item.created", previous_item_id=None, item=item))
        events.append(self._event("response.content_part.added", **self._where(),
                                  part={"type": self._names.audio_part, "transcript": ""}))
        return events

    def _close_audio_item(self, response: _Response) -> list[JSONObject]:
        if response.item_id is None:
            return []
        where = self._where()
        part = {"type": self._names.audio_part, "transcript": response.transcript}
        item = {"id": response.item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "completed", "content": [part]}
        response.outputs.append(item)
        response.item_id = None
        response.transcript = ""
        return [self._event(self._names.audio_done, **where),
                self._event(self._names.transcript_done, **where, transcript=part["transcript"]),
                self._event("response.content_part.done", **where, part=part),
                self._event("response.output_item.done", response_id=response.id,
                            output_index=where["output_index"], item=item)]

    def _function_calls(self, calls: list[JSONObject]) -> list[JSONObject]:
        events = self._ensure_response(audio_part=False)
        assert self._response is not None
        events += self._close_audio_item(self._response)
        for call in calls:
            call_id, name = str(call.get("id") or self._ids.new("call")), str(call.get("name", ""))
            self.call_names[call_id] = name
            arguments = json.dumps(call.get("args") if isinstance(call.get("args"), dict) else {})
            item: JSONObject = {"id": self._ids.new("item"), "object": "realtime.item", "type": "function_call",
                                "status": "in_progress", "call_id": call_id, "name": name, "arguments": ""}
            index = len(self._response.outputs)
            events.append(self._event("response.output_item.added", response_id=self._response.id,
                                      output_index=index, item=dict(item)))
            events.append(self._event("response.function_call_arguments.done", response_id=self._response.id,
                                      item_id=item["id"], output_index=index, call_id=call_id, name=name,
                                      arguments=arguments))
            item.update(status="completed", arguments=arguments)
            self._response.outputs.append(item)
            events.append(self._event("response.output_item.done", response_id=self._response.id,
                                      output_index=index, item=item))
        return events + self._close("completed", None)

    def _close(self, status: str, details: JSONObject | None) -> list[JSONObject]:
        response = self._response
        assert response is not None
        events = self._close_audio_item(response)
        self._response = None
        usage, self._usage = self._usage or _usage({}), None
        events.append(self._event("response.done", response={
            "id": response.id, "object": "realtime.response", "status": status, "status_details": details,
            "output": response.outputs, "usage": usage}))
        return events

    def _where(self) -> JSONObject:
        response = self._response
        assert response is not None
        assert response.item_id is not None
        return {"response_id": response.id, "item_id": response.item_id,
                "output_index": len(response.outputs), "content_index": 0}

    def _event(self, kind: str, **fields: Any) -> JSONObject:
        return {"type": kind, "event_id": self._ids.new("event"), **fields}


def _text(transcription: Any) -> str:
    text = transcription.get("text") if isinstance(transcription, dict) else None
    return text if isinstance(text, str) else ""


def _audio_parts(model_turn: Any) -> list[str]:
    """The base64 audio of a modelTurn's inlineData parts (thoughts and text are not spoken)."""
    parts = model_turn.get("parts") if isinstance(model_turn, dict) else None
    found = []
    for part in parts if isinstance(parts, list) else []:
        inline = part.get("inlineData") if isinstance(part, dict) else None
        if isinstance(inline, dict) and str(inline.get("mimeType", "")).startswith("audio/pcm") \
                and isinstance(inline.get("data"), str):
            found.append(inline["data"])
    return found


def _count(metadata: JSONObject, *keys: str) -> int:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return 0


def _usage(metadata: JSONObject) -> JSONObject:
    """Gemini's usageMetadata as a realtime `response.usage`."""
    prompt = _count(metadata, "promptTokenCount")
    reply = _count(metadata, "responseTokenCount", "candidatesTokenCount")
    return {"total_tokens": _count(metadata, "totalTokenCount") or prompt + reply,
            "input_tokens": prompt, "output_tokens": reply}
