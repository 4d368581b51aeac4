"""`database: postgresql://...`: two replicas on one Debian PostgreSQL share keys, decisions and
spend; the CLI reads the same; Postgres stopped mid-run: requests go on being served, decisions
wait in bounded memory (/readyz says so) and are written when it is back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import (
    RunningProcess,
    postgres_data_dir,
    postgres_url,
    start_postgres,
    start_voxgate,
    stop_postgres,
    stop_process,
)

pytestmark = pytest.mark.integration
ADMIN = {"authorization": "Bearer sk-pg-admin"}
STATIC = {"authorization": "Bearer sk-pg-static"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("postgres")


@pytest.fixture(scope="module")
def postgres(workdir: Path) -> Iterator[list[RunningProcess]]:
    holder = [start_postgres(workdir)]
    try:
        yield holder
    finally:
        stop_postgres(holder[0].process)
        shutil.rmtree(postgres_data_dir(workdir), ignore_errors=True)


@pytest.fixture(scope="module")
def replicas(workdir: Path, postgres: list[RunningProcess]) -> Iterator[list[RunningProcess]]:
    with serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: steady\n    base_url: {upstream.base_url}\n"
                   "    price: {input_per_mtok: 100, output_per_mtok: 200}\n"
                   f"include_default_models: false\nvoice: {{enabled: false}}\n"
                   f"database: {postgres_url(postgres[0])}\n")
        env = {"VOXGATE_ADMIN_KEY": ADMIN["authorization"][7:], "VOXGATE_API_KEYS": STATIC["authorization"][7:]}
        running: list[RunningProcess] = []
        try:
            for name in ("a", "b"):
                running.append(start_voxgate(workdir, catalog, name=f"pg-{name}", env=env))
            yield running
        finally:
            for replica in running:
                stop_process(replica.process)


def _chat(replica: RunningProcess, key: str) -> httpx.Response:
    return httpx.post(f"{replica.base_url}/v1/chat/completions", timeout=30,
                      json={"model": "steady", "messages": [{"role": "user", "content": "hi"}]},
                      headers={"authorization": f"Bearer {key}"})


def _decision(replica: RunningProcess, decision_id: str) -> httpx.Response:
    return httpx.get(f"{replica.base_url}/v1/decisions/{decision_id}", headers=STATIC)


def _eventually_readable(replica: RunningProcess, decision_id: str, within_s: float = 10) -> dict[str, Any]:
    deadline_s = time.monotonic() + within_s
    while (found := _decision(replica, decision_id)).status_code != 200:
        assert time.monotonic() < deadline_s, found.text
        time.sleep(0.2)
    body: dict[str, Any] = found.json()
    return body


def test_keys_decisions_and_spend_are_shared_through_postgres(replicas: list[RunningProcess], workdir: Path) -> None:
    a, b = replicas
    created = httpx.post(f"{a.base_url}/v1/admin/keys", json={"name": "pg-team", "rpm": 100}, headers=ADMIN).json()
    answered = _chat(b, created["key"])
    assert answered.status_code == 200, "a key made on A works on B"
    decision = _eventually_readable(a, answered.headers["x-voxgate-decision-id"])
    assert decision["key_id"] == created["id"]
    spend = httpx.get(f"{a.base_url}/v1/spend", params={"key": created["id"], "group_by": "day"}, headers=ADMIN)
    assert spend.json()["data"][0]["requests"] == 1
    listed = subprocess.run([sys.executable, "-m", "voxgate.cli", "keys", "list", "--config",
                             str(workdir / "pg-a.yaml")], capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert "pg-team" in listed.stdout


def test_postgres_stopped_mid_run_buffers_decisions_and_writes_them_when_back(
    replicas: list[RunningProcess], postgres: list[RunningProcess], workdir: Path,
) -> None:
    a, b = replicas
    secret = httpx.post(f"{a.base_url}/v1/admin/keys", json={"name": "outage"}, headers=ADMIN).json()["key"]
    assert _chat(a, secret).status_code == 200  # the key is now cached on A
    port = postgres[0].port
    stop_postgres(postgres[0].process)
    during = _chat(a, secret)
    assert during.status_code == 200, "served while the database is down"
    deadline_s = time.monotonic() + 10
    while (ready := httpx.get(f"{a.base_url}/readyz").json())["decision_log"]["status"] == "ok":
        assert time.monotonic() < deadline_s
        time.sleep(0.2)
    assert ready["status"] == "degraded"
    assert ready["decision_log"]["pending"] >= 1
    assert "voxgate@" in ready["decision_log"]["path"]
    for route in ("/v1/admin/keys", "/v1/spend"):  # what needs the database now: a 503 in OpenAI's shape
        refused = httpx.get(f"{a.base_url}{route}", headers=ADMIN)
        assert refused.status_code == 503, (route, refused.text)
        assert refused.json()["error"]["type"] == "server_error"
    assert httpx.get(f"{a.base_url}/v1/admin/keys", headers=ADMIN).json()["error"]["code"] == "key_store_unavailable"
    postgres[0] = start_postgres(workdir, port)
    found = _eventually_readable(b, during.headers["x-voxgate-decision-id"], within_s=40)
    assert found["outcome"] == "ok"
    assert httpx.get(f"{a.base_url}/readyz").json()["decision_log"]["lost"] == 0
