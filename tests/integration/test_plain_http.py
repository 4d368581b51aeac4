"""PlainHTTPTransport against raw asyncio servers on loopback: body framings, keep-alive, closed
connections, the pool limit and httpx's exceptions. (The ChatBackend contract suite runs the
OpenAI-compatible backend over it against the fake upstream's failures too.)"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.support.processes import free_port
from voxgate.backends.plain_http import PlainHTTPTransport

pytestmark = pytest.mark.integration
Answer = Callable[[bytes], bytes | None]
"""The raw bytes a server sends back for one request (the request's head and body given); None:
nothing, the connection held until the client closes it."""


class RawServer:
    """Answers each request on a connection with `answer(request)`; counts connections."""

    def __init__(self, answer: Answer, *, close_after: int | None = None, reset: frozenset[int] = frozenset()) -> None:
        self.answer = answer
        self.close_after = close_after
        self.reset = reset  # the numbers (from 0, over all connections) of the requests answered with a TCP reset
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._handlers: list[tuple[asyncio.Task[None], asyncio.StreamWriter]] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.append((task, writer))
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if len(self.requests) - 1 in self.reset:
                    linger_now = struct.pack("ii", 1, 0)  # SO_LINGER 0: close() sends RST, not FIN
                    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_now)
                    writer.transport.abort()
                    break
                answer = self.answer(request)
                if answer is None:
                    await reader.read()
                    break
                writer.write(answer)
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task, writer in self._handlers:
            writer.close()
            await task


def sized(body: bytes, extra: bytes = b"") -> Answer:
    return lambda _request: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.fixture
async def plain() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(mounts={"http://": PlainHTTPTransport()}, timeout=2.0) as made:
        yield made


async def test_keep_alive_serves_many_requests_on_one_connection(plain: httpx.AsyncClient) -> None:
    server = RawServer(sized(b'{"ok": 1}'))
    async with server as url:
        for index in range(5):
            answer = await plain.post(f"{url}/v1/chat?n={index}", content=b'{"q": 1}',
                                      headers={"content-type": "application/json"})
            assert (answer.status_code, answer.json()) == (200, {"ok": 1})
    assert server.connections == 1
    assert [request.split(b" ")[1] for request in server.requests] == [b"/v1/chat?n=%d" % n for n in range(5)]


async def test_the_request_arrives_whole(plain: httpx.AsyncClient) -> None:
    server = RawServer(sized(b"{}"))
    async with server as url:
        await plain.post(f"{url}/v1/x?a=b", content=b"BODY", headers={"x-custom": "yes"})
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/x?a=b HTTP/1.1"
    assert b"x-custom: yes" in lines
    assert b"Content-Length: 4" in lines or b"content-length: 4" in lines
    assert body == b"BODY"


async def test_chunked_and_read_to_close_bodies() -> None:
    chunked = RawServer(lambda _r: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    async with httpx.AsyncClient(mounts={"http://": PlainHTTPTransport()}) as made, chunked as url:
        assert [(await made.get(url)).content for _ in range(2)] == [b"hello world"] * 2
    assert chunked.connections == 1, "a chunked body read to its end leaves its connection reusable"
    to_close = RawServer(lambda _r: b"HTTP/1.1 200 OK\r\n\r\nall until close", close_after=1)
    async with httpx.AsyncClient(mounts={"http://": PlainHTTPTransport()}) as made, to_close as url:
        assert [(await made.get(url)).content for _ in range(2)] == [b"all until close"] * 2
    assert to_close.connections == 2, "a body without a length ends its connection"


async def test_connection_close_and_a_server_that_closes_idle_connections(plain: httpx.AsyncClient) -> None:
    server = RawServer(sized(b"{}", b"Connection: close\r\n"), close_after=1)
    async with server as url:
        statuses = [(await plain.get(url)).status_code for _ in range(3)]
        await asyncio.sleep(0.05)
    assert statuses == [200, 200, 200]
    assert server.connections == 3
    quiet_closer = RawServer(sized(b"{}"), close_after=1)  # closes after answering, without saying so
    async with quiet_closer as url:
        for _ in range(3):
            assert (await plain.get(url)).status_code == 200
            await asyncio.sleep(0.05)  # the close arrives while the connection is idle: not reused
    assert quiet_closer.connections == 3


async def test_a_pooled_connection_reset_as_it_is_reused_is_retried_on_a_new_one(plain: httpx.AsyncClient) -> None:
    # The race a pool cannot see: the server drops an idle keep-alive connection just as the next
    # request goes out on it. The request goes again on a new connection; the caller sees no error.
    server = RawServer(sized(b'{"ok": 1}'), reset=frozenset({1}))
    async with server as url:
        answers = [await plain.post(url, content=b'{"n": %d}' % n) for n in range(3)]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"ok": 1})] * 3
    assert server.connections == 2
    assert [request.rpartition(b"\r\n")[2] for request in server.requests] == [
        b'{"n": 0}', b'{"n": 1}', b'{"n": 1}', b'{"n": 2}']


async def test_a_reset_on_a_new_connection_is_a_read_error_not_retried(plain: httpx.AsyncClient) -> None:
    server = RawServer(sized(b"{}"), reset=frozenset({0}))
    async with server as url:
        with pytest.raises(httpx.ReadError):
            await plain.post(url, content=b"{}")
    assert server.connections == 1  # a new connection's failure is the server's answer: not sent twice


async def test_a_connection_closed_before_any_answer_is_a_remote_protocol_error(plain: httpx.AsyncClient) -> None:
    async with RawServer(lambda _r: b"", close_after=1) as url:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await plain.get(url)


@pytest.mark.parametrize(("answer", "match"), [
    (b"NOT HTTP\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n", "header"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "body"),
])
async def test_garbled_answers_are_protocol_errors(plain: httpx.AsyncClient, answer: bytes, match: str) -> None:
    async with RawServer(lambda _r: answer, close_after=1) as url:
        with pytest.raises(httpx.RemoteProtocolError, match=match):
            await plain.get(url)


async def test_a_closed_port_is_a_connect_error(plain: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ConnectError):
        await plain.get(f"http://127.0.0.1:{free_port()}/")


async def test_a_silent_server_is_a_read_timeout() -> None:
    async with httpx.AsyncClient(mounts={"http://": PlainHTTPTransport()}, timeout=0.2) as made, \
            RawServer(lambda _r: None) as url:
        with pytest.raises(httpx.ReadTimeout):
            await made.get(url)


async def test_the_pool_limit_waits_then_times_out_and_a_closed_response_frees_its_slot() -> None:
    transport = PlainHTTPTransport(httpx.Limits(max_connections=1))
    async with httpx.AsyncClient(mounts={"http://": transport}, timeout=httpx.Timeout(2.0, pool=0.2)) as made, \
            RawServer(sized(b"{}")) as url:
        first = await made.send(made.build_request("GET", url), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            await made.get(url)
        async with asyncio.TaskGroup() as tasks:
            waiting = tasks.create_task(made.get(url))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await first.aclose()  # not read to its end: its connection is closed, its slot handed on
        assert waiting.result().status_code == 200


async def test_https_is_not_served() -> None:
    transport = PlainHTTPTransport()
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "https://example.invalid/"))
