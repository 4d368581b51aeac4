"""A stand-in for Redis behind `server/resp.RespClient`, for unit tests (no sockets): each write to a
connection is answered with the next scripted answer.

    redis = ScriptedRedis(b":1\\r\\n", Hangup(b"*2\\r\\n:1\\r\\n"), SILENT)
    client = RespClient(RedisAddress(), open_stream=redis.open)
    await client.execute(("INCR", "k"))     # [1]
    await client.execute(("INCR", "k"))     # ConnectionError: closed mid-reply
    redis.sent, redis.opened, redis.closed  # what was written, connections opened and closed
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from voxgate.server.resp import StreamSink


@dataclass(frozen=True)
class Hangup:
    """Send `partial` (maybe nothing), then close the connection."""

    partial: bytes = b""


SILENT = None
"""Never answer (the client's timeout decides)."""

Answer = bytes | Hangup | None


class ScriptedRedis:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []
        self.opened = 0
        self.closed = 0
        self.readers: list[asyncio.StreamReader] = []

    async def open(self) -> tuple[asyncio.StreamReader, StreamSink]:
        self.opened += 1
        reader = asyncio.StreamReader()
        self.readers.append(reader)
        return reader, _Sink(self, reader)


class _Sink:
    def __init__(self, redis: ScriptedRedis, reader: asyncio.StreamReader) -> None:
        self._redis = redis
        self._reader = reader

    def write(self, data: bytes) -> None:
        self._redis.sent.append(data)
        answer = self._redis.answers.pop(0)
        if isinstance(answer, Hangup):
            self._reader.feed_data(answer.partial)
            self._reader.feed_eof()
        elif answer is not None:
            self._reader.feed_data(answer)

    def close(self) -> None:
        self._redis.closed += 1

    async def wait_closed(self) -> None:
        return None
