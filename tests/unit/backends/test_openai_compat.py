"""OpenAICompatBackend against httpx.MockTransport: request shape, SSE parsing, error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from voxgate.backends.openai_compat import OpenAICompatBackend
from voxgate.core.errors import (
    BackendConnectError,
    BackendError,
    BackendProtocolError,
    BackendStatusError,
    BackendTimeoutError,
    ConfigError,
)
from voxgate.core.types import JSONObject, ModelCard

CARD = ModelCard("local-qwen", base_url="http://upstream.test/v1/", api_model="qwen2.5")
BODY: JSONObject = {"messages": [{"role": "user", "content": "SECRET-PROMPT"}], "temperature": 0.2, "model": "auto"}
Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]


class Parts(httpx.AsyncByteStream):
    """A response body delivered in the given pieces."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def sse(*parts: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, stream=Parts(*parts))


def chunk_bytes(content: str, finish_reason: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}
    return json.dumps({"object": "chat.completion.chunk", "choices": [choice]}).encode()


COMPLETION = {"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}


def backend_with(handler: Handler, api_key: str | None = "sk-secret") -> OpenAICompatBackend:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenAICompatBackend(CARD, api_key=api_key, client=client)


async def run_stream(backend: OpenAICompatBackend) -> list[JSONObject]:
    return [chunk async for chunk in backend.stream(BODY)]


async def close(backend: OpenAICompatBackend) -> None:
    await backend.aclose()
    await backend._client.aclose()


async def test_request_shape() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=COMPLETION)

    backend = backend_with(handler)
    assert await backend.complete(BODY) == COMPLETION
    request = seen[0]
    assert str(request.url) == "http://upstream.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-secret"
    assert json.loads(request.content) == {**BODY, "model": "qwen2.5", "stream": False}
    assert BODY["model"] == "auto"  # the caller's body is not modified
    await close(backend)


async def test_no_key_no_authorization_header() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse(b"data: [DONE]\n\n")

    backend = backend_with(handler, api_key=None)
    assert await run_stream(backend) == []
    assert "authorization" not in seen[0].headers
    assert json.loads(seen[0].content)["stream"] is True
    await close(backend)


async def test_sse_variants_across_odd_reads() -> None:
    one, two, three = chunk_bytes("a"), chunk_bytes("b"), chunk_bytes("c", "stop")
    body = (b": keep-alive\n\ndata:" + one + b"\r\n\r\n" + b"data: \n\n" + b"data: " + two[:1] + b"\ndata: " + two[1:]
            + b"\n\nevent: message\ndata: " + three + b"\n\ndata: [DONE]\n\ndata: not json, never read\n\n")
    parts = [body[i : i + 7] for i in range(0, len(body), 7)]

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse(*parts)

    backend = backend_with(handler)
    chunks = await run_stream(backend)
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["a", "b", "c"]
    await close(backend)


async def test_stream_without_done_but_finished_is_fine() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return sse(b"data: " + chunk_bytes("a", "stop"))  # no [DONE], not even a final blank line

    backend = backend_with(handler)
    assert len(await run_stream(backend)) == 1
    await close(backend)


@pytest.mark.parametrize(
    "event",
    [
        b'error: {"code": 500, "message": "slot failed", "type": "server_error"}\n\n',
        b'data: {"error": {"code": 500, "message": "slot failed"}}\n\n',
    ],
)
async def test_error_events_mid_stream(event: bytes) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return sse(b"data: " + chunk_bytes("a") + b"\n\n", event)

    backend = backend_with(handler)
    with pytest.raises(BackendStatusError) as raised:
        await run_stream(backend)
    assert raised.value.status == 500
    assert raised.value.retryable
    assert "slot failed" in raised.value.message
    await close(backend)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(400, json={"error": {"message": "max_tokens too large", "type": "invalid_request_error"}}),
         "upstream answered HTTP 400: max_tokens too large"),
        (httpx.Response(400, json={"object": "error", "message": "bad model", "code": 400}),
         "upstream answered HTTP 400: bad model"),
        (httpx.Response(502, text="<html>SECRET-PROMPT bad gateway</html>"), "upstream answered HTTP 502"),
        (httpx.Response(429, json={"error": "rate limited"}), "upstream answered HTTP 429: rate limited"),
    ],
)
async def test_status_error_messages(response: httpx.Response, expected: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return response

    backend = backend_with(handler)
    with pytest.raises(BackendStatusError) as raised:
        await backend.complete(BODY)
    assert raised.value.message == f"local-qwen: {expected}"
    assert raised.value.status == response.status_code
    await close(backend)


async def test_long_upstream_messages_are_truncated() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "x" * 5000}})

    backend = backend_with(handler)
    with pytest.raises(BackendStatusError) as raised:
        await backend.complete(BODY)
    assert len(raised.value.message) < 400
    await close(backend)


@pytest.mark.parametrize(
    ("response", "error_type"),
    [
        (httpx.Response(200, json={"error": {"message": "overloaded", "code": 503}}), BackendStatusError),
        (httpx.Response(200, json={"id": "x"}), BackendProtocolError),
        (httpx.Response(200, json=[1, 2]), BackendProtocolError),
        (httpx.Response(200, content=b"\xff\xfe not json"), BackendProtocolError),
    ],
)
async def test_wrong_shapes(response: httpx.Response, error_type: type[BackendError]) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return response

    backend = backend_with(handler)
    with pytest.raises(error_type):
        await backend.complete(BODY)
    await close(backend)


async def test_stream_answered_with_a_json_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": {"message": "streaming not supported"}})

    backend = backend_with(handler)
    with pytest.raises(BackendStatusError, match="streaming not supported"):
        await run_stream(backend)
    await close(backend)


@pytest.mark.parametrize(
    ("exception", "error_type"),
    [
        (httpx.ConnectError, BackendConnectError),
        (httpx.ConnectTimeout, BackendTimeoutError),
        (httpx.ReadTimeout, BackendTimeoutError),
        (httpx.PoolTimeout, BackendTimeoutError),
        (httpx.RemoteProtocolError, BackendConnectError),
        (httpx.ReadError, BackendConnectError),
        (httpx.UnsupportedProtocol, BackendProtocolError),
    ],
)
async def test_transport_errors(exception: type[httpx.TransportError], error_type: type[BackendError]) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise exception("boom SECRET-PROMPT", request=request)

    backend = backend_with(handler)
    for attempt in (backend.complete(BODY), run_stream(backend)):
        with pytest.raises(error_type) as raised:
            await attempt
        assert "SECRET-PROMPT" not in str(raised.value)
        assert raised.value.model_id == "local-qwen"
    await close(backend)


async def test_shared_client_stays_open_owned_client_closes() -> None:
    shared = httpx.AsyncClient()
    await OpenAICompatBackend(CARD, client=shared).aclose()
    assert not shared.is_closed
    await shared.aclose()
    owned = OpenAICompatBackend(CARD)
    await owned.aclose()
    assert owned._client.is_closed


def test_card_without_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        OpenAICompatBackend(ModelCard("nowhere"))


async def test_server_closing_a_pooled_connection_unanswered_is_retried_once() -> None:
    calls: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) % 2 == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if b'"stream":true' in request.content:
            return sse(b"data: " + chunk_bytes("hi", "stop") + b"\n\n", b"data: [DONE]\n\n")
        return httpx.Response(200, json=COMPLETION)

    backend = backend_with(handler)
    assert (await backend.complete(BODY))["choices"][0]["message"]["content"] == "hi"
    assert len(calls) == 2
    chunks = await run_stream(backend)
    assert chunks[0]["choices"][0]["delta"]["content"] == "hi"
    assert len(calls) == 4
    await close(backend)
