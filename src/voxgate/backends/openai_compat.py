"""OpenAICompatBackend: any server that speaks OpenAI's chat completions API over HTTP.

vLLM, llama.cpp's server, Ollama, OpenAI, Azure OpenAI (v1 API), Mistral, OpenRouter, Gemini's
OpenAI-compatible endpoint: one class, configured by a ModelCard. httpx failures become
`voxgate.core.errors.BackendError` subclasses:

    httpx.ConnectError, a dropped connection   -> BackendConnectError   (retryable)
    any httpx timeout                           -> BackendTimeoutError   (retryable)
    a 4xx/5xx answer                            -> BackendStatusError    (retryable on 429, 5xx)
    invalid JSON, wrong shape, other httpx errors -> BackendProtocolError

Error messages carry the upstream's own error message (truncated), never the request body.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import NoReturn

import httpx

from voxgate.core.errors import (
    BackendConnectError,
    BackendError,
    BackendProtocolError,
    BackendStatusError,
    BackendTimeoutError,
    ConfigError,
)
from voxgate.core.types import JSONObject, ModelCard

from .plain_http import PlainHTTPTransport
from .sse import ServerSentEvent, SSEDecoder

_MAX_ERROR_MESSAGE_CHARS = 300
_DONE = b"[DONE]"


class OpenAICompatBackend:
    """One model behind an OpenAI-compatible `/chat/completions` endpoint.

    `card.base_url` is the API root including the version, e.g. "http://127.0.0.1:8000/v1";
    `card.upstream_model` is sent as `model`. Pass a shared `client` to pool connections across
    backends (it is then not closed by `aclose`); without one the backend owns a client. An
    `http://` upstream is called through `transport` (a shared `PlainHTTPTransport`) when one is
    given, or through one of its own when neither a client nor a transport is: straight, without
    the client's layers (cookies, auth flows, redirects, hooks: none of which a model call uses),
    with the client's default headers; ~0.3 ms of CPU less per call than httpx's own stack.
    """

    def __init__(
        self,
        card: ModelCard,
        *,
        api_key: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 120.0,
        client: httpx.AsyncClient | None = None,
        transport: PlainHTTPTransport | None = None,
    ) -> None:
        if not card.base_url:
            raise ConfigError(f"model {card.id} has no base_url")
        self.model_id: str = card.id
        self._upstream_model: str = card.upstream_model
        self._url = card.base_url.rstrip("/") + "/chat/completions"
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        plain = httpx.URL(self._url).scheme == "http"
        self._owns_transport = plain and transport is None and client is None
        self._transport = transport if plain else None
        if self._owns_transport:
            self._transport = PlainHTTPTransport()
        self._headers = {**self._client.headers, "content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._stream_headers = {**self._headers, "accept": "text/event-stream"}
        self._direct_url = httpx.URL(self._url)
        self._direct_extensions = {"timeout": self._timeout.as_dict()}

    async def complete(self, body: JSONObject) -> JSONObject:
        """POST a non-streaming request; return the `chat.completion` object."""
        content = self._encode(body, stream=False)
        try:
            response = await self._send(content, self._headers, stream=False)
        except httpx.HTTPError as exc:
            raise self._map_transport_error(exc) from exc
        if response.status_code >= 300:
            raise self._status_error(response.status_code, response.content)
        completion = self._decode_json(response.content)
        if not isinstance(completion.get("choices"), list):
            self._raise_upstream_error(completion, response.status_code)
        return completion

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        """POST a streaming request; yield each `chat.completion.chunk` until `[DONE]`.

        The HTTP response is closed when the stream ends, fails, or the consumer closes this
        generator early. A connection dropped mid-stream raises BackendConnectError.
        """
        content = self._encode(body, stream=True)
        try:
            response = await self._send(content, self._stream_headers, stream=True)
            try:
                await self._check_stream_answer(response)
                body_parts = response.aiter_bytes()
                try:
                    decoder = SSEDecoder()
                    finished = False
                    async for data in body_parts:
                        for chunk in self._chunks_in(decoder.feed(data)):
                            if chunk is None:
                                await _read_to_end(body_parts)  # so the connection can be reused
                                return
                            finished = finished or _has_finish_reason(chunk)
                            yield chunk
                    for chunk in self._chunks_in(decoder.flush()):
                        if chunk is None:
                            return
                        finished = finished or _has_finish_reason(chunk)
                        yield chunk
                    if not finished:
                        raise self._error(BackendConnectError, "upstream ended the stream before it finished")
                finally:
                    await _close_body(response, body_parts)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise self._map_transport_error(exc) from exc

    async def _send(self, content: bytes, headers: dict[str, str], *, stream: bool) -> httpx.Response:
        """POST; once more if the server closed a pooled connection without answering at all.

        That race (a keep-alive connection closed by the server as it is reused) is the one
        failure known to happen before the request was read, so retrying it is safe. The plain
        transport (`http://`) retries it itself, on pooled connections only; httpx's is retried here.
        """
        if self._transport is not None:
            request = httpx.Request("POST", self._direct_url, headers=headers, content=content,
                                    extensions=self._direct_extensions)
            return await self._send_direct(self._transport, request, stream=stream)
        request = self._client.build_request("POST", self._url, content=content, headers=headers, timeout=self._timeout)
        try:
            return await self._client.send(request, stream=stream)
        except httpx.RemoteProtocolError:
            return await self._client.send(request, stream=stream)

    @staticmethod
    async def _send_direct(transport: PlainHTTPTransport, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """What `client.send` does for a plain call: the response, its body read unless `stream`."""
        response = await transport.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def aclose(self) -> None:
        """Close the HTTP client (and transport) if this backend owns it."""
        if self._owns_client:
            await self._client.aclose()
        if self._owns_transport and self._transport is not None:
            await self._transport.aclose()

    async def _check_stream_answer(self, response: httpx.Response) -> None:
        if response.status_code >= 300:
            raise self._status_error(response.status_code, await response.aread())
        if response.headers.get("content-type", "").startswith("application/json"):
            self._raise_upstream_error(self._decode_json(await response.aread()), response.status_code)

    def _chunks_in(self, events: list[ServerSentEvent]) -> Iterator[JSONObject | None]:
        """The chunks these events carry; None for `[DONE]`. Empty `data:` lines are keep-alives."""
        for event in events:
            if event.payload == _DONE:
                yield None
                return
            if event.payload:
                yield self._decode_event(event)

    def _decode_event(self, event: ServerSentEvent) -> JSONObject:
        chunk = self._decode_json(event.payload)
        if event.field != b"data":  # llama.cpp's `error: {"code": 500, "message": ...}`
            self._raise_upstream_error(chunk if "error" in chunk else {"error": chunk}, None)
        if "error" in chunk and "choices" not in chunk:
            self._raise_upstream_error(chunk, None)
        choices = chunk.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
            raise self._error(BackendProtocolError, "upstream sent a chunk whose `choices` is not a list of objects")
        return chunk

    def _encode(self, body: JSONObject, *, stream: bool) -> bytes:
        return json.dumps({**body, "model": self._upstream_model, "stream": stream}, separators=(",", ":")).encode()

    def _decode_json(self, payload: bytes) -> JSONObject:
        try:
            value = json.loads(payload)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise self._error(BackendProtocolError, "upstream sent invalid JSON") from exc
        if not isinstance(value, dict):
            raise self._error(BackendProtocolError, "upstream sent JSON that is not an object")
        return value

    def _raise_upstream_error(self, document: JSONObject, http_status: int | None) -> NoReturn:
        """An error object in a 2xx answer or mid-stream, or a body of the wrong shape."""
        message = _error_message(document)
        if message is None:
            raise self._error(BackendProtocolError, "upstream answer has no `choices`")
        error = document.get("error")
        code = error.get("code") if isinstance(error, dict) else document.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else http_status
        if status is None or status < 400:
            status = 502
        raise self._error(BackendStatusError, f"upstream error: {message}", status)

    def _status_error(self, status: int, content: bytes) -> BackendError:
        message = None
        try:
            document = json.loads(content)
        except ValueError:
            document = None
        if isinstance(document, dict):
            message = _error_message(document)
        detail = f": {message}" if message else ""
        return self._error(BackendStatusError, f"upstream answered HTTP {status}{detail}", status)

    def _error(self, error_type: type[BackendError], what: str, status: int | None = None) -> BackendError:
        """An error of `error_type` naming this model; `what` must never contain request content."""
        return error_type(f"{self.model_id}: {what}", model_id=self.model_id, status=status)

    def _map_transport_error(self, exc: httpx.HTTPError) -> BackendError:
        kind = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return self._error(BackendTimeoutError, f"upstream timed out ({kind})")
        if isinstance(exc, httpx.ConnectError):
            return self._error(BackendConnectError, "cannot connect to upstream")
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.CloseError):
            return self._error(BackendConnectError, f"upstream connection lost ({kind})")
        return self._error(BackendProtocolError, f"HTTP failure talking to upstream ({kind})")


def _has_finish_reason(chunk: JSONObject) -> bool:
    choices = chunk.get("choices")
    if not choices:
        return "usage" in chunk
    first = choices[0]
    return isinstance(first, dict) and first.get("finish_reason") is not None


def _error_message(document: JSONObject) -> str | None:
    """OpenAI's `{"error": {"message": ...}}`, vLLM's older top-level `message`, or `error` as text."""
    error = document.get("error")
    if isinstance(error, dict):
        message = error.get("message")
    elif isinstance(error, str):
        message = error
    else:
        message = document.get("message") if document.get("object") == "error" else None
    if not isinstance(message, str) or not message:
        return None
    return message if len(message) <= _MAX_ERROR_MESSAGE_CHARS else message[:_MAX_ERROR_MESSAGE_CHARS] + "..."


async def _read_to_end(body_parts: AsyncIterator[bytes]) -> None:
    """After `[DONE]`: consume what is left (normally just the end of the chunked body)."""
    with contextlib.suppress(httpx.HTTPError):
        async for _ in body_parts:
            pass


async def _close_body(response: httpx.Response, body_parts: AsyncIterator[bytes]) -> None:
    """Close the response, then run its byte iterator to its end.

    httpx reads bodies through nested async generators; one abandoned half-way would be closed
    later by asyncio in a stray task. Once the response is closed, iterating ends at once (the
    closed connection raises ReadError), which finishes every generator in the chain here.
    """
    await response.aclose()
    with contextlib.suppress(Exception):
        async for _ in body_parts:
            pass
