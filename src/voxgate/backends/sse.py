"""Server-sent events: split an upstream byte stream into event payloads.

Pure and incremental: feed it bytes as they arrive, in any chunking, and it returns the events
completed so far. Follows the WHATWG rules that matter for OpenAI-style streams: lines end in
LF, CRLF or CR; an empty line ends an event; several `data:` lines of one event are joined with
LF; `data:` may or may not be followed by one space; lines starting with `:` are comments
(keep-alives) and are dropped. Besides `data`, the non-standard `error` field (llama.cpp sends
`error: {json}` mid-stream) is reported, so a caller can raise instead of silently ignoring it.
"""

from __future__ import annotations

from dataclasses import dataclass

_DATA = b"data"
_ERROR = b"error"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One complete event: `field` is b"data" or b"error"; `payload` its lines joined with LF."""

    field: bytes
    payload: bytes


class SSEDecoder:
    """Incremental decoder; `feed` returns the events completed by the new bytes."""

    __slots__ = ("_data_lines", "_error_lines", "_partial")

    def __init__(self) -> None:
        self._partial = b""
        self._data_lines: list[bytes] = []
        self._error_lines: list[bytes] = []

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Consume `data`; return every event whose terminating empty line it contained."""
        buffer = self._partial + data if self._partial else data
        if b"\r" in buffer:
            buffer = _normalise_line_ends(buffer)
        lines = buffer.split(b"\n")
        self._partial = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            if line:
                self._take_line(line)
            else:
                self._end_event(events)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """At end of stream: the pending event, if the server omitted the final empty line."""
        events: list[ServerSentEvent] = []
        partial, self._partial = self._partial.rstrip(b"\r"), b""
        if partial:
            self._take_line(partial)
        self._end_event(events)
        return events

    def _take_line(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if not colon or not name:  # a field without a value, or a `:` comment
            return
        if value.startswith(b" "):
            value = value[1:]
        if name == _DATA:
            self._data_lines.append(value)
        elif name == _ERROR:
            self._error_lines.append(value)

    def _end_event(self, events: list[ServerSentEvent]) -> None:
        if self._error_lines:
            events.append(ServerSentEvent(_ERROR, b"\n".join(self._error_lines)))
            self._error_lines = []
        if self._data_lines:
            lines = self._data_lines
            events.append(ServerSentEvent(_DATA, lines[0] if len(lines) == 1 else b"\n".join(lines)))
            self._data_lines = []


def _normalise_line_ends(buffer: bytes) -> bytes:
    """CRLF and lone CR become LF, except a trailing CR, which is kept for the next read."""
    trailing_cr = buffer.endswith(b"\r")
    body = buffer[:-1] if trailing_cr else buffer
    body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return body + b"\r" if trailing_cr else body
