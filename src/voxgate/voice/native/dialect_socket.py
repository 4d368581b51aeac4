"""An OpenAI-realtime upstream of the other shape (GA or beta) behind the proxy's `UpstreamSocket`.

    socket = DialectSocket(upstream, client=RealtimeDialect.BETA, upstream_dialect=RealtimeDialect.GA)
    await socket.send(text)        # translated up; [an `error` event] when it has no equivalent there
    text = await socket.receive()  # the next event in the client's shape (None: the upstream closed)
    socket.counts                  # Counter of (outcome, event type): outcome "no_equivalent" or "unknown"
                                   # (passed unchanged), "refused" (a client event answered with an error)

The translation is `dialects` (pure); this class only applies it. A frame that is not a JSON event
passes as it came, for the proxy to report (`upstream_protocol_error`). Upstream events the client's
shape has no name for, and events neither shape knows, pass unchanged and are counted; a client
event the upstream cannot express is answered with an `error` event (`dialect_untranslatable`) and
not sent. The counts (event types only, never content; at most `MAX_COUNTED_TYPES` types, then
"(other)") are for the session's end log and metrics.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Sequence

from voxgate.core.types import JSONObject, RealtimeDialect
from voxgate.voice.native.dialects import Untranslatable, client_event_to, server_event_class, server_events_to
from voxgate.voice.native.proxy import UpstreamSocket
from voxgate.voice.realtime.protocol import IdFactory, error_event

MAX_COUNTED_TYPES = 32


class DialectSocket:
    def __init__(self, upstream: UpstreamSocket, *, client: RealtimeDialect,
                 upstream_dialect: RealtimeDialect) -> None:
        assert client is not upstream_dialect, "a socket of the client's own shape needs no translation"
        self._upstream = upstream
        self._client = client
        self._upstream_dialect = upstream_dialect
        self._pending: deque[str] = deque()
        self._ids = IdFactory()
        self.counts: Counter[tuple[str, str]] = Counter()

    async def send(self, text: str) -> Sequence[str]:
        event = json.loads(text)  # the proxy sends only events parse_client_event accepted
        try:
            translated = client_event_to(event, self._upstream_dialect)
        except Untranslatable as exc:
            self._count("refused", str(event.get("type")))
            client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            return [_dumps(error_event(self._ids.new("event"), exc.code, exc.message, exc.param, client_id))]
        replies = await self._upstream.send(text if translated is event else _dumps(translated))
        return [out for reply in replies for out in self._to_client(reply)]

    async def receive(self) -> str | None:
        while not self._pending:
            text = await self._upstream.receive()
            if text is None:
                return None
            self._pending.extend(self._to_client(text))
        return self._pending.popleft()

    def _to_client(self, text: str) -> list[str]:
        try:
            event = json.loads(text)
        except ValueError:
            return [text]
        kind = event.get("type") if isinstance(event, dict) else None
        if not isinstance(kind, str):
            return [text]
        known = server_event_class(kind, self._client)
        if known in ("no_equivalent", "unknown"):
            self._count(known, kind)
            return [text]
        if known == "shared":
            return [text]
        return [_dumps(e) for e in server_events_to(event, self._client)]

    def _count(self, outcome: str, kind: str) -> None:
        if (outcome, kind) not in self.counts and len(self.counts) >= MAX_COUNTED_TYPES:
            kind = "(other)"
        self.counts[outcome, kind[:64]] += 1


def _dumps(event: JSONObject) -> str:
    return json.dumps(event, separators=(",", ":"))
