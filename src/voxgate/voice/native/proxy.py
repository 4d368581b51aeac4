"""A realtime session proxied whole to a native-audio model.

    proxy = NativeSessionProxy(upstream, ProxyOptions(decision_id, model_id, max_session_s=1800))
    await proxy.run(client)     # returns when the client leaves; raises a SessionEndedError when
                                # the session must close (UpstreamSessionError: the model failed)
    proxy.turns.usage           # tokens the model reported over the session

Client events are checked like the local session's (`protocol.parse_client_event`: a malformed one
is answered here with an `error` event and never sent on) and relayed in the shape the client
speaks (an upstream of another protocol translates behind `UpstreamSocket`: `dialect_socket` for an
OpenAI-realtime model of the other shape, `gemini_live`); tools, `response.create`/`cancel`,
`conversation.item.truncate` and the rest pass unchanged.
Audio is converted when the client asked for G.711 (`formats`, `audio_bridge`). Server events come
back unchanged except: audio deltas (converted), `session.created`/`updated` (the client's formats),
`response.done` (metadata `voxgate_decision_id`, `voxgate_model`), followed by `voxgate.turn.metrics`
(with `extension_events`), and `voxgate.session.routed` after `session.created`.

Two relay tasks (and a drain watch) share one TaskGroup; the session ends when either side closes.
An upstream that closes, fails or sends a frame that is not a realtime event ends the session with
an `error` event (`upstream_closed`, `upstream_error`, `upstream_protocol_error`; a translating
upstream also `upstream_auth_failed`, `upstream_going_away`: `failure_code`) and UpstreamSessionError.
`max_session_s` ends it with SessionExpiredError; `shutdown` (SIGTERM) once no response is in
flight, with ServerShuttingDownError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import (
    BackendError,
    BackendGoingAwayError,
    BackendProtocolError,
    BackendStatusError,
    InvalidRequestError,
    ServerShuttingDownError,
    SessionExpiredError,
    UpstreamSessionError,
)
from voxgate.core.types import JSONObject
from voxgate.voice.audio.formats import AudioFormat
from voxgate.voice.native.audio_bridge import AudioBridge
from voxgate.voice.native.formats import ClientFormats, client_formats, with_client_formats, with_upstream_formats
from voxgate.voice.native.turn_metrics import TurnClock
from voxgate.voice.realtime.protocol import (
    ClientEvent,
    IdFactory,
    ProtocolViolation,
    decode_audio,
    encode_audio,
    error_event,
    parse_client_event,
    violation_of,
)
from voxgate.voice.realtime.transport import RealtimeTransport, SessionClosed, raise_session_end

_AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
_AUDIO_DONES = frozenset({"response.output_audio.done", "response.audio.done"})


class UpstreamSocket(Protocol):
    """The upstream side: `backends.realtime_upstream.RealtimeUpstream`, or a test's fake."""

    async def send(self, text: str) -> Sequence[str]:
        """Send one client event up; returns the events the client is answered at once (a translating
        upstream such as `gemini_live.GeminiLiveSocket` answers some itself)."""
        ...

    async def receive(self) -> str | None:
        """The next server event's text; None once the upstream has closed."""
        ...


@dataclass(frozen=True)
class ProxyOptions:
    decision_id: str
    model_id: str
    max_session_s: float = 30 * 60.0
    max_append_bytes: int = 15 * 1024 * 1024
    extension_events: bool = True


class NativeSessionProxy:
    def __init__(self, upstream: UpstreamSocket, options: ProxyOptions, *, clock: Clock | None = None,
                 on_turn_metrics: Callable[[JSONObject], None] | None = None,
                 on_first_audio: Callable[[float], None] | None = None,
                 shutdown: asyncio.Event | None = None) -> None:
        self._upstream = upstream
        self._options = options
        self._on_turn_metrics = on_turn_metrics
        self._on_first_audio = on_first_audio
        self._shutdown = shutdown
        self.turns = TurnClock(clock or SystemClock(), options.decision_id, options.model_id)
        self._formats = ClientFormats()
        self._bridge = AudioBridge()
        self._ids = IdFactory()
        self._send_lock = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self, client: RealtimeTransport) -> None:
        try:
            async with asyncio.timeout(self._options.max_session_s), asyncio.TaskGroup() as tasks:
                tasks.create_task(self._client_to_upstream(client))
                tasks.create_task(self._upstream_to_client(client))
                if self._shutdown is not None:
                    tasks.create_task(self._drain_on(self._shutdown))
        except TimeoutError:
            raise SessionExpiredError(
                f"the session reached its maximum length of {self._options.max_session_s:g} s",
                code="session_expired") from None
        except BaseExceptionGroup as group:
            raise_session_end(group)

    # --- client -> upstream ------------------------------------------------------------------

    async def _client_to_upstream(self, client: RealtimeTransport) -> None:
        while (frame := await client.receive()) is not None:
            try:
                text = self._upstream_text(frame)
            except ProtocolViolation as exc:
                await self._send(client, error_event(self._ids.new("event"), exc.code, exc.message, exc.param,
                                                     exc.event_id))
                continue
            try:
                replies = await self._upstream.send(text)
            except BackendError as exc:
                await self._fail(client, "upstream_error", f"the native-audio model failed: {exc.message}")
            for reply in replies:
                for outgoing in self._client_texts(reply, json.loads(reply)):
                    await self._send_text(client, outgoing)
        raise SessionClosed

    def _upstream_text(self, frame: str | bytes) -> str:
        """The text to send upstream for one client frame; raises a ProtocolViolation."""
        event = parse_client_event(frame)
        try:
            return self._translated(event, frame)
        except InvalidRequestError as exc:
            raise violation_of(exc, event) from exc

    def _translated(self, event: ClientEvent, frame: str | bytes) -> str:
        if event.type == "input_audio_buffer.append" and self._formats.input is not AudioFormat.PCM16:
            pcm16 = self._bridge.to_upstream(decode_audio(event, self._options.max_append_bytes))
            return _dumps({**event.body, "audio": encode_audio(pcm16)})
        if event.type == "session.update" and isinstance(event.body.get("session"), dict):
            session = event.body["session"]
            self._formats = client_formats(session, self._formats)
            self._bridge.reconfigure(self._formats)
            return _dumps({**event.body, "session": with_upstream_formats(session)})
        return frame if isinstance(frame, str) else frame.decode()

    # --- upstream -> client ------------------------------------------------------------------

    async def _upstream_to_client(self, client: RealtimeTransport) -> None:
        while True:
            try:
                text = await self._upstream.receive()
            except BackendError as exc:
                await self._fail(client, failure_code(exc), f"the native-audio model failed: {exc.message}")
            if text is None:
                await self._fail(client, "upstream_closed", "the native-audio model closed the session")
            try:
                event = json.loads(text)
            except ValueError:
                event = None
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                await self._fail(client, "upstream_protocol_error",
                                 "the native-audio model sent a frame that is not a realtime event")
            for outgoing in self._client_texts(text, event):
                await self._send_text(client, outgoing)

    def _client_texts(self, text: str, event: JSONObject) -> list[str]:
        """What the client gets for one upstream event (see the module docstring)."""
        kind = event["type"]
        if kind in _AUDIO_DELTAS:
            return [self._audio_delta(text, event)]
        if kind in _AUDIO_DONES:
            self._bridge.end_of_reply()
        elif kind in ("session.created", "session.updated") and self._formats.converts:
            text = _dumps({**event, "session": with_client_formats(event.get("session") or {}, self._formats)})
        elif kind == "input_audio_buffer.speech_stopped":
            self.turns.speech_stopped()
        elif kind == "response.created":
            self._idle.clear()
            self.turns.response_created(str((event.get("response") or {}).get("id", "")))
        elif kind == "response.done" and isinstance(event.get("response"), dict):
            return self._response_done(event)
        if kind == "session.created" and self._options.extension_events:
            return [text, self._extension({"type": "voxgate.session.routed", "route": "native_audio",
                                           "decision_id": self._options.decision_id,
                                           "model": self._options.model_id})]
        return [text]

    def _audio_delta(self, text: str, event: JSONObject) -> str:
        delta = event.get("delta")
        if not isinstance(delta, str):
            return text
        first_ms = self.turns.audio_delta(str(event.get("response_id", "")), len(delta) * 3 // 4)
        if first_ms is not None and self._on_first_audio is not None:
            self._on_first_audio(first_ms)
        if self._formats.output is AudioFormat.PCM16:
            return text
        try:
            converted = self._bridge.to_client(base64.b64decode(delta, validate=True))
        except (binascii.Error, ValueError, InvalidRequestError):
            return text  # not audio we can convert: the client sees what the model sent
        return _dumps({**event, "delta": encode_audio(converted)})

    def _response_done(self, event: JSONObject) -> list[str]:
        response = dict(event["response"])
        metadata = response.get("metadata")
        response["metadata"] = {**(metadata if isinstance(metadata, dict) else {}),
                                "voxgate_decision_id": self._options.decision_id,
                                "voxgate_model": self._options.model_id}
        metrics = self.turns.response_done(response)
        if not self.turns.in_flight:
            self._idle.set()
        if self._on_turn_metrics is not None:
            self._on_turn_metrics(metrics)
        texts = [_dumps({**event, "response": response})]
        if self._options.extension_events:
            texts.append(self._extension(metrics))
        return texts

    # --- sending and ending ------------------------------------------------------------------

    def _extension(self, event: JSONObject) -> str:
        return _dumps({"event_id": self._ids.new("event"), **event})

    async def _send_text(self, client: RealtimeTransport, text: str) -> None:
        async with self._send_lock:
            await client.send(text)

    async def _send(self, client: RealtimeTransport, event: JSONObject) -> None:
        await self._send_text(client, _dumps(event))

    async def _fail(self, client: RealtimeTransport, code: str, message: str) -> NoReturn:
        """Tell the client why its session ends, then end it."""
        await self._send(client, error_event(self._ids.new("event"), code, message, error_type="server_error"))
        raise UpstreamSessionError(message, code=code)

    async def _drain_on(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()
        await self._idle.wait()
        raise ServerShuttingDownError("the server is shutting down", code="server_shutting_down")


def failure_code(exc: BackendError) -> str:
    """The `error` event's code for an upstream that failed while the session ran."""
    if isinstance(exc, BackendGoingAwayError):
        return "upstream_going_away"
    if isinstance(exc, BackendStatusError) and exc.status in (401, 403):
        return "upstream_auth_failed"
    return "upstream_protocol_error" if isinstance(exc, BackendProtocolError) else "upstream_error"


def _dumps(event: JSONObject) -> str:
    return json.dumps(event, separators=(",", ":"))
