"""An upstream llama.cpp server killed (SIGKILL) while it streams an answer: the client's stream
ends with an OpenAI error event, the decision records the failure, and the next request falls
back to the other model. Real processes: a separate llama.cpp server (SmolLM2) as a remote model.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import RunningProcess, start_llama, start_voxgate, stop_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningProcess, RunningProcess]]:
    workdir: Path = tmp_path_factory.mktemp("killed-mid-stream")
    victim = start_llama("victim", workdir)
    gateway = None
    try:
        with serve_in_thread() as upstream:
            catalog = (f"models:\n  - id: victim\n    base_url: {victim.base_url}/v1\n    quality: 0.9\n"
                       "    context_window: 2048\n    locality: private\n"
                       f"  - id: steady\n    base_url: {upstream.base_url}\n    quality: 0.5\n"
                       "include_default_models: false\nvoice: {enabled: false}\n")
            gateway = start_voxgate(workdir, catalog)
            yield victim, gateway
    finally:
        for process in (gateway, victim):
            if process is not None:
                stop_process(process.process)


def _read_killing_after(stream: Any, received: list[Any], pid: int, chunks_before_kill: int) -> None:
    for chunk in stream:
        received.append(chunk)
        if len(received) == chunks_before_kill:
            os.kill(pid, signal.SIGKILL)


def test_a_stream_whose_upstream_is_killed_ends_with_an_error_event(
    fleet: tuple[RunningProcess, RunningProcess],
) -> None:
    victim, gateway = fleet
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="x", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto:quality", messages=[{"role": "user", "content": "Count from 1 to 300, one number a line."}],
        max_tokens=600, temperature=0, stream=True,
    )
    decision_id = raw.headers["x-voxgate-decision-id"]
    received: list[Any] = []
    with pytest.raises(openai.APIError, match="failed after the response started"):
        _read_killing_after(raw.parse(), received, victim.process.pid, chunks_before_kill=3)
    assert {c.model for c in received} == {"victim"}
    decision = httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}").json()
    assert decision["outcome"] == "failed"
    assert [(a["model"], a["status"]) for a in decision["attempts"]] == [("victim", "error")]

    after = httpx.post(f"{gateway.base_url}/v1/chat/completions", timeout=60, json={
        "model": "auto:quality", "messages": [{"role": "user", "content": "hi"}]})
    assert after.status_code == 200
    assert after.json()["model"] == "steady"
    assert gateway.process.poll() is None
