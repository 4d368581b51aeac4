"""Failure handling through a real voxgate process in front of the fake upstream (no models):
each kind of upstream failure and what the client gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fake_upstream import RunningFakeUpstream, serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
FAILURES = ("429", "503", "400", "hang", "drop", "truncate", "stall", "garbage")


def _catalog(upstream: RunningFakeUpstream) -> str:
    lines = ["models:"]
    for failure in FAILURES:
        lines += [f"  - id: fails-{failure}", f"    base_url: {upstream.url_for(f'fail-{failure}')}",
                  "    quality: 0.9", "    price: {input_per_mtok: 1, output_per_mtok: 1}"]
    lines += [f"  - id: steady\n    base_url: {upstream.base_url}\n    quality: 0.5",
              "include_default_models: false", "request_timeout_s: 3"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    workdir: Path = tmp_path_factory.mktemp("failures")
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, _catalog(upstream))
        try:
            yield running
        finally:
            stop_process(running.process)


def _ask(gateway: RunningProcess, failing: str, stream: bool = False) -> httpx.Response:
    body: dict[str, Any] = {
        "model": "auto:quality", "messages": [{"role": "user", "content": "hi"}], "stream": stream,
        "routing": {"models": [f"fails-{failing}", "steady"]},
    }
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30)


def _decision(gateway: RunningProcess, response: httpx.Response) -> dict[str, Any]:
    decision_id = response.headers["x-voxgate-decision-id"]
    found: dict[str, Any] = httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}").json()
    return found


@pytest.mark.parametrize("failing", ["429", "503", "hang", "drop", "garbage"])
def test_failures_before_an_answer_fall_back_or_explain(gateway: RunningProcess, failing: str) -> None:
    response = _ask(gateway, failing)
    decision = _decision(gateway, response)
    first = decision["attempts"][0]
    assert first["model"] == f"fails-{failing}"
    assert first["status"] == "error"
    if failing == "garbage":
        assert response.status_code == 502, "a nonsense answer is not retried: it may have been processed"
        assert first["retryable"] is False
        return
    assert response.status_code == 200
    assert response.json()["model"] == "steady"
    assert first["retryable"] is True
    assert decision["attempts"][1] == {**decision["attempts"][1], "model": "steady", "status": "ok"}


def test_client_error_from_upstream_is_not_retried(gateway: RunningProcess) -> None:
    response = _ask(gateway, "400")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "upstream_error"
    assert [a["model"] for a in _decision(gateway, response)["attempts"]] == ["fails-400"]


@pytest.mark.parametrize("failing", ["429", "hang"])
def test_streams_fall_back_before_the_first_chunk(gateway: RunningProcess, failing: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="auto:quality", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"routing": {"models": [f"fails-{failing}", "steady"]}},
    )
    chunks = list(stream)
    assert {c.model for c in chunks} == {"steady"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize("failing", ["truncate", "stall", "drop"])
def test_failure_after_the_first_chunk_ends_the_stream_with_an_error(gateway: RunningProcess, failing: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="x", max_retries=0)
    received: list[Any] = []
    stream = client.chat.completions.create(
        model="auto:quality", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"routing": {"models": [f"fails-{failing}", "steady"]}},
    )
    with pytest.raises(openai.APIError, match="failed after the response started"):
        received.extend(stream)
    assert received, "the first chunk reached the client before the failure"
    assert {c.model for c in received} == {f"fails-{failing}"}


def test_all_failing_gives_502_listing_attempts(gateway: RunningProcess) -> None:
    body = {"model": "auto:quality", "messages": [{"role": "user", "content": "hi"}],
            "routing": {"models": ["fails-503", "fails-429"]}}
    response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert "fails-503" in message
    assert "fails-429" in message
