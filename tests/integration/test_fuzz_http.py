"""The HTTP API against its own /openapi.json: real traffic conforms, and schemathesis finds nothing.

A real `voxgate serve` (uvicorn on a free loopback port) in front of the scripted fake upstream
(tests/fake_upstream: a fast model server) so the fuzzer spends its time on voxgate's input
handling; the small speech engines (Whisper tiny.en, espeak-ng) serve the audio endpoints.
The long run is `python -m bench.fuzz_http --cases 10000`; here a bounded budget.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import openai
import pytest
import schemathesis

from tests.fake_upstream import serve_in_thread
from tests.support.http_fuzz import fuzz_catalog, fuzz_http
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
CI_CASES = int(os.environ.get("VOXGATE_FUZZ_HTTP_CASES", "300"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz-http")
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, fuzz_catalog(upstream.base_url, voice=True))
        try:
            yield running
        finally:
            stop_process(running.process)


@pytest.fixture(scope="module")
def schema(gateway: RunningProcess) -> Any:
    return schemathesis.openapi.from_url(f"{gateway.base_url}/openapi.json")


def _check(schema: Any, path: str, method: str, response: httpx.Response) -> None:
    schema[path][method].validate_response(response)


def test_real_requests_and_responses_conform(gateway: RunningProcess, schema: Any) -> None:
    document = httpx.get(f"{gateway.base_url}/openapi.json").json()
    request_schema = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/ChatCompletionRequest", "components": document["components"]})
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    bodies: list[dict[str, Any]] = [
        {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
        {"model": "scripted-local", "messages": [{"role": "user", "content": "hi"}], "stream": True,
         "stream_options": {"include_usage": True}},
        {"model": "auto:cost", "messages": [{"role": "user", "content": "weather?"}], "tools": tools,
         "tool_choice": "auto", "routing": {"max_latency_ms": 5000, "require": ["tools"]}},
        {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"min_quality": 1}},
        {"model": "auto", "messages": [{"role": "robot", "content": "hi"}]},
    ]
    decision_id = ""
    for body in bodies:
        assert request_schema.is_valid(body) is (body["messages"][0]["role"] != "robot")
        response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30)
        _check(schema, "/v1/chat/completions", "POST", response)
        decision_id = response.headers.get("x-voxgate-decision-id", decision_id)
        routed = httpx.post(f"{gateway.base_url}/v1/route", json=body, timeout=30)
        _check(schema, "/v1/route", "POST", routed)
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0)
    assert client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}]).choices
    for path, response in [
        ("/v1/decisions/{decision_id}", httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}")),
        ("/v1/decisions/{decision_id}", httpx.get(f"{gateway.base_url}/v1/decisions/dec_none")),
        ("/v1/decisions", httpx.get(f"{gateway.base_url}/v1/decisions", params={"limit": 3})),
        ("/v1/models", httpx.get(f"{gateway.base_url}/v1/models")),
        ("/healthz", httpx.get(f"{gateway.base_url}/healthz")),
        ("/readyz", httpx.get(f"{gateway.base_url}/readyz")),
        ("/metrics", httpx.get(f"{gateway.base_url}/metrics")),
    ]:
        _check(schema, path, "GET", response)
    _check_audio(gateway, schema)
    feedback = httpx.post(f"{gateway.base_url}/v1/decisions/{decision_id}/feedback", json={"score": 1})
    assert feedback.status_code == 201
    _check(schema, "/v1/decisions/{decision_id}/feedback", "POST", feedback)


def _check_audio(gateway: RunningProcess, schema: Any) -> None:
    spoken = httpx.post(f"{gateway.base_url}/v1/audio/speech", timeout=60,
                        json={"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"})
    assert spoken.status_code == 200
    _check(schema, "/v1/audio/speech", "POST", spoken)
    for fields in ({"model": "whisper-1"}, {"model": "whisper-1", "response_format": "vtt"},
                   {"model": "whisper-1", "stream": "true"}, {"model": "whisper-1", "response_format": "xml"}):
        heard = httpx.post(f"{gateway.base_url}/v1/audio/transcriptions", data=fields, timeout=60,
                           files={"file": ("hello.wav", spoken.content, "audio/wav")})
        assert heard.status_code == (400 if fields.get("response_format") == "xml" else 200)
        heard.request.read()  # schemathesis reads the multipart request back
        _check(schema, "/v1/audio/transcriptions", "POST", heard)


def test_a_wrong_method_gets_405_with_allow(gateway: RunningProcess) -> None:
    """Found by the fuzzer: the 405 body was OpenAI-shaped but lost Starlette's `Allow` header."""
    response = httpx.delete(f"{gateway.base_url}/v1/models")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_schemathesis_finds_no_failure(gateway: RunningProcess) -> None:
    report = fuzz_http(gateway.base_url, CI_CASES)
    assert report.failure_count == 0, "\n\n".join(report.failures)
    assert report.server_errors == 0
    assert report.cases >= CI_CASES, report.by_operation
    assert gateway.process.poll() is None
    assert httpx.get(f"{gateway.base_url}/healthz").status_code == 200
    ok = httpx.post(f"{gateway.base_url}/v1/chat/completions", timeout=30,
                    json={"model": "auto", "messages": [{"role": "user", "content": "still there?"}]})
    assert ok.status_code == 200
