"""Fallback across real processes: two separate llama.cpp servers registered as remote models;
one is killed mid-test, and the request falls back to the other with both attempts recorded."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.processes import RunningProcess, start_llama, start_voxgate, stop_process

pytestmark = pytest.mark.integration


def _catalog(primary: RunningProcess, backup: RunningProcess) -> str:
    def entry(model_id: str, server: RunningProcess, quality: float) -> str:
        return (
            f"  - id: {model_id}\n    base_url: {server.base_url}/v1\n    context_window: 2048\n"
            f"    price: {{input_per_mtok: 1.0, output_per_mtok: 1.0}}\n    locality: private\n"
            f"    quality: {quality}\n"
        )

    return "models:\n" + entry("primary", primary, 0.6) + entry("backup", backup, 0.5) + (
        "include_default_models: false\nbreaker_cooldown_s: 60\n"
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningProcess, RunningProcess, RunningProcess]]:
    workdir: Path = tmp_path_factory.mktemp("fallback")
    primary = start_llama("primary", workdir)
    backup = start_llama("backup", workdir)
    gateway = None
    try:
        gateway = start_voxgate(workdir, _catalog(primary, backup))
        yield primary, backup, gateway
    finally:
        for process in (gateway, primary, backup):
            if process is not None:
                stop_process(process.process)


def test_killed_primary_falls_back_and_decision_records_both_attempts(
    fleet: tuple[RunningProcess, RunningProcess, RunningProcess],
) -> None:
    primary, _, gateway = fleet
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="x", max_retries=0)
    before = client.chat.completions.with_raw_response.create(
        model="auto:quality", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5
    )
    assert before.parse().model == "primary"

    os.kill(primary.process.pid, signal.SIGKILL)
    primary.process.wait(10)

    after = client.chat.completions.with_raw_response.create(
        model="auto:quality", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5
    )
    assert after.parse().model == "backup"
    assert after.headers["x-voxgate-model"] == "backup"
    decision = httpx.get(f"{gateway.base_url}/v1/decisions/{after.headers['x-voxgate-decision-id']}").json()
    assert decision["chosen"] == "primary"
    assert [(a["model"], a["status"]) for a in decision["attempts"]] == [("primary", "error"), ("backup", "ok")]
    assert decision["attempts"][0]["retryable"] is True

    stream = client.chat.completions.create(
        model="auto:quality", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5, stream=True
    )
    assert {c.model for c in stream} == {"backup"}


def test_circuit_opens_after_repeated_failures(
    fleet: tuple[RunningProcess, RunningProcess, RunningProcess],
) -> None:
    _, _, gateway = fleet
    for _ in range(3):
        httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            json={"model": "auto:quality", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
            timeout=60,
        )
    decision = httpx.post(
        f"{gateway.base_url}/v1/route",
        json={"model": "auto:quality", "messages": [{"role": "user", "content": "hi"}]},
    ).json()
    assert decision["chosen"] == "backup"
    primary = next(c for c in decision["candidates"] if c["model"] == "primary")
    assert "circuit open" in primary["reason"]
    models = httpx.get(f"{gateway.base_url}/v1/models").json()["data"]
    assert "circuit open" in next(m for m in models if m["id"] == "primary")["voxgate"]["health"]
