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
from tests.support.http_fuzz import FUZZ_API_KEY, FUZZ_ENV, auth_headers, fuzz_catalog, fuzz_http
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
CI_CASES = int(os.environ.get("VOXGATE_FUZZ_HTTP_CASES", "300"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz-http")
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, fuzz_catalog(upstream.base_url, voice=True), env=FUZZ_ENV)
        try:
            yield running
        finally:
            stop_process(running.process)


@pytest.fixture
def http(gateway: RunningProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.base_url, headers=auth_headers("/v1/models")) as client:
        yield client


@pytest.fixture(scope="module")
def schema(gateway: RunningProcess) -> Any:
    return schemathesis.openapi.from_url(f"{gateway.base_url}/openapi.json", headers=auth_headers("/openapi.json"))


def _check(schema: Any, path: str, method: str, response: httpx.Response) -> None:
    schema[path][method].validate_response(response)


def test_real_requests_and_responses_conform(http: httpx.Client, gateway: RunningProcess, schema: Any) -> None:
    document = http.get("/openapi.json").json()
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
        response = http.post("/v1/chat/completions", json=body, timeout=30)
        _check(schema, "/v1/chat/completions", "POST", response)
        decision_id = response.headers.get("x-voxgate-decision-id", decision_id)
        routed = http.post("/v1/route", json=body, timeout=30)
        _check(schema, "/v1/route", "POST", routed)
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=FUZZ_API_KEY, max_retries=0)
    assert client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}]).choices
    for path, response in [
        ("/v1/decisions/{decision_id}", http.get(f"/v1/decisions/{decision_id}")),
        ("/v1/decisions/{decision_id}", http.get("/v1/decisions/dec_none")),
        ("/v1/decisions", http.get("/v1/decisions", params={"limit": 3})),
        ("/v1/models", http.get("/v1/models")),
        ("/healthz", http.get("/healthz")),
        ("/readyz", http.get("/readyz")),
        ("/metrics", http.get("/metrics")),
    ]:
        _check(schema, path, "GET", response)
    admin = auth_headers("/v1/admin/keys")
    created = http.post("/v1/admin/keys", json={"name": "conform", "rpm": 5, "budget_usd": {"day": 1}}, headers=admin)
    _check(schema, "/v1/admin/keys", "POST", created)
    key_id = created.json()["id"]
    secret = created.json()["key"]
    keyed = http.post("/v1/chat/completions", json=bodies[0], headers={"authorization": f"Bearer {secret}"})
    _check(schema, "/v1/chat/completions", "POST", keyed)
    assert keyed.headers["x-ratelimit-remaining-requests"] == "4"
    for path, method, response in [
        ("/v1/admin/keys", "GET", http.get("/v1/admin/keys", headers=admin)),
        ("/v1/admin/keys/{key_id}", "GET", http.get(f"/v1/admin/keys/{key_id}", headers=admin)),
        ("/v1/admin/keys/{key_id}/rotate", "POST", http.post(f"/v1/admin/keys/{key_id}/rotate", headers=admin)),
        ("/v1/admin/keys/{key_id}", "DELETE", http.delete(f"/v1/admin/keys/{key_id}", headers=admin)),
        ("/v1/spend", "GET", http.get("/v1/spend", params={"group_by": "model"}, headers=admin)),
    ]:
        assert response.status_code == 200, response.text
        _check(schema, path, method, response)
    _check_audio(http, schema)
    feedback = http.post(f"/v1/decisions/{decision_id}/feedback", json={"score": 1})
    assert feedback.status_code == 201
    _check(schema, "/v1/decisions/{decision_id}/feedback", "POST", feedback)


def _check_audio(http: httpx.Client, schema: Any) -> None:
    spoken = http.post("/v1/audio/speech", timeout=60,
                       json={"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"})
    assert spoken.status_code == 200
    _check(schema, "/v1/audio/speech", "POST", spoken)
    for fields in ({"model": "whisper-1"}, {"model": "whisper-1", "response_format": "vtt"},
                   {"model": "whisper-1", "stream": "true"}, {"model": "whisper-1", "response_format": "xml"}):
        heard = http.post("/v1/audio/transcriptions", data=fields, timeout=60,
                          files={"file": ("hello.wav", spoken.content, "audio/wav")})
        assert heard.status_code == (400 if fields.get("response_format") == "xml" else 200)
        heard.request.read()  # schemathesis reads the multipart request back
        _check(schema, "/v1/audio/transcriptions", "POST", heard)


def test_a_wrong_method_gets_405_with_allow(http: httpx.Client, gateway: RunningProcess) -> None:
    """Found by the fuzzer: the 405 body was OpenAI-shaped but lost Starlette's `Allow` header."""
    response = http.delete("/v1/models")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_schemathesis_finds_no_failure(http: httpx.Client, gateway: RunningProcess) -> None:
    report = fuzz_http(gateway.base_url, CI_CASES)
    assert report.failure_count == 0, "\n\n".join(report.failures)
    assert report.server_errors == 0
    assert report.cases >= CI_CASES, report.by_operation
    assert gateway.process.poll() is None
    assert http.get("/healthz").status_code == 200
    ok = http.post("/v1/chat/completions", timeout=30,
                    json={"model": "auto", "messages": [{"role": "user", "content": "still there?"}]})
    assert ok.status_code == 200
