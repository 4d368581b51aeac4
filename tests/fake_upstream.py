"""A tiny, fast OpenAI-compatible upstream for tests and benchmarks. Binds 127.0.0.1 only.

    python -m tests.fake_upstream --port 9100        (prints "fake_upstream: listening on PORT")
    with serve_in_thread() as upstream: upstream.base_url  ->  "http://127.0.0.1:PORT/v1"

`POST .../chat/completions` answers a fixed completion (non-stream, or SSE with a usage chunk
when `stream_options.include_usage`); `GET .../models`, `GET /health`, and `GET /stats`
(requests served, connections open) are there too. Behaviour is set per request by a header,
a query parameter, or a path segment, so a catalog can point a model's `base_url` at a failure:

    header                   query    path segment        effect
    x-fake-fail: MODE        fail=    /fail-MODE/v1       see MODES
    x-fake-delay-ms: N                /delay-N/v1         wait N ms before answering
    x-fake-chunk-delay-ms: N          /chunkdelay-N/v1    wait N ms between stream chunks
    x-fake-usage: none                /usage-none/v1      send no `usage` (neither object nor chunk)
    x-fake-content: TEXT              /say-TEXT/v1        the answer text (percent-encoded), or body field
                                                          `fake_content`
    x-fake-echo: images      echo=    /echo-images/v1     answer `image_digests(messages)` as JSON: what
                                                          arrived of each image part (a vision model)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_CONTENT = "Hello from the fake upstream."
PROMPT_TOKENS = 12
MODES = {
    "NNN": "answer HTTP status NNN with an OpenAI error body (e.g. 400, 429, 500, 503)",
    "drop": "close the connection: before answering (non-stream) or after the first content chunk",
    "hang": "never answer; hold the connection until the client closes it",
    "stall": "stream the first content chunk, then hold the connection without sending more",
    "truncate": "stream the first content chunk, then end the body cleanly without [DONE]",
    "garbage": "answer 200 with a body (or SSE data) that is not JSON",
    "badchunk": "stream the first content chunk, then an SSE event whose data is not JSON",
    "wrongshape": "stream the first content chunk, then a chunk whose `choices` is not a list",
}
_PIECE = re.compile(r"\S+\s*|\s+")


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def option(self, header: str, query: str | None, segment: str) -> str | None:
        for part in self.path.split("/"):
            if part.startswith(segment + "-"):
                return part[len(segment) + 1 :]
        if query and query in self.query:
            return self.query[query][0]
        return self.headers.get(header)


@dataclass
class _Reply:
    """What one completion request asked for."""

    model: str
    content: str
    stream: bool
    include_usage: bool
    fail: str | None
    chunk_delay_s: float
    sends_usage: bool = True

    @property
    def pieces(self) -> list[str]:
        return _PIECE.findall(self.content) or [""]


@dataclass
class FakeUpstream:
    """The server; `requests` and `open_connections` are live counters."""

    port: int = 0
    requests: int = 0
    open_connections: int = 0
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _idle: threading.Event = field(default_factory=threading.Event)

    def wait_idle(self, timeout_s: float) -> bool:
        """Block (from another thread) until no connection is open; False on timeout."""
        return self._idle.wait(timeout_s)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind 127.0.0.1:`port` (0 picks a free port, stored back into `port`)."""
        self._server = await asyncio.start_server(self._serve_connection, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._idle.set()

    async def stop(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self._idle.clear()
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests += 1
                if not await self._respond(request, reader, writer):
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # `stop` cancels handlers; ending quietly keeps asyncio 3.11's stream callback from logging
        finally:
            self.open_connections -= 1
            if not self.open_connections:
                self._idle.set()
            self._handlers.discard(handler)
            writer.transport.abort()

    async def _respond(self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        if request.method == "GET":
            writer.write(_json_response(200, self._get_document(request.path)))
        elif request.method == "POST" and request.path.endswith("/chat/completions"):
            delay_ms = request.option("x-fake-delay-ms", None, "delay")
            if delay_ms:
                await asyncio.sleep(float(delay_ms) / 1000)
            return await _answer_completion(_reply_for(request), reader, writer)
        else:
            writer.write(_json_response(404, _error_body(404, f"no route {request.method} {request.path}")))
        await writer.drain()
        return request.headers.get("connection", "").lower() != "close"

    def _get_document(self, path: str) -> object:
        if path.endswith("/models"):
            return {"object": "list", "data": [{"id": "fake", "object": "model", "owned_by": "tests"}]}
        if path.endswith("/stats"):
            return {"requests": self.requests, "open_connections": self.open_connections}
        return {"status": "ok"}


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    return _Request(method, url.path, parse_qs(url.query), headers, body)


def _reply_for(request: _Request) -> _Reply:
    try:
        body = json.loads(request.body) if request.body else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    header_content = request.option("x-fake-content", None, "say")
    content = unquote(header_content) if header_content is not None else body.get("fake_content", DEFAULT_CONTENT)
    if request.option("x-fake-echo", "echo", "echo") == "images":
        content = json.dumps(image_digests(body.get("messages")))
    stream_options = body.get("stream_options")
    chunk_delay_ms = request.option("x-fake-chunk-delay-ms", None, "chunkdelay")
    return _Reply(
        model=str(body.get("model", "fake")),
        content=str(content),
        stream=bool(body.get("stream")),
        include_usage=isinstance(stream_options, dict) and bool(stream_options.get("include_usage")),
        fail=request.option("x-fake-fail", "fail", "fail"),
        chunk_delay_s=float(chunk_delay_ms) / 1000 if chunk_delay_ms else 0.0,
        sends_usage=request.option("x-fake-usage", None, "usage") != "none",
    )


def image_digests(messages: object) -> list[str]:
    """sha256 of each `image_url` part (canonical JSON), in order: equal digests mean unchanged parts."""
    digests = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                canonical = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                digests.append(hashlib.sha256(canonical.encode()).hexdigest())
    return digests


async def _answer_completion(reply: _Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    fail = reply.fail
    if fail is not None and fail.isdigit():
        status = int(fail)
        writer.write(_json_response(status, _error_body(status, f"fake upstream failure {status}")))
        await writer.drain()
        return True
    if fail == "hang" or (fail == "drop" and not reply.stream):
        if fail == "hang":
            await reader.read()  # returns at EOF: when the client gives up
        return False
    if fail == "garbage":
        content_type = "text/event-stream" if reply.stream else "application/json"
        writer.write(_raw_response(200, content_type, b"data: {oops\n\n"))
        await writer.drain()
        return True
    if reply.stream:
        return await _stream_completion(reply, reader, writer)
    writer.write(_json_response(200, _completion(reply)))
    await writer.drain()
    return True


async def _stream_completion(reply: _Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    writer.write(head.encode())
    events = _stream_events(reply)
    cut_after = 2 if reply.fail in ("drop", "stall", "truncate", "badchunk", "wrongshape") else len(events)
    for index, event in enumerate(events[:cut_after]):
        if index and reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        await writer.drain()
    if reply.fail in ("badchunk", "wrongshape"):
        bad = b"data: {oops\n\n" if reply.fail == "badchunk" else b'data: {"choices": "none", "object": "x"}\n\n'
        writer.write(b"%x\r\n%s\r\n" % (len(bad), bad))
        await writer.drain()
    if reply.fail == "drop":
        return False
    if reply.fail == "stall":
        await reader.read()
        return False
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


def _stream_events(reply: _Reply) -> list[bytes]:
    created = int(time.time())
    identity = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": reply.model}
    deltas: list[dict[str, object]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in reply.pieces]
    chunks = [{**identity, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    chunks.append({**identity, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if reply.include_usage and reply.sends_usage:
        chunks.append({**identity, "choices": [], "usage": _usage(reply)})
    events = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
    return [*events, b"data: [DONE]\n\n"]


def _completion(reply: _Reply) -> dict[str, object]:
    message = {"role": "assistant", "content": reply.content}
    completion: dict[str, object] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    if reply.sends_usage:
        completion["usage"] = _usage(reply)
    return completion


def _usage(reply: _Reply) -> dict[str, int]:
    completion_tokens = len(reply.pieces)
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens}


def _error_body(status: int, message: str) -> dict[str, object]:
    kind = "invalid_request_error" if status < 500 and status != 429 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _json_response(status: int, document: object) -> bytes:
    return _raw_response(status, "application/json", json.dumps(document).encode())


def _raw_response(status: int, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} FAKE\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


@dataclass
class RunningFakeUpstream:
    """A FakeUpstream served on its own thread and event loop."""

    server: FakeUpstream

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI API root (with /v1), as a ModelCard's `base_url` wants it."""
        return self.root_url + "/v1"

    def url_for(self, *segments: str) -> str:
        """A base_url whose path segments set behaviour, e.g. url_for("fail-500")."""
        return "/".join([self.root_url, *segments, "v1"])


@contextlib.contextmanager
def serve_in_thread(port: int = 0) -> Iterator[RunningFakeUpstream]:
    """Run a FakeUpstream on a daemon thread for the duration of the `with` block."""
    server = FakeUpstream(port=port)
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        await server.start()
        started.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), name="fake-upstream", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fake upstream did not start")
    try:
        yield RunningFakeUpstream(server)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


async def _serve_forever(port: int) -> None:
    server = FakeUpstream(port=port)
    await server.start()
    print(f"fake_upstream: listening on {server.port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Command line: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(parser.parse_args().port))


if __name__ == "__main__":
    main()
