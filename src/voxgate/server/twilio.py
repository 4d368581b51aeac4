"""Phone calls: Twilio Media Streams on a WebSocket, driving a realtime voice session.

    TwiML:  <Connect><Stream url="wss://HOST/v1/twilio/media-stream">
              <Parameter name="api_key" value="sk-vg-..."/>    (a virtual key, or one of api_keys)
              <Parameter name="instructions" value="You are a helpful receptionist."/>
            </Stream></Connect>

Twilio sends JSON messages: `connected`, `start` (the stream's `streamSid`, its `mediaFormat`
— μ-law, 8 kHz, mono — and `customParameters`), `media` (base64 μ-law of the caller), `mark`
(a mark we sent has been played), `dtmf` and `stop`. `TwilioTransport` turns them into the
realtime API's client events for a `RealtimeSession` (a `session.update` for G.711 μ-law both
ways with server VAD, then `input_audio_buffer.append`) and the session's server events back into
Twilio's: `response.output_audio.delta` -> `media`, the end of a spoken response -> `mark`, and
`input_audio_buffer.speech_started` (the caller talks over the reply: barge-in) -> `clear`, which
drops the audio Twilio still holds, and a `conversation.item.truncate` to the session so the
reply keeps only what the caller heard (Twilio plays in real time; a reply whose mark came back
was heard whole). The session is the same one `/v1/realtime` runs: routed
replies, tools off, turn metrics recorded.

Twilio cannot send headers on the WebSocket upgrade, and its `<Stream url>` takes no query string,
so the key comes as the `api_key` custom parameter, which arrives in the `start` message. It is
checked like an `Authorization` header (`server/auth.caller_key`) before any session exists: an
unknown or wrong key closes the socket with 1008 `invalid_api_key`, a revoked one 1008
`revoked_api_key`, a key past a budget 1008 `insufficient_quota`, and a key whose concurrent voice
sessions (`max_voice_sessions`, shared by replicas through Redis) are all open 1013
`voice_session_limit`. A call under a virtual key then holds one of those slots until it ends and
is charged like a realtime session: each turn's LLM tokens by its decision, the seconds heard and
spoken at `voice.price` (`server/speech_spend`). The key is never logged; refusals log their code.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import DecisionLogUnavailableError, InvalidRequestError, RequestError, SessionEndedError
from voxgate.core.keys import VirtualKey
from voxgate.core.types import JSONObject
from voxgate.server.auth import KeyRefused, caller_key
from voxgate.server.errors import (
    WS_CLOSE_INTERNAL_ERROR,
    WS_CLOSE_NORMAL,
    WS_CLOSE_POLICY_VIOLATION,
    WS_CLOSE_TRY_AGAIN_LATER,
    realtime_close_code,
)
from voxgate.server.gateway import Gateway
from voxgate.server.realtime import new_session
from voxgate.server.speech_spend import SpeechBilling

log = logging.getLogger("voxgate.twilio")
TWILIO_MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
DEFAULT_INSTRUCTIONS = "You are a helpful voice assistant on a phone call. Answer in one or two short sentences."
MAX_INSTRUCTIONS_CHARS = 4000


class TwilioTransport:
    """`RealtimeTransport` over a Twilio Media Streams socket: translates in both directions."""

    def __init__(self, websocket: WebSocket, clock: Clock | None = None) -> None:
        self._websocket = websocket
        self._clock = clock or SystemClock()
        self.stream_sid: str | None = None
        self.marks_played: list[str] = []
        self.clears_sent = 0
        self._playing: _PlayingItem | None = None
        self._pending: list[JSONObject] = []  # client events the bridge itself sends (session.update, truncate)

    async def wait_start(self) -> dict[str, Any] | None:
        """Read up to the `start` message: its `customParameters` (the session's `session.update` is
        queued for `receive`), or None when the call ended first."""
        while True:
            message = await self._next_message()
            if message is None or message["event"] == "stop":
                return None
            if message["event"] == "start":
                self._pending.append(self._started(message.get("start")))
                parameters = message["start"].get("customParameters")
                return parameters if isinstance(parameters, dict) else {}

    async def receive(self) -> str | None:
        """The next client event for the session, or None when the call has ended."""
        while True:
            if self._pending:
                return json.dumps(self._pending.pop(0), separators=(",", ":"))
            message = await self._next_message()
            if message is None or message["event"] == "stop":  # hung up
                return None
            event = self._client_event(message)
            if event is not None:
                return json.dumps(event, separators=(",", ":"))

    async def _next_message(self) -> JSONObject | None:
        received = await self._websocket.receive()
        if received["type"] == "websocket.disconnect":
            return None
        text = received.get("text")
        try:
            message = json.loads(text) if text is not None else None
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            raise InvalidRequestError("a Media Streams message must be a JSON object with an `event`")
        return message

    def _client_event(self, message: JSONObject) -> JSONObject | None:
        kind = message["event"]
        if kind == "start":
            return self._started(message.get("start"))
        if self.stream_sid is None:
            return None  # `connected`, or anything before `start`
        if kind == "media":
            media = message.get("media")
            if isinstance(media, dict) and media.get("track", "inbound") == "inbound" \
                    and isinstance(media.get("payload"), str):
                return {"type": "input_audio_buffer.append", "audio": media["payload"]}
        elif kind == "mark":
            mark = message.get("mark")
            if isinstance(mark, dict) and isinstance(mark.get("name"), str):
                self.marks_played.append(mark["name"])
        return None  # dtmf and anything newer: nothing for the session

    def _started(self, start: Any) -> JSONObject:
        if not isinstance(start, dict) or not isinstance(start.get("streamSid"), str):
            raise InvalidRequestError("`start` must carry a `streamSid`")
        media_format = start.get("mediaFormat") or TWILIO_MEDIA_FORMAT
        if {k: media_format.get(k) for k in TWILIO_MEDIA_FORMAT} != TWILIO_MEDIA_FORMAT:
            raise InvalidRequestError(f"expected mediaFormat {TWILIO_MEDIA_FORMAT}, got {media_format}")
        parameters = start.get("customParameters") or {}
        self.stream_sid = start["streamSid"]
        instructions = parameters.get("instructions")
        if not isinstance(instructions, str) or not instructions.strip():
            instructions = DEFAULT_INSTRUCTIONS
        formats = {"format": {"type": "audio/pcmu"}}
        return {"type": "session.update", "session": {
            "type": "realtime", "instructions": instructions[:MAX_INSTRUCTIONS_CHARS],
            "audio": {"input": {**formats, "turn_detection": {"type": "server_vad"}}, "output": formats}}}

    async def send(self, text: str) -> None:
        """One server event from the session, as Twilio messages (most events have none)."""
        if self.stream_sid is None:
            return
        event = json.loads(text)
        kind = event.get("type")
        messages: list[JSONObject] = []
        if kind in ("response.output_audio.delta", "response.audio.delta"):
            messages.append({"event": "media", "streamSid": self.stream_sid, "media": {"payload": event["delta"]}})
            self._count_sent(str(event.get("item_id", "")), event["delta"])
        elif kind in ("response.output_audio.done", "response.audio.done"):
            messages.append({"event": "mark", "streamSid": self.stream_sid,
                             "mark": {"name": str(event.get("item_id", "reply"))}})
        elif kind == "input_audio_buffer.speech_started":
            messages.append({"event": "clear", "streamSid": self.stream_sid})
            self.clears_sent += 1
            self._truncate_unheard()
        elif kind == "error":
            log.info("twilio call %s: session error %s", self.stream_sid, event.get("error", {}).get("code"))
        for message in messages:
            with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
                await self._websocket.send_text(json.dumps(message, separators=(",", ":")))


    def _count_sent(self, item_id: str, delta: str) -> None:
        if self._playing is None or self._playing.item_id != item_id:
            self._playing = _PlayingItem(item_id, self._clock.monotonic_s())
        self._playing.sent_bytes += len(delta) * 3 // 4  # base64: 4 characters per 3 bytes of μ-law

    def _truncate_unheard(self) -> None:
        """The caller talked over the reply: keep in the conversation only what Twilio has played.

        Twilio plays audio in real time from the first byte, so the caller has heard the least of
        what was sent and the time since it started; a reply whose mark came back was heard whole.
        """
        playing, self._playing = self._playing, None
        if playing is None or playing.item_id in self.marks_played:
            return
        sent_ms = playing.sent_bytes // 8
        heard_ms = min(sent_ms, round((self._clock.monotonic_s() - playing.started_s) * 1000))
        self._pending.append({"type": "conversation.item.truncate", "item_id": playing.item_id,
                              "content_index": 0, "audio_end_ms": max(0, heard_ms)})


@dataclass
class _PlayingItem:
    """The reply audio going to the phone: which item, since when, how much."""

    item_id: str
    started_s: float
    sent_bytes: int = 0


class CallRefused(Exception):
    """A call that may not start: the close code and reason (a code, never the key)."""

    def __init__(self, close_code: int, reason: str) -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


async def call_key(gateway: Gateway, parameters: dict[str, Any]) -> VirtualKey | None:
    """The virtual key of a call's `api_key` parameter (None: a configured api_keys key, or an open
    API), checked as a header would be and against the key's budgets; `CallRefused` otherwise."""
    settings = gateway.settings
    presented = str(parameters.get("api_key", "")).encode()
    try:
        key = await caller_key(presented, [k.encode() for k in settings.api_keys], gateway.keys,
                               open_api=not settings.api_keys and settings.admin_key is None)
        await gateway.key_gate.admit_session(key)
    except KeyRefused as refused:
        raise CallRefused(WS_CLOSE_POLICY_VIOLATION, refused.code) from refused
    except DecisionLogUnavailableError as exc:
        raise CallRefused(WS_CLOSE_TRY_AGAIN_LATER, exc.code or "key_store_unavailable") from exc
    except RequestError as exc:
        raise CallRefused(WS_CLOSE_POLICY_VIOLATION, exc.code or "refused") from exc
    return key


async def twilio_media_stream(websocket: WebSocket) -> None:
    """One phone call per connection: the key checked and a voice slot taken at `start`, then a session."""
    gateway: Gateway = websocket.app.state.gateway
    await websocket.accept()
    if gateway.voice is None or gateway.dispatcher is None or not gateway.ready.is_set():
        await _close(websocket, WS_CLOSE_TRY_AGAIN_LATER, "voxgate is not ready for calls")
        return
    transport = TwilioTransport(websocket, gateway.clock)
    try:
        parameters = await transport.wait_start()
        if parameters is None:
            await _close(websocket, WS_CLOSE_NORMAL, "")
            return
        key = await call_key(gateway, parameters)
    except InvalidRequestError as exc:
        await _close(websocket, WS_CLOSE_INTERNAL_ERROR, str(exc)[:120])
        return
    except CallRefused as refused:
        log.info("twilio call refused: %s", refused.reason)
        await _close(websocket, refused.close_code, refused.reason)
        return
    except WebSocketDisconnect:
        return
    lease = await gateway.key_gate.open_voice_session(key)
    if lease is None:
        log.info("twilio call refused: voice_session_limit")
        await _close(websocket, WS_CLOSE_TRY_AGAIN_LATER, "voice_session_limit")
        return
    try:
        code, reason = await _run_call(gateway, transport, key, websocket.headers)
    finally:
        with anyio.CancelScope(shield=True):  # the slot comes back even when the call is cancelled
            await gateway.key_gate.close_voice_session(lease)
    await _close(websocket, code, reason)


async def _run_call(gateway: Gateway, transport: TwilioTransport, key: VirtualKey | None,
                    headers: Mapping[str, str]) -> tuple[int, str]:
    """Run the call's session, charged to `key`; the close code and reason it ended with."""
    billing = SpeechBilling(gateway, key)
    code, reason = WS_CLOSE_NORMAL, ""
    try:
        session = new_session(gateway, "auto", headers, beta=False, extension_events=False, key=key, billing=billing)
        await session.run(transport)
    except* SessionEndedError as group:
        ended = group.exceptions[0]
        assert isinstance(ended, SessionEndedError)
        code, reason = realtime_close_code(ended), ended.code or ""
    except* (InvalidRequestError, WebSocketDisconnect) as group:
        log.info("twilio call ended: %s", type(group.exceptions[0]).__name__)
        code, reason = WS_CLOSE_INTERNAL_ERROR, str(group.exceptions[0])[:120]
    finally:
        billing.charge()  # audio heard after the last turn
    return code, reason


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # the caller is already gone
        await websocket.close(code, reason)
