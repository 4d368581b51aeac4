"""The ChatBackend contract: what every backend must do, checked against a real HTTP upstream.

Each implementation is listed in BACKENDS as a factory from a ModelCard (whose `base_url` may
point the fake upstream at a failure, see tests/fake_upstream.py) to a backend. Every test runs
for every implementation, with a plain body and with a body that declares tools.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fake_upstream import DEFAULT_CONTENT, RunningFakeUpstream, serve_in_thread
from tests.support.processes import free_port
from voxgate.backends.base import ChatBackend
from voxgate.backends.openai_compat import OpenAICompatBackend
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.errors import (
    BackendConnectError,
    BackendError,
    BackendProtocolError,
    BackendStatusError,
    BackendTimeoutError,
)
from voxgate.core.types import JSONObject, ModelCard

BackendFactory = Callable[[ModelCard, float], ChatBackend]
Connect = Callable[..., ChatBackend]
READ_TIMEOUT_S = 5.0
SHORT_READ_TIMEOUT_S = 0.3
NO_HANG_S = 10.0


def make_openai_compat(card: ModelCard, read_timeout_s: float) -> ChatBackend:
    return OpenAICompatBackend(card, api_key="sk-test", connect_timeout_s=2.0, read_timeout_s=read_timeout_s)


def make_fenced_adapter(card: ModelCard, read_timeout_s: float) -> ChatBackend:
    return FencedToolCallAdapter(make_openai_compat(card, read_timeout_s))


BACKENDS: dict[str, BackendFactory] = {"openai_compat": make_openai_compat, "fenced_tool_adapter": make_fenced_adapter}

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
BODIES: dict[str, JSONObject] = {
    "plain": {"messages": [{"role": "user", "content": "SECRET-PROMPT say hello"}], "max_tokens": 16},
    "with_tools": {"messages": [{"role": "user", "content": "SECRET-PROMPT hello"}], "tools": [WEATHER_TOOL]},
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningFakeUpstream]:
    with serve_in_thread() as running:
        yield running


@pytest.fixture(params=sorted(BACKENDS))
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """(base_url, read_timeout_s) -> a backend under test; each is closed after the test."""
    factory = BACKENDS[request.param]
    made: list[ChatBackend] = []

    def make(base_url: str, read_timeout_s: float = READ_TIMEOUT_S) -> ChatBackend:
        made.append(factory(ModelCard("contract-model", base_url=base_url, api_model="upstream-name"), read_timeout_s))
        return made[-1]

    yield make
    for backend in made:
        await backend.aclose()


@pytest.fixture(params=sorted(BODIES))
def body(request: pytest.FixtureRequest) -> JSONObject:
    fresh: JSONObject = json.loads(json.dumps(BODIES[request.param]))  # a copy per test
    return fresh


async def collect(stream: AsyncIterator[JSONObject], into: list[JSONObject] | None = None) -> list[JSONObject]:
    """Every chunk of `stream` (also appended to `into`); fails the test if it takes too long."""
    received = [] if into is None else into
    async with asyncio.timeout(NO_HANG_S):
        async for chunk in stream:
            received.append(chunk)
    return received


async def test_complete_returns_a_chat_completion(connect: Connect, upstream: RunningFakeUpstream,
                                                  body: JSONObject) -> None:
    sent = json.dumps(body)
    completion = await connect(upstream.base_url).complete(body)
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "upstream-name"  # the backend sent the upstream name
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": DEFAULT_CONTENT}
    assert completion["usage"]["prompt_tokens"] > 0
    assert json.dumps(body) == sent  # the caller's body is not modified


async def test_stream_yields_chunks_and_ends_cleanly(connect: Connect,
                                                     upstream: RunningFakeUpstream, body: JSONObject) -> None:
    chunks = await collect(connect(upstream.base_url).stream({**body, "stream_options": {"include_usage": True}}))
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == DEFAULT_CONTENT
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_connect_error_is_retryable(connect: Connect, body: JSONObject) -> None:
    backend = connect(f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    with pytest.raises(BackendConnectError) as raised:
        await backend.complete(body)
    assert raised.value.retryable
    with pytest.raises(BackendConnectError):
        await collect(backend.stream(body))


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)])
async def test_http_status_errors(connect: Connect, upstream: RunningFakeUpstream, body: JSONObject,
                                  status: int, retryable: bool) -> None:
    backend = connect(upstream.url_for(f"fail-{status}"))
    for attempt in (backend.complete(body), collect(backend.stream(body))):
        with pytest.raises(BackendStatusError) as raised:
            await attempt
        assert raised.value.status == status
        assert raised.value.retryable is retryable
        assert raised.value.model_id == "contract-model"
        assert f"fake upstream failure {status}" in str(raised.value)
        assert "SECRET-PROMPT" not in str(raised.value)


async def test_mid_stream_drop_raises_instead_of_hanging(connect: Connect,
                                                         upstream: RunningFakeUpstream, body: JSONObject) -> None:
    received: list[JSONObject] = []
    with pytest.raises(BackendError) as raised:
        await collect(connect(upstream.url_for("fail-drop")).stream(body), received)
    assert received  # the role chunk came before the drop
    assert "SECRET-PROMPT" not in str(raised.value)


async def test_stream_cut_short_without_done_raises(connect: Connect,
                                                    upstream: RunningFakeUpstream, body: JSONObject) -> None:
    with pytest.raises(BackendError):
        await collect(connect(upstream.url_for("fail-truncate")).stream(body))


async def test_drop_before_answer_is_retryable(connect: Connect, upstream: RunningFakeUpstream,
                                               body: JSONObject) -> None:
    with pytest.raises(BackendError) as raised:
        await connect(upstream.url_for("fail-drop")).complete(body)
    assert raised.value.retryable


async def test_silent_upstream_times_out(connect: Connect, upstream: RunningFakeUpstream,
                                         body: JSONObject) -> None:
    backend = connect(upstream.url_for("fail-hang"), SHORT_READ_TIMEOUT_S)
    with pytest.raises(BackendTimeoutError) as raised:
        await backend.complete(body)
    assert raised.value.retryable
    with pytest.raises(BackendTimeoutError):
        await collect(backend.stream(body))


async def test_nonsense_answer_is_a_protocol_error(connect: Connect,
                                                   upstream: RunningFakeUpstream, body: JSONObject) -> None:
    backend = connect(upstream.url_for("fail-garbage"))
    with pytest.raises(BackendProtocolError) as raised:
        await backend.complete(body)
    assert not raised.value.retryable
    with pytest.raises(BackendProtocolError):
        await collect(backend.stream(body))


async def test_early_close_releases_the_connection(connect: Connect, body: JSONObject) -> None:
    with serve_in_thread() as slow:
        stream = connect(slow.url_for("chunkdelay-200")).stream(body)
        first = await anext(stream)
        assert first["object"] == "chat.completion.chunk"
        await stream.aclose()  # type: ignore[attr-defined]
        assert await asyncio.to_thread(slow.server.wait_idle, NO_HANG_S)  # the response was closed, not left open


async def test_cancelled_consumer_leaves_nothing_running(connect: Connect,
                                                         upstream: RunningFakeUpstream, body: JSONObject) -> None:
    stream = connect(upstream.url_for("fail-stall")).stream(body)

    async def consume() -> None:
        async for _chunk in stream:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_concurrent_requests(connect: Connect, upstream: RunningFakeUpstream,
                                   body: JSONObject) -> None:
    backend = connect(upstream.base_url)
    completions = await asyncio.gather(*(backend.complete(body) for _ in range(20)))
    assert {c["choices"][0]["message"]["content"] for c in completions} == {DEFAULT_CONTENT}


def test_fake_upstream_runs_as_its_own_process() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_upstream", "--port", "0"], cwd=root,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().rsplit(" ", 1)[1])
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={"model": "m"}, timeout=5)
        assert answer.json()["choices"][0]["message"]["content"] == DEFAULT_CONTENT
    finally:
        process.terminate()
        process.wait(10)


async def test_finished_streams_leave_their_connection_in_the_pool() -> None:
    with serve_in_thread() as fresh:
        backend = make_openai_compat(ModelCard("pooled", base_url=fresh.base_url), READ_TIMEOUT_S)
        try:
            for _ in range(5):
                await collect(backend.stream(BODIES["plain"]))
            await backend.complete(BODIES["plain"])
            assert fresh.server.open_connections == 1  # one kept-alive connection served all six
        finally:
            await backend.aclose()
