"""Upstream faults beyond single failures (test_upstream_failures.py has those): a 429 storm that
opens the circuit breaker and its cooldown, a slow upstream that routing learns to avoid, and
malformed SSE in the middle of a stream. A real voxgate process; the fake upstream fails on cue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fake_upstream import RunningFakeUpstream, serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
COOLDOWN_S = 10.0
SLOW_MS = 1500


def _catalog(upstream: RunningFakeUpstream) -> str:
    def model(model_id: str, url: str, quality: float, ttft_ms: float) -> str:
        return (f"  - id: {model_id}\n    base_url: {url}\n    quality: {quality}\n    ttft_ms: {ttft_ms}\n"
                "    price: {input_per_mtok: 1, output_per_mtok: 1}\n")

    return "models:\n" + "".join([
        model("storm", upstream.url_for("fail-429"), 0.9, 100),
        model("slow", upstream.url_for(f"delay-{SLOW_MS}"), 0.8, 50),
        model("badchunk", upstream.url_for("fail-badchunk"), 0.9, 100),
        model("wrongshape", upstream.url_for("fail-wrongshape"), 0.9, 100),
        model("steady", upstream.base_url, 0.5, 300),
    ]) + (f"include_default_models: false\nbreaker_cooldown_s: {COOLDOWN_S}\nrequest_timeout_s: 10\n"
          "voice: {enabled: false}\n")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    workdir: Path = tmp_path_factory.mktemp("upstream-faults")
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, _catalog(upstream))
        try:
            yield running
        finally:
            stop_process(running.process)


def _ask(gateway: RunningProcess, models: list[str], *, mode: str = "quality", stream: bool = False) -> httpx.Response:
    body: dict[str, Any] = {"model": f"auto:{mode}", "messages": [{"role": "user", "content": "hi"}],
                            "stream": stream, "routing": {"models": models}}
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=60)


def _decision(gateway: RunningProcess, response: httpx.Response) -> dict[str, Any]:
    decision_id = response.headers["x-voxgate-decision-id"]
    found: dict[str, Any] = httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}").json()
    return found


def test_a_429_storm_opens_the_breaker_then_the_cooldown_lets_one_try_through(gateway: RunningProcess) -> None:
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: _ask(gateway, ["storm", "steady"]), range(24)))
    assert {r.status_code for r in responses} == {200}, "every request is served by the fallback"
    assert {r.json()["model"] for r in responses} == {"steady"}
    tried = [d for d in (_decision(gateway, r) for r in responses) if d["attempts"][0]["model"] == "storm"]
    assert 3 <= len(tried) < 24, "the breaker stops sending to the rate-limited model after 3 failures"
    assert all(d["attempts"][0]["error"] and "429" in d["attempts"][0]["error"] for d in tried)
    health = next(m for m in httpx.get(f"{gateway.base_url}/v1/models").json()["data"] if m["id"] == "storm")
    assert "circuit open" in health["voxgate"]["health"]
    skipped = _decision(gateway, _ask(gateway, ["storm", "steady"]))
    storm = next(c for c in skipped["candidates"] if c["model"] == "storm")
    assert "circuit open" in storm["reason"]

    time.sleep(COOLDOWN_S + 0.2)
    after = [_decision(gateway, _ask(gateway, ["storm", "steady"])) for _ in range(3)]
    assert [d["attempts"][0]["model"] for d in after] == ["storm", "steady", "steady"], (
        "after the cooldown one request tries the model again; its failure reopens the breaker")


def test_a_slow_upstream_is_served_and_then_avoided_by_fast_routing(gateway: RunningProcess) -> None:
    first = _ask(gateway, ["slow", "steady"], mode="fast", stream=True)
    assert first.status_code == 200
    assert first.headers["x-voxgate-model"] == "slow", "its prior says it is fast"
    assert "data: [DONE]" in first.text
    measured = next(m for m in httpx.get(f"{gateway.base_url}/v1/models").json()["data"] if m["id"] == "slow")
    assert measured["voxgate"]["ttft_ms"] >= SLOW_MS * 0.5
    second = _ask(gateway, ["slow", "steady"], mode="fast", stream=True)
    assert second.headers["x-voxgate-model"] == "steady", "the live measurement now says it is slow"


@pytest.mark.parametrize("failing", ["badchunk", "wrongshape"])
def test_malformed_sse_mid_stream_ends_the_stream_with_an_error_event(gateway: RunningProcess, failing: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="x", max_retries=0)
    received: list[Any] = []
    stream = client.chat.completions.create(
        model="auto:quality", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"routing": {"models": [failing, "steady"]}},
    )
    with pytest.raises(openai.APIError, match="failed after the response started"):
        received.extend(stream)
    assert received, "the good first chunk reached the client"
    decisions = httpx.get(f"{gateway.base_url}/v1/decisions", params={"model": failing, "limit": 1}).json()["data"]
    assert decisions[0]["outcome"] == "failed"
    assert decisions[0]["attempts"][-1]["retryable"] is False
    assert httpx.get(f"{gateway.base_url}/healthz").status_code == 200
