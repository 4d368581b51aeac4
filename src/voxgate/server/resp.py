"""A small Redis client on plain asyncio streams (RESP2), for the counters' per-request calls.

The rate-limit counters (server/counters) talk to Redis twice per keyed request: the admission
script before the answer, the usage after it. Through redis-py's asyncio client those two cost
~0.75 ms of this process's CPU per request (connection pool, command objects, response callbacks;
`bench/redis_round_trip.py`); written here as RESP on a stream they cost a fraction of that.
Voice-session slots and everything else keep redis-py.

    client = RespClient(RedisAddress.parse("redis://127.0.0.1:6379/0"), timeout_s=0.5)
    script = LuaScript("return redis.call('INCR', KEYS[1])")
    count = await client.evalsha(script, ["k"], [])          # EVALSHA; EVAL once on NOSCRIPT
    replies = await client.execute(("INCR", "a"), ("EXPIRE", "a", 60))   # one round trip

Failures are `OSError`s (`ConnectionError`, `TimeoutError`): Redis unreachable, a connection
closed mid-reply, no reply within `timeout_s`; the connection is dropped and the next call opens
another. An error reply (`-ERR ...`, a failing script) is `RedisReplyError`; the connection stays
in step and is kept. A call cancelled mid-exchange drops its connection too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

Reply: TypeAlias = "int | bytes | RedisReplyError | list[Reply] | None"
Argument = str | bytes | int | float
Command = Sequence[Argument]
MAX_IDLE_CONNECTIONS = 8
_CRLF = b"\r\n"


class StreamSink(Protocol):
    """The writing half of a connection (`asyncio.StreamWriter`, or a test's fake)."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, StreamSink]]]
"""Opens one connection to Redis (default: TCP, TLS or a unix socket as the address says)."""


class RedisReplyError(Exception):
    """Redis answered with an error (`-ERR ...`, `-NOSCRIPT ...`, a script that failed)."""


@dataclass(frozen=True)
class RedisAddress:
    """Where Redis listens and how to log in: `redis://[user:password@]host[:port][/db]`,
    `rediss://...` (TLS) or `unix:///path/to/socket[?db=N]`."""

    host: str = "127.0.0.1"
    port: int = 6379
    socket_path: str | None = None
    username: str | None = None
    password: str | None = None
    db: int = 0
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """The address in `url`; ValueError for another scheme or a database that is not a number."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL (redis://, rediss:// or unix://): {parts.scheme}://...")
        db_text = parse_qs(parts.query).get("db", [""])[0] or parts.path.strip("/") * (parts.scheme != "unix")
        if db_text and not db_text.isdigit():
            raise ValueError(f"the Redis database must be a number, got {db_text!r}")
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if parts.scheme == "unix":
            return cls(socket_path=parts.path, username=username, password=password, db=int(db_text or 0))
        return cls(host=parts.hostname or "127.0.0.1", port=parts.port or 6379, username=username,
                   password=password, db=int(db_text or 0), tls=parts.scheme == "rediss")


@dataclass(frozen=True)
class LuaScript:
    """A script and its SHA1 (what EVALSHA names it by)."""

    source: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


def encode_command(command: Command) -> bytes:
    """One command as a RESP array of bulk strings (floats as `repr`: exact, and what Redis parses)."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        if isinstance(argument, bytes):
            data = argument
        elif isinstance(argument, str):
            data = argument.encode()
        elif isinstance(argument, float):
            data = repr(argument).encode()
        else:
            data = b"%d" % argument
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def as_int(reply: Reply) -> int:
    """An integer reply (or a bulk string holding one) as an int; RedisReplyError for anything else."""
    if isinstance(reply, int):
        return reply
    if isinstance(reply, bytes) and reply.lstrip(b"-").isdigit():
        return int(reply)
    raise RedisReplyError(f"expected an integer from Redis, got {reply!r:.80}")


def as_float(reply: Reply) -> float:
    """A number reply (nil: 0.0, a key not set) as a float; RedisReplyError for anything else."""
    if reply is None:
        return 0.0
    try:
        if isinstance(reply, int | bytes):
            return float(reply)
    except ValueError:
        pass
    raise RedisReplyError(f"expected a number from Redis, got {reply!r:.80}")


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    """One RESP2 reply; an error reply is returned as a `RedisReplyError` (not raised), so the rest of
    a pipeline's replies can still be read. ConnectionError for bytes that are no RESP."""
    line = await reader.readuntil(_CRLF)
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        return RedisReplyError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        count = int(body)
        return None if count < 0 else [await read_reply(reader) for _ in range(count)]
    raise ConnectionError(f"not a RESP reply from Redis: {line[:40]!r}")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: StreamSink) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, payload: bytes, replies: int) -> list[Reply]:
        self.writer.write(payload)
        return [await read_reply(self.reader) for _ in range(replies)]

    def close(self) -> None:
        self.writer.close()


class RespClient:
    """Commands to one Redis over a few kept-alive connections (one per concurrent call; up to
    `MAX_IDLE_CONNECTIONS` are kept between calls)."""

    def __init__(self, address: RedisAddress, timeout_s: float = 0.5, open_stream: Opener | None = None) -> None:
        self._address = address
        self._timeout_s = timeout_s
        self._open_stream = open_stream or self._open_socket
        self._idle: list[_Connection] = []
        self._closed = False

    async def execute(self, *commands: Command) -> list[Reply]:
        """The replies to `commands`, sent together: one round trip. RedisReplyError (the first) when
        any reply is an error; the commands before and after it have run."""
        return _without_errors(await self._round_trip(b"".join(map(encode_command, commands)), len(commands)))

    async def evalsha(self, script: LuaScript, keys: Sequence[Argument], args: Sequence[Argument]) -> Reply:
        """The script's reply: EVALSHA, and EVAL (which caches it) when Redis does not know it yet."""
        tail = (len(keys), *keys, *args)
        try:
            (reply,) = await self.execute(("EVALSHA", script.sha, *tail))
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            (reply,) = await self.execute(("EVAL", script.source, *tail))
        return reply

    def _idle_connection(self) -> _Connection | None:
        """A kept connection Redis has not closed meanwhile (a restarted Redis closed them all)."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    async def _round_trip(self, payload: bytes, replies: int) -> list[Reply]:
        connection = self._idle_connection()
        try:
            async with asyncio.timeout(self._timeout_s):
                if connection is None:
                    connection = await self._connect()
                answer = await connection.exchange(payload, replies)
        except BaseException as exc:
            if connection is not None:
                connection.close()
            if isinstance(exc, RedisReplyError | asyncio.CancelledError):
                raise
            self._drop_idle()  # the others are likely as broken
            if isinstance(exc, asyncio.IncompleteReadError | asyncio.LimitOverrunError | ValueError):
                raise ConnectionError(f"redis closed the connection or sent no RESP ({exc})") from exc
            raise
        if not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    async def _open_socket(self) -> tuple[asyncio.StreamReader, StreamSink]:
        address = self._address
        if address.socket_path is not None:
            return await asyncio.open_unix_connection(address.socket_path)
        context = ssl.create_default_context() if address.tls else None
        return await asyncio.open_connection(address.host, address.port, ssl=context)

    async def _connect(self) -> _Connection:
        connection = _Connection(*await self._open_stream())
        try:
            await self._log_in(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    async def _log_in(self, connection: _Connection) -> None:
        address = self._address
        login: list[Command] = []
        if address.password is not None:
            login.append(("AUTH", address.password) if address.username is None
                         else ("AUTH", address.username, address.password))
        if address.db:
            login.append(("SELECT", address.db))
        if login:
            _without_errors(await connection.exchange(b"".join(map(encode_command, login)), len(login)))

    def _drop_idle(self) -> list[_Connection]:
        """Close the idle connections; the ones closed."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        return idle

    async def aclose(self) -> None:
        """Close the idle connections, and wait until they are (calls still in flight close theirs
        when they end)."""
        self._closed = True
        for connection in self._drop_idle():
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()


def _without_errors(replies: list[Reply]) -> list[Reply]:
    """`replies`, or the first error reply among them raised."""
    failed = next((reply for reply in replies if isinstance(reply, RedisReplyError)), None)
    if failed is not None:
        raise failed
    return replies
