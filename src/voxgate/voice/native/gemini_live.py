"""A Gemini Live connection that speaks the OpenAI realtime protocol to `NativeSessionProxy`.

    socket = GeminiLiveSocket(connection, api_model="gemini-2.5-flash-native-audio-...",
                              model_id="gemini-live", beta=False)
    proxy = NativeSessionProxy(socket, options)     # as for an OpenAI realtime upstream

`send` takes one (already checked) client event, sends its Gemini messages (`gemini_requests`) and
returns the events voxgate answers itself; `receive` returns the next server event: first
`session.created` (voxgate's own: the Live API sends nothing before `setup`), then the translation
of each Gemini message (`gemini_replies`), `setupComplete` becoming `session.updated`.

How a session ends (the proxy turns each into an `error` event and close 1014, `server.errors`):
- the connection closes before `setupComplete`: the Live API refused the setup. A close reason
  naming the API key raises BackendStatusError (401: `upstream_auth_failed`), any other
  BackendConnectError (`upstream_error`); Google's reason is in the message;
- it closes after setup: `receive` returns None (`upstream_closed`);
- a frame that is not a JSON object: BackendProtocolError (`upstream_protocol_error`);
- `goAway {timeLeft}`: once the response in flight or asked for (if any) has finished,
  BackendGoingAwayError (`upstream_going_away`). voxgate does not resume the session elsewhere.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from voxgate.core.errors import BackendConnectError, BackendGoingAwayError, BackendProtocolError, BackendStatusError
from voxgate.core.types import JSONObject
from voxgate.voice.native.gemini_replies import LiveReplies
from voxgate.voice.native.gemini_requests import LiveRequests
from voxgate.voice.native.gemini_setup import session_object
from voxgate.voice.realtime.protocol import EventNames, IdFactory


class LiveConnection(Protocol):
    """The raw socket: `backends.realtime_upstream.RealtimeUpstream`, or a test's fake."""

    async def send(self, text: str) -> Sequence[str]: ...

    async def receive(self) -> str | None: ...

    @property
    def close_code(self) -> int | None: ...

    @property
    def close_reason(self) -> str: ...


class GeminiLiveSocket:
    def __init__(self, connection: LiveConnection, *, api_model: str, model_id: str, beta: bool) -> None:
        self._connection = connection
        self._model_id = model_id
        self._beta = beta
        self._ids = IdFactory()
        self._replies = LiveReplies(EventNames.for_shape(beta=beta), self._ids)
        self._requests = LiveRequests(api_model, EventNames.for_shape(beta=beta), self._ids, self._replies)
        self._session_id = self._ids.new("sess")
        self._pending: deque[JSONObject] = deque([self._session_event("session.created")])
        self._setup_complete = False
        self._going_away: str | None = None

    async def send(self, text: str) -> Sequence[str]:
        """Translate one client event and send it up; returns what the client is answered at once."""
        event = json.loads(text)
        if event.get("type") == "response.cancel":
            return [_dumps(e) for e in self._replies.cancel()]
        translation = self._requests.translate(event)
        for message in translation.upstream:
            await self._connection.send(_dumps(message))
        return [_dumps(self._with_session(e)) for e in translation.client]

    async def receive(self) -> str | None:
        """The next server event's text; None once the Live API has closed an established session."""
        while not self._pending:
            if self._going_away is not None and not (self._replies.in_flight or self._replies.response_requested):
                raise BackendGoingAwayError(f"the Live API is ending the session (goAway, time left "
                                            f"{self._going_away})", model_id=self._model_id)
            text = await self._connection.receive()
            if text is None:
                if self._requests.setup_sent and not self._setup_complete:
                    raise self._setup_refused()
                return None
            self._pending.extend(self._translate(text))
        return _dumps(self._pending.popleft())

    def _translate(self, text: str) -> list[JSONObject]:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise BackendProtocolError("the Live API sent a frame that is not a JSON message", model_id=self._model_id)
        events: list[JSONObject] = []
        if "setupComplete" in message:
            self._setup_complete = True
            events.append(self._session_event("session.updated"))
        go_away = message.get("goAway")
        if isinstance(go_away, dict):
            self._going_away = str(go_away.get("timeLeft", "0s"))
        return events + self._replies.translate(message)

    def _setup_refused(self) -> Exception:
        reason = self._connection.close_reason or "no reason given"
        detail = f"close {self._connection.close_code}: {reason}"
        if "key" in reason.lower():
            return BackendStatusError(f"the Live API refused the key ({detail})", model_id=self._model_id,
                                      status=401)
        return BackendConnectError(f"the Live API refused the session's setup ({detail})", model_id=self._model_id)

    def _session_event(self, kind: str) -> JSONObject:
        session = session_object(self._session_id, self._model_id, self._requests.settings, beta=self._beta)
        return {"type": kind, "event_id": self._ids.new("event"), "session": session}

    def _with_session(self, event: JSONObject) -> JSONObject:
        if event.get("type") == "session.updated" and event.get("session") is None:
            return self._session_event("session.updated")
        return event


def _dumps(event: JSONObject) -> str:
    return json.dumps(event, separators=(",", ":"))
