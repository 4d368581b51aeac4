"""A bundled llama.cpp server killed with SIGKILL: voxgate routes around it, says why, restarts it.

Uses the suite's `voxgate serve` with the bundled ladder and kills the smallest model's server
process (found among voxgate's children by its `--alias`).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration
VICTIM = "smollm2-135m"
RESTART_WITHIN_S = 120.0


def _model_server_pid(parent_pid: int, model_id: str) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == parent_pid and b"voxgate.models.llama_process" in cmdline and model_id.encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no llama.cpp server for {model_id} among the children of {parent_pid}")


def _health(server: RunningProcess, model_id: str) -> str:
    models = httpx.get(f"{server.base_url}/v1/models").json()["data"]
    return str(next(m for m in models if m["id"] == model_id)["voxgate"]["health"])


def _ask(server: RunningProcess, model: str, **routing: Any) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4}
    if routing:
        body["routing"] = routing
    return httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=120)


def test_a_killed_model_server_is_routed_around_and_restarted(voxgate_server: RunningProcess) -> None:
    assert _ask(voxgate_server, VICTIM).status_code == 200
    old_pid = _model_server_pid(voxgate_server.process.pid, VICTIM)
    os.kill(old_pid, signal.SIGKILL)

    deadline_s = time.monotonic() + 10
    while "restarting" not in _health(voxgate_server, VICTIM):
        assert time.monotonic() < deadline_s, "voxgate did not notice the dead server"
        time.sleep(0.05)
    decision = httpx.post(f"{voxgate_server.base_url}/v1/route", json={
        "model": "auto:cost", "messages": [{"role": "user", "content": "hi"}]}).json()
    victim = next(c for c in decision["candidates"] if c["model"] == VICTIM)
    assert victim["eligible"] is False
    assert "killed by SIGKILL" in victim["reason"]
    assert "restarting" in victim["reason"]
    meanwhile = _ask(voxgate_server, "auto:cost")
    assert meanwhile.status_code == 200, "other models answer while it restarts"
    assert meanwhile.json()["model"] != VICTIM

    deadline_s = time.monotonic() + RESTART_WITHIN_S
    while _health(voxgate_server, VICTIM) != "ok":
        assert time.monotonic() < deadline_s, f"not restarted: {_health(voxgate_server, VICTIM)}"
        time.sleep(0.5)
    assert _model_server_pid(voxgate_server.process.pid, VICTIM) != old_pid
    again = _ask(voxgate_server, VICTIM)
    assert again.status_code == 200, again.text
    assert again.json()["model"] == VICTIM
