"""Each kind of bad input gets a 4xx in OpenAI's error shape, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration
GOOD: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


def _assert_openai_error(response: httpx.Response, status: int, fragment: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert fragment.lower() in error["message"].lower()
    return dict(error)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"messages": GOOD["messages"]}, 400, "`model` is required"),
        ({"model": "auto"}, 400, "`messages` is required"),
        ({**GOOD, "messages": "hello"}, 400, "`messages` is required"),
        ({**GOOD, "messages": [{"role": "robot", "content": "hi"}]}, 400, "role 'robot' is not valid"),
        ({**GOOD, "messages": [{"role": "user", "content": ""}]}, 400, "content is empty"),
        ({**GOOD, "max_tokens": "ten"}, 400, "max_tokens"),
        ({**GOOD, "stream": "yes"}, 400, "stream"),
        ({**GOOD, "model": "gpt-17"}, 404, "does not exist"),
        ({**GOOD, "routing": {"fastest": True}}, 400, "unknown routing fields"),
        ({**GOOD, "routing": {"max_cost_usd": -1}}, 400, "between 0"),
        ({**GOOD, "routing": {"max_latency_ms": 1e15}}, 400, "between 0"),
        ({**GOOD, "routing": {"min_quality": 7}}, 400, "between 0 and 1"),
        ({**GOOD, "routing": {"mode": "turbo"}}, 400, "routing.mode"),
        ({**GOOD, "routing": {"require": ["mind-reading"]}}, 400, "unknown capabilities"),
    ],
)
def test_bad_chat_bodies(voxgate_server: RunningProcess, body: dict[str, Any], status: int, fragment: str) -> None:
    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", json=body)
    _assert_openai_error(response, status, fragment)


def test_tools_too_long_for_every_context_get_openais_context_error(voxgate_server: RunningProcess) -> None:
    """The messages fit the bundled models' 8,192 tokens; the tool declarations do not. voxgate counts them
    and answers as OpenAI does (clients trim on `context_length_exceeded`), before any model is called."""
    described = "Current weather for a city. " + "It reads the sky, the wind and the rain for you. " * 900
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}}
    tool = {"type": "function", "function": {"name": "get_weather", "description": described, "parameters": parameters}}
    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", json={**GOOD, "tools": [tool]})
    error = _assert_openai_error(response, 400, "too long for every model")
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")
    assert "tools" in error["rejections"]["qwen2.5-coder-1.5b"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[]", "JSON object"),
        (b"[" * 100_000, "nests arrays or objects too deeply"),
        # a lone surrogate escape parses but is not Unicode: it used to crash the prompt hash (500)
        (b'{"model": "auto", "messages": [{"role": "user", "content": "\\ud800 hi"}]}', "lone UTF-16 surrogate"),
    ],
)
def test_malformed_json(voxgate_server: RunningProcess, content: bytes, fragment: str) -> None:
    response = httpx.post(
        f"{voxgate_server.base_url}/v1/chat/completions", content=content,
        headers={"content-type": "application/json"},
    )
    _assert_openai_error(response, 400, fragment)


def test_oversized_body_gets_413(voxgate_server: RunningProcess) -> None:
    huge = {**GOOD, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", json=huge, timeout=30)
    _assert_openai_error(response, 413, "larger than")


def test_oversized_chunked_body_gets_413(voxgate_server: RunningProcess) -> None:
    def chunks() -> Any:
        for _ in range(80):
            yield b"x" * 65536

    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", content=chunks(), timeout=30)
    _assert_openai_error(response, 413, "larger than")


def test_unknown_route_and_method(voxgate_server: RunningProcess) -> None:
    _assert_openai_error(httpx.get(f"{voxgate_server.base_url}/v1/nothing"), 404, "no route")
    _assert_openai_error(httpx.get(f"{voxgate_server.base_url}/v1/chat/completions"), 405, "not allowed")


def test_decision_lookups(voxgate_server: RunningProcess) -> None:
    _assert_openai_error(httpx.get(f"{voxgate_server.base_url}/v1/decisions/dec_missing"), 404, "no decision")
    _assert_openai_error(
        httpx.get(f"{voxgate_server.base_url}/v1/decisions", params={"limit": "lots"}), 400, "limit"
    )
    _assert_openai_error(httpx.get(f"{voxgate_server.base_url}/v1/decisions", params={"since": "-1"}), 400, "since")


def test_server_still_serves_after_bad_input(voxgate_server: RunningProcess) -> None:
    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", json=GOOD, timeout=60)
    assert response.status_code == 200
    assert httpx.get(f"{voxgate_server.base_url}/healthz").status_code == 200
