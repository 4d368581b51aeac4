"""PlainHTTPTransport: httpx's transport for `http://` upstreams, HTTP/1.1 keep-alive on asyncio streams.

httpx's default transport (httpcore over anyio) spends ~0.5 ms of CPU per request on a loopback
call; a gateway request spends most of its own time there. This one keeps what a model call
needs and nothing more: a pool of keep-alive connections per host, `Content-Length`, chunked and
read-to-close bodies, the four httpx timeouts, and httpx's exceptions (so callers map errors as
before):

    refused / unreachable while connecting   -> httpx.ConnectError   (ConnectTimeout past `connect`)
    no free connection within `pool`          -> httpx.PoolTimeout
    a read or write past `read` / `write`     -> httpx.ReadTimeout / httpx.WriteTimeout
    the peer closed or reset mid-exchange     -> httpx.ReadError / httpx.WriteError
    closed before any response byte, garbled  -> httpx.RemoteProtocolError

A pooled connection the server closed while idle is noticed before reuse when it can be; when it
cannot (the race: the close or reset arrives as the request goes out), the exchange fails before
any response byte and the request is sent once more on a new connection, so a stale socket never
reaches the dispatcher as a failed model (which would fall back to another one). A body not read
to its end closes its connection. `https://` stays on httpx's own transport (mount this one for
`http://` only).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import httpx

MAX_HEAD_BYTES = 64 * 1024
"""Longest response head (status line and headers) accepted."""
READ_CHUNK_BYTES = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since_s: float = field(default=0.0)

    def looks_usable(self, now_s: float, expiry_s: float | None) -> bool:
        expired = expiry_s is not None and now_s - self.idle_since_s > expiry_s
        return not (expired or self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class _Head:
    status: int
    reason: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]

    def value(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    timeout: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeout


class PlainHTTPTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over plain TCP with keep-alive; `limits` as httpx's (`max_connections` in use at once,
    `max_keepalive_connections` kept idle, `keepalive_expiry` seconds idle before one is dropped)."""

    def __init__(self, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        self._max_connections = limits.max_connections
        self._max_idle = limits.max_keepalive_connections
        self._expiry_s = limits.keepalive_expiry
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._idle_count = 0
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"PlainHTTPTransport serves http:// only, not {request.url.scheme}://")
        if self._closed:
            raise RuntimeError("the transport is closed")
        timeouts = _timeouts(request)
        host, port = request.url.host, request.url.port or 80
        await self._acquire(timeouts.get("pool"))
        try:
            connection, head = await self._send(host, port, request, timeouts)
        except BaseException:
            self._release()
            raise
        stream = _BodyStream(self, connection, request, head, timeouts.get("read"))
        return httpx.Response(head.status, headers=head.headers, stream=stream,
                              extensions={"http_version": head.version, "reason_phrase": head.reason})

    async def _send(self, host: str, port: int, request: httpx.Request,
                    timeouts: dict[str, float | None]) -> tuple[_Connection, _Head]:
        """The request sent and its response head read, on a pooled connection or a new one. A pooled
        connection that fails before any response byte was closed or reset by the server while idle
        (the race `looks_usable` cannot see): the request goes once more on a new connection."""
        connection = self._idle_connection(host, port)
        if connection is not None:
            try:
                return connection, await _exchange(connection, request, timeouts)
            except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError) as exc:
                connection.close()
                if not _before_response(exc):
                    raise
            except BaseException:
                connection.close()
                raise
        connection = await _connect(host, port, timeouts.get("connect"))
        try:
            return connection, await _exchange(connection, request, timeouts)
        except BaseException:
            connection.close()
            raise

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    async def _acquire(self, timeout_s: float | None) -> None:
        """Take one of `max_connections` slots, waiting at most `timeout_s` (the pool timeout)."""
        if self._max_connections is None or self._in_use < self._max_connections:
            self._in_use += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter  # a released slot is handed over: `_in_use` stays
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed over as the wait ended: pass it on
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no free connection in the pool within the pool timeout") from exc
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._in_use -= 1

    def _idle_connection(self, host: str, port: int) -> _Connection | None:
        connections = self._idle.get((host, port))
        now_s = time.monotonic()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if connection.looks_usable(now_s, self._expiry_s):
                return connection
            connection.close()
        return None

    def _put_back(self, connection: _Connection, host: str, port: int) -> None:
        if self._closed or (self._max_idle is not None and self._idle_count >= self._max_idle):
            connection.close()
        else:
            connection.idle_since_s = time.monotonic()
            self._idle.setdefault((host, port), deque()).append(connection)
            self._idle_count += 1
        self._release()


async def _connect(host: str, port: int, timeout_s: float | None) -> _Connection:
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD_BYTES)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout_s} s") from exc
    except OSError as exc:
        raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
    return _Connection(reader, writer)


def _encode_head(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1".encode()]
    has_length = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue  # the body is sent whole, with its length
        has_length = has_length or lowered == b"content-length"
        lines.append(name + b": " + value)
    if not has_length and (body or request.method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _exchange(connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]) -> _Head:
    """Send the request; the response's head (1xx heads skipped)."""
    body = await request.aread()
    connection.writer.write(_encode_head(request, body) + body)
    try:
        async with asyncio.timeout(timeouts.get("write")):
            await connection.writer.drain()
    except TimeoutError as exc:
        raise httpx.WriteTimeout("the request was not sent within the write timeout") from exc
    except OSError as exc:
        raise httpx.WriteError(f"the connection failed while sending: {exc}") from exc
    while True:
        head = await _read_head(connection.reader, timeouts.get("read"))
        if head.status >= 200:
            return head


async def _read_head(reader: asyncio.StreamReader, timeout_s: float | None) -> _Head:
    try:
        async with asyncio.timeout(timeout_s):
            raw = await reader.readuntil(b"\r\n\r\n")
    except TimeoutError as exc:
        raise httpx.ReadTimeout("no response within the read timeout") from exc
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from exc
        raise httpx.RemoteProtocolError("the server closed the connection mid-response") from exc
    except asyncio.LimitOverrunError as exc:
        raise httpx.RemoteProtocolError(f"response head over {MAX_HEAD_BYTES} bytes") from exc
    except OSError as exc:
        raise httpx.ReadError(f"the connection failed while reading: {exc}") from exc
    return _parse_head(raw)


def _before_response(exc: httpx.HTTPError) -> bool:
    """Whether a failed exchange ended before any byte of the response head arrived."""
    cause = exc.__cause__
    if isinstance(cause, asyncio.IncompleteReadError):
        return not cause.partial
    return isinstance(cause, OSError) and isinstance(exc, httpx.WriteError | httpx.ReadError)


def _parse_head(raw: bytes) -> _Head:
    status_line, *header_lines = raw[:-4].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError("the server's response has no valid status line")
    headers: list[tuple[bytes, bytes]] = []
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError("the server's response has a malformed header line")
        headers.append((name, value.strip()))
    return _Head(int(parts[1]), parts[2] if len(parts) > 2 else b"", parts[0], headers)


class _BodyStream(httpx.AsyncByteStream):
    """A response body; its connection goes back to the pool once the body is read to its end."""

    def __init__(self, transport: PlainHTTPTransport, connection: _Connection, request: httpx.Request, head: _Head,
                 read_timeout_s: float | None) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._host, self._port = request.url.host, request.url.port or 80
        self._head = head
        self._read_timeout_s = read_timeout_s
        self._reusable = _keeps_alive(head)
        self._done = request.method == "HEAD" or head.status in _NO_BODY_STATUSES

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._done or self._connection is None:
            return
        reader = self._connection.reader
        length = self._head.value(b"content-length")
        if b"chunked" in (self._head.value(b"transfer-encoding") or b"").lower():
            parts = _chunked(reader, self._read_timeout_s)
        elif length is not None:
            parts = _sized(reader, _content_length(length), self._read_timeout_s)
        else:
            self._reusable = False
            parts = _to_close(reader, self._read_timeout_s)
        async for part in parts:
            yield part
        self._done = True

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._done and self._reusable:
            self._transport._put_back(connection, self._host, self._port)
        else:
            connection.close()
            self._transport._release()


def _keeps_alive(head: _Head) -> bool:
    connection = (head.value(b"connection") or b"").lower()
    if head.version == b"HTTP/1.0":
        return b"keep-alive" in connection
    return b"close" not in connection


def _content_length(value: bytes) -> int:
    if not value.isdigit():
        raise httpx.RemoteProtocolError("the server sent an invalid Content-Length")
    return int(value)


async def _sized(reader: asyncio.StreamReader, length: int, timeout_s: float | None) -> AsyncIterator[bytes]:
    left = length
    while left > 0:
        part = await _guarded(reader.read(min(left, READ_CHUNK_BYTES)), timeout_s)
        if not part:
            raise httpx.RemoteProtocolError("the server closed the connection before the body's end")
        left -= len(part)
        yield part


async def _chunked(reader: asyncio.StreamReader, timeout_s: float | None) -> AsyncIterator[bytes]:
    while True:
        size_line = await _guarded(reader.readuntil(b"\r\n"), timeout_s)
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise httpx.RemoteProtocolError("the server sent a malformed chunk size") from exc
        if size == 0:
            while await _guarded(reader.readuntil(b"\r\n"), timeout_s) != b"\r\n":
                pass  # trailers
            return
        data = await _guarded(reader.readexactly(size + 2), timeout_s)
        if not data.endswith(b"\r\n"):
            raise httpx.RemoteProtocolError("the server sent a malformed chunk")
        yield data[:-2]


async def _to_close(reader: asyncio.StreamReader, timeout_s: float | None) -> AsyncIterator[bytes]:
    while part := await _guarded(reader.read(READ_CHUNK_BYTES), timeout_s):
        yield part


async def _guarded(step: Awaitable[bytes], timeout_s: float | None) -> bytes:
    """One read of a body, within the read timeout, its failures as httpx's."""
    try:
        async with asyncio.timeout(timeout_s):
            data: bytes = await step
    except TimeoutError as exc:
        raise httpx.ReadTimeout("no body data within the read timeout") from exc
    except asyncio.IncompleteReadError as exc:
        raise httpx.RemoteProtocolError("the server closed the connection mid-body") from exc
    except asyncio.LimitOverrunError as exc:
        raise httpx.RemoteProtocolError("a chunk-size line over the limit") from exc
    except OSError as exc:
        raise httpx.ReadError(f"the connection failed while reading: {exc}") from exc
    return data
