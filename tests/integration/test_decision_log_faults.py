"""The decision log's disk fails under a running voxgate: a full disk, then a read-only one.

The database lives on a real tmpfs mounted for the test (64 KiB: it fills after a few dozen
decisions, ENOSPC), later remounted read-only (EROFS) and finally remounted large and writable.
Throughout, requests are served; /metrics counts the rows lost and waiting; /readyz shows the
log failing, then ok again; nothing crashes. Mounting needs root (CI runs as root).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
MAX_PENDING = 40


def _mount(mount_point: Path, options: str) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (CI runs as root): {result.stderr.strip()}")


def _remount(mount_point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount_point)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    _mount(mount_point, "size=64k")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def gateway(tmp_path: Path, disk: Path) -> Iterator[RunningProcess]:
    with serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                   f"include_default_models: false\nvoice: {{enabled: false}}\ndatabase: {disk}/decisions.db\n"
                   f"decision_log_max_pending: {MAX_PENDING}\n")
        running = start_voxgate(tmp_path, catalog)
        try:
            yield running
        finally:
            stop_process(running.process)


def _chat(gateway: RunningProcess, count: int) -> list[int]:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hello " * 40}]}
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        return [client.post("/v1/chat/completions", json=body).status_code for _ in range(count)]


def _metric(gateway: RunningProcess, name: str) -> float:
    text = httpx.get(f"{gateway.base_url}/metrics").text
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match[1])


def _log_health(gateway: RunningProcess) -> dict[str, Any]:
    ready = httpx.get(f"{gateway.base_url}/readyz")
    assert ready.status_code == 200
    health: dict[str, Any] = ready.json()["decision_log"]
    health["readyz_status"] = ready.json()["status"]
    return health


def _wait_for(predicate: Any, timeout_s: float = 60.0) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline_s, "condition not reached in time"
        time.sleep(0.2)


def test_a_full_then_read_only_disk_loses_only_what_it_must_and_recovers(gateway: RunningProcess, disk: Path) -> None:
    assert set(_chat(gateway, 150)) == {200}, "a full disk must not fail requests"
    _wait_for(lambda: _log_health(gateway)["status"] == "failing")
    full = _log_health(gateway)
    assert full["readyz_status"] == "degraded"
    assert "full" in full["error"]
    assert _metric(gateway, "voxgate_decision_log_write_failures_total") >= 1
    assert _metric(gateway, "voxgate_decision_log_failing") == 1
    assert full["pending"] <= MAX_PENDING
    assert full["written"] + full["pending"] + full["lost"] == 150
    assert full["lost"] > 0
    assert _metric(gateway, "voxgate_decision_log_rows_lost_total") == full["lost"]
    listing = httpx.get(f"{gateway.base_url}/v1/decisions", params={"limit": 5})
    assert listing.status_code in (200, 503), listing.text
    if listing.status_code == 503:
        assert listing.json()["error"]["code"] == "decision_log_unavailable"

    _remount(disk, "ro")
    assert set(_chat(gateway, 20)) == {200}, "a read-only disk must not fail requests"
    _wait_for(lambda: "read" in str(_log_health(gateway)["error"]).lower()
              or "disk" in str(_log_health(gateway)["error"]).lower())
    assert gateway.process.poll() is None

    _remount(disk, "rw,size=16m")
    _wait_for(lambda: _log_health(gateway)["status"] == "ok")
    healed = _log_health(gateway)
    assert healed["readyz_status"] == "ready"
    assert healed["pending"] == 0
    assert healed["written"] + healed["lost"] == 170
    assert _metric(gateway, "voxgate_decision_log_failing") == 0
    rows = httpx.get(f"{gateway.base_url}/v1/decisions", params={"limit": 1000}).json()["data"]
    assert len(rows) == healed["written"]
    assert httpx.get(f"{gateway.base_url}/healthz").status_code == 200


def test_a_database_on_a_read_only_disk_at_start_serves_and_says_so(tmp_path: Path, disk: Path) -> None:
    _remount(disk, "ro")
    with serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                   f"include_default_models: false\nvoice: {{enabled: false}}\ndatabase: {disk}/decisions.db\n")
        running = start_voxgate(tmp_path, catalog)
        try:
            assert set(_chat(running, 5)) == {200}
            health = _log_health(running)
            assert (health["status"], health["pending"], health["readyz_status"]) == ("failing", 5, "degraded")
            missing = httpx.get(f"{running.base_url}/v1/decisions/dec_none")
            assert missing.status_code == 503
            assert missing.json()["error"]["code"] == "decision_log_unavailable"
        finally:
            stop_process(running.process)
