"""Three voxgate replicas on loopback sharing one Redis (Debian's redis-server) and one decision
log file, requests spread round-robin: limits and budgets hold across them, and Redis stopping
mid-run fails open with a metric and a log line, then recovers."""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import RunningProcess, start_redis, start_voxgate, stop_process

pytestmark = pytest.mark.integration
ADMIN = {"authorization": "Bearer sk-replicas-admin"}
STATIC = {"authorization": "Bearer sk-replicas-static"}
PRICEY_CALL_USD = (12 * 100 + 5 * 200) / 1e6  # the fake upstream's 12 + 5 tokens at the catalog price
LIMITED_RPM = 4


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replicas")


@pytest.fixture(scope="module")
def redis(workdir: Path) -> Iterator[list[RunningProcess]]:
    """A list holding the running Redis, so a test can stop it and start it again on its port."""
    holder = [start_redis(workdir)]
    try:
        yield holder
    finally:
        stop_process(holder[0].process)


@pytest.fixture(scope="module")
def replicas(workdir: Path, redis: list[RunningProcess]) -> Iterator[list[RunningProcess]]:
    with serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: pricey\n    base_url: {upstream.base_url}\n"
                   "    price: {input_per_mtok: 100, output_per_mtok: 200}\n"
                   f"  - {{id: limited, base_url: '{upstream.base_url}', quality: 0.95,\n"
                   f"      rate_limits: {{rpm: {LIMITED_RPM}}}}}\n"
                   f"  - {{id: spare, base_url: '{upstream.base_url}', quality: 0.6}}\n"
                   f"include_default_models: false\nvoice: {{enabled: false}}\nredis: redis://127.0.0.1:{redis[0].port}/0\n")
        env = {"VOXGATE_ADMIN_KEY": ADMIN["authorization"][7:], "VOXGATE_API_KEYS": STATIC["authorization"][7:],
               "VOXGATE_DB": str(workdir / "shared.db")}
        running: list[RunningProcess] = []
        try:
            for name in ("a", "b", "c"):
                running.append(start_voxgate(workdir, catalog, name=f"replica-{name}", env=env))
            yield running
        finally:
            for replica in running:
                stop_process(replica.process)


def _key(replica: RunningProcess, **spec: Any) -> dict[str, Any]:
    created = httpx.post(f"{replica.base_url}/v1/admin/keys", json={"name": "team", **spec}, headers=ADMIN)
    assert created.status_code == 201, created.text
    key: dict[str, Any] = created.json()
    return key


def _chat(replica: RunningProcess, key: str, stream: bool = False) -> httpx.Response:
    """A completed call (a stream is read to its end, [DONE])."""
    return httpx.post(f"{replica.base_url}/v1/chat/completions", timeout=30,
                      json={"model": "pricey", "messages": [{"role": "user", "content": "hi"}], "stream": stream},
                      headers={"authorization": f"Bearer {key}"})


def _wait_for_a_fresh_window(needed_s: float = 20.0) -> None:
    if 60 - time.time() % 60 < needed_s:
        time.sleep(60 - time.time() % 60 + 0.2)


def test_rpm_60_allows_60_successes_across_three_replicas_not_180(replicas: list[RunningProcess]) -> None:
    secret = _key(replicas[0], rpm=60)["key"]
    _wait_for_a_fresh_window()
    statuses = [_chat(replica, secret).status_code for replica, _ in zip(itertools.cycle(replicas), range(90),
                                                                          strict=False)]
    assert statuses.count(200) == 60
    assert statuses.count(429) == 30


@pytest.mark.parametrize("stream", [False, True])
def test_a_budget_spent_through_a_blocks_b_and_c_by_the_next_request(
    replicas: list[RunningProcess], stream: bool,
) -> None:
    secret = _key(replicas[0], budget_usd={"day": 1.5 * PRICEY_CALL_USD})["key"]
    assert _chat(replicas[0], secret, stream).status_code == 200
    assert _chat(replicas[0], secret, stream).status_code == 200, "half the budget was left"
    for replica in replicas[1:]:
        refused = _chat(replica, secret)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "insufficient_quota"


def test_a_decision_written_on_a_is_readable_on_b(replicas: list[RunningProcess]) -> None:
    secret = _key(replicas[1])["key"]
    decision_id = _chat(replicas[0], secret).headers["x-voxgate-decision-id"]
    deadline_s = time.monotonic() + 5
    while (found := httpx.get(f"{replicas[1].base_url}/v1/decisions/{decision_id}", headers=STATIC)).status_code != 200:
        assert time.monotonic() < deadline_s, "A's writer flushes every 50 ms"
        time.sleep(0.1)
    assert found.json()["key_id"] == _key_id(secret)
    spend = httpx.get(f"{replicas[2].base_url}/v1/spend", params={"key": _key_id(secret)}, headers=ADMIN).json()
    assert spend["data"][0]["requests"] == 1


def test_a_models_rpm_holds_across_replicas_and_auto_routes_around_it(replicas: list[RunningProcess]) -> None:
    _wait_for_a_fresh_window()
    hello = [{"role": "user", "content": "hi"}]

    def call(replica: RunningProcess, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{replica.base_url}/v1/chat/completions", json={"messages": hello, **body}, headers=STATIC,
                          timeout=30)

    statuses = [call(replica, {"model": "limited"}).status_code
                for replica, _ in zip(itertools.cycle(replicas), range(LIMITED_RPM), strict=False)]
    assert statuses == [200] * LIMITED_RPM
    refused = call(replicas[LIMITED_RPM % 3], {"model": "limited"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "every key together" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == str(LIMITED_RPM)
    rerouted = call(replicas[2], {"model": "auto", "routing": {"models": ["limited", "spare"]}})
    assert rerouted.status_code == 200, rerouted.text
    assert rerouted.headers["x-voxgate-model"] == "spare"
    decision = httpx.get(f"{replicas[2].base_url}/v1/decisions/{rerouted.headers['x-voxgate-decision-id']}",
                         headers=STATIC).json()
    (limited,) = [c for c in decision["candidates"] if c["model"] == "limited"]
    assert not limited["eligible"]
    assert "rate limit: 4 requests per minute" in limited["reason"]


def _key_id(secret: str) -> str:
    return secret.removeprefix("sk-vg-").split("_", 1)[0]


def _metric(replica: RunningProcess, name: str) -> float:
    text = httpx.get(f"{replica.base_url}/metrics", headers=STATIC).text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


def test_redis_stopped_mid_run_fails_open_with_a_metric_and_a_log_then_recovers(
    replicas: list[RunningProcess], redis: list[RunningProcess], workdir: Path,
) -> None:
    secret = _key(replicas[0], rpm=1000, budget_usd={"day": 100.0})["key"]
    assert _chat(replicas[0], secret).status_code == 200
    assert _metric(replicas[0], "voxgate_redis_up") == 1.0
    port = redis[0].port
    stop_process(redis[0].process)
    for replica in replicas:
        assert _chat(replica, secret).status_code == 200, "fail open: served on this replica's own counts"
        assert _metric(replica, "voxgate_redis_up") == 0.0
        assert _metric(replica, "voxgate_redis_failures_total") >= 1.0
        assert "redis unreachable" in replica.log_path.read_text()
    redis[0] = start_redis(workdir, port)
    time.sleep(1.2)  # the counters retry Redis after a second
    for replica in replicas:
        assert _chat(replica, secret).status_code == 200
        assert _metric(replica, "voxgate_redis_up") == 1.0
        assert "redis reachable again" in replica.log_path.read_text()
    spent = httpx.get(f"{replicas[0].base_url}/v1/admin/keys/{_key_id(secret)}", headers=ADMIN).json()["spent_usd"]
    assert spent["day"] == pytest.approx(7 * PRICEY_CALL_USD), "usage made during the outage caught up"


def test_a_replica_killed_with_sigkill_loses_no_acknowledged_decision(
    replicas: list[RunningProcess], workdir: Path,
) -> None:
    """"Acknowledged" means in the shared database: readable through any other replica. The
    writer commits every 50 ms, so at most the last 50 ms of a killed replica's decisions can be
    lost; those already acknowledged stay."""
    catalog = (workdir / "replica-a.yaml").read_text()
    env = {"VOXGATE_ADMIN_KEY": ADMIN["authorization"][7:], "VOXGATE_API_KEYS": STATIC["authorization"][7:],
           "VOXGATE_DB": str(workdir / "shared.db")}
    doomed = start_voxgate(workdir, catalog, name="replica-d", env=env)
    try:
        secret = _key(doomed)["key"]
        ids = [_chat(doomed, secret).headers["x-voxgate-decision-id"] for _ in range(20)]
        deadline_s = time.monotonic() + 5
        acknowledged: set[str] = set()
        while len(acknowledged) < len(ids) and time.monotonic() < deadline_s:
            acknowledged |= {d for d in ids if _readable(replicas[1], d)}
        assert acknowledged == set(ids)
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(10)
    finally:
        stop_process(doomed.process)
    assert all(_readable(replicas[2], decision_id) for decision_id in ids)


def _readable(replica: RunningProcess, decision_id: str) -> bool:
    return httpx.get(f"{replica.base_url}/v1/decisions/{decision_id}", headers=STATIC).status_code == 200
