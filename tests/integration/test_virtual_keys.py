"""Virtual keys, budgets, rate limits and spend through a real `voxgate serve` in front of the fake
upstream, with the official `openai` SDK and the `voxgate keys` / `voxgate spend` commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fake_upstream import RunningFakeUpstream, serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
ADMIN_KEY = "sk-test-admin"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
STATIC_KEY = "sk-test-static"
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
# The fake upstream reports 12 prompt tokens and 5 completion tokens ("Hello from the fake upstream.").
PRICEY_CALL_USD = (12 * 100 + 5 * 200) / 1e6
CHEAP_CALL_USD = (12 * 1 + 5 * 2) / 1e6


def _catalog(upstream: RunningFakeUpstream) -> str:
    models = [("cheap", upstream.base_url, 0.85, "{input_per_mtok: 1, output_per_mtok: 2}"),
              ("pricey", upstream.base_url, 0.9, "{input_per_mtok: 100, output_per_mtok: 200}"),
              ("silent", upstream.url_for("usage-none"), 0.5, "{input_per_mtok: 100, output_per_mtok: 200}"),
              ("slow", upstream.url_for("chunkdelay-20"), 0.4, "{input_per_mtok: 100, output_per_mtok: 200}")]
    lines = ["models:"]
    for model_id, url, quality, price in models:
        lines += [f"  - id: {model_id}", f"    base_url: {url}", f"    quality: {quality}", f"    price: {price}"]
    return "\n".join([*lines, "include_default_models: false", "voice: {enabled: false}"]) + "\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def gateway(workdir: Path) -> Iterator[RunningProcess]:
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, _catalog(upstream), env={"VOXGATE_ADMIN_KEY": ADMIN_KEY,
                                                                    "VOXGATE_API_KEYS": STATIC_KEY})
        try:
            yield running
        finally:
            stop_process(running.process)


def _create(gateway: RunningProcess, **spec: Any) -> dict[str, Any]:
    response = httpx.post(f"{gateway.base_url}/v1/admin/keys", json=spec, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _client(gateway: RunningProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def _chat(gateway: RunningProcess, key: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json={"messages": HI, **body},
                      headers={"authorization": f"Bearer {key}"}, timeout=30)


def _decision(gateway: RunningProcess, response: httpx.Response) -> dict[str, Any]:
    decision_id = response.headers["x-voxgate-decision-id"]
    found: dict[str, Any] = httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}",
                                      headers={"authorization": f"Bearer {STATIC_KEY}"}).json()
    return found


def test_admin_routes_refuse_bad_input_in_openai_shape(gateway: RunningProcess) -> None:
    url = f"{gateway.base_url}/v1/admin/keys"
    for headers in ({}, {"authorization": "Bearer sk-nope"}, {"authorization": f"Bearer {STATIC_KEY}"}):
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_admin_key"
    for body, param in (({"name": "a", "rpm": -1}, "rpm"), ({"name": "a", "models": ["gpt-9"]}, "models"),
                        ({"rpm": 5}, "name"), ({"name": "a", "budget_usd": {"week": 3}}, "budget_usd")):
        bad = httpx.post(url, json=body, headers=ADMIN)
        assert bad.status_code == 400
        assert bad.json()["error"] == {**bad.json()["error"], "type": "invalid_request_error", "param": param}
    not_json = httpx.post(url, content=b"{name", headers=ADMIN | {"content-type": "application/json"})
    assert not_json.status_code == 400
    assert httpx.delete(f"{url}/000000000000", headers=ADMIN).json()["error"]["code"] == "key_not_found"


def test_a_key_works_with_the_sdk_until_rotated_or_revoked(gateway: RunningProcess) -> None:
    created = _create(gateway, name="team-a")
    secret = created["key"]
    answer = _client(gateway, secret).chat.completions.with_raw_response.create(model="auto", messages=HI)
    decision = _decision(gateway, httpx.Response(200, headers=dict(answer.headers)))
    assert decision["key_id"] == created["id"]
    assert secret not in str(decision)
    assert secret not in httpx.get(f"{gateway.base_url}/v1/admin/keys", headers=ADMIN).text
    with pytest.raises(openai.AuthenticationError):
        _client(gateway, secret[:-4] + "abcd").chat.completions.create(model="auto", messages=HI)
    rotated = httpx.post(f"{gateway.base_url}/v1/admin/keys/{created['id']}/rotate", headers=ADMIN).json()
    assert rotated["id"] == created["id"]
    assert _chat(gateway, secret, model="auto").status_code == 401
    assert _chat(gateway, rotated["key"], model="auto").status_code == 200
    httpx.delete(f"{gateway.base_url}/v1/admin/keys/{created['id']}", headers=ADMIN)
    revoked = _chat(gateway, rotated["key"], model="auto")
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "revoked_api_key"


def test_a_key_outside_its_models_and_profiles_gets_403_naming_them(gateway: RunningProcess) -> None:
    secret = _create(gateway, name="bots", models=["cheap"], profiles=["auto:cost"])["key"]
    for model in ("pricey", "auto:quality"):
        refused = _chat(gateway, secret, model=model)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "model_not_allowed"
        assert "auto:cost, cheap" in refused.json()["error"]["message"]
    with pytest.raises(openai.PermissionDeniedError):
        _client(gateway, secret).chat.completions.create(model="pricey", messages=HI)
    served = _chat(gateway, secret, model="auto:cost")
    assert served.status_code == 200
    assert served.headers["x-voxgate-model"] == "cheap"


def _metrics(gateway: RunningProcess) -> str:
    return httpx.get(f"{gateway.base_url}/metrics", headers={"authorization": f"Bearer {STATIC_KEY}"}).text


def test_rpm_gives_429_with_retry_after_and_ratelimit_headers(gateway: RunningProcess) -> None:
    created = _create(gateway, name="script", rpm=2, tpm=100_000)
    secret = created["key"]
    first = _chat(gateway, secret, model="cheap")
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    _chat(gateway, secret, model="cheap")
    third = _chat(gateway, secret, model="cheap")
    if third.status_code == 200:  # the one-minute window turned between the calls
        third = _chat(gateway, secret, model="cheap")
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(third.headers["retry-after"]) <= 60
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError):
        _client(gateway, secret).chat.completions.create(model="cheap", messages=HI)
    refusals = f'voxgate_key_refusals_total{{code="rate_limit_exceeded",key_id="{created["id"]}"}} 2.0'
    assert refusals in _metrics(gateway)


def test_near_its_budget_a_key_gets_cheaper_models_and_past_it_429_insufficient_quota(gateway: RunningProcess) -> None:
    budget_usd = 2.2 * PRICEY_CALL_USD
    secret = _create(gateway, name="capped", budget_usd={"day": budget_usd})["key"]
    models = [_chat(gateway, secret, model="auto:quality").headers["x-voxgate-model"] for _ in range(2)]
    assert models == ["pricey", "pricey"]
    near = _chat(gateway, secret, model="auto:quality")
    assert near.headers["x-voxgate-model"] == "cheap"
    assert _decision(gateway, near)["reason"].startswith("near budget: key ")
    assert _chat(gateway, secret, model="pricey").status_code == 200, "still under budget: a direct call is served"
    over = _chat(gateway, secret, model="cheap")
    assert over.status_code == 429
    assert over.json()["error"]["type"] == "insufficient_quota"
    assert over.json()["error"]["code"] == "insufficient_quota"
    with pytest.raises(openai.RateLimitError):
        _client(gateway, secret).chat.completions.create(model="cheap", messages=HI)


def _spend_of(gateway: RunningProcess, key_id: str) -> dict[str, Any]:
    rows = httpx.get(f"{gateway.base_url}/v1/spend", params={"key": key_id}, headers=ADMIN).json()["data"]
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


def test_streamed_and_non_streamed_calls_record_the_same_spend(gateway: RunningProcess) -> None:
    plain, streamed = _create(gateway, name="plain"), _create(gateway, name="streamed")
    for _ in range(3):
        _client(gateway, plain["key"]).chat.completions.create(model="pricey", messages=HI)
        chunks = list(_client(gateway, streamed["key"]).chat.completions.create(model="pricey", messages=HI,
                                                                                stream=True))
        assert chunks
    spent = [_spend_of(gateway, key["id"]) for key in (plain, streamed)]
    assert spent[0]["cost_usd"] == pytest.approx(3 * PRICEY_CALL_USD)
    assert spent[0] == {**spent[1], "key": spent[0]["key"]}
    assert spent[0]["estimated_requests"] == 0
    metrics = _metrics(gateway)
    for key in (plain, streamed):
        exported = re.search(rf'voxgate_key_spend_usd_total{{key_id="{key["id"]}"}} (\S+)', metrics)
        assert exported is not None
        assert float(exported.group(1)) == pytest.approx(spent[0]["cost_usd"])
        assert f'voxgate_key_tokens_total{{key_id="{key["id"]}",kind="completion"}} 15.0' in metrics


def test_a_keyed_stream_the_client_abandons_is_recorded_cancelled_and_charged(gateway: RunningProcess) -> None:
    created = _create(gateway, name="quitter")
    body = {"model": "slow", "messages": HI, "stream": True, "fake_content": "word " * 400}
    with httpx.stream("POST", f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {created['key']}"}) as response:
        decision_id = response.headers["x-voxgate-decision-id"]
        next(response.iter_lines())
    deadline_s = time.monotonic() + 10
    while (decision := _decision_by_id(gateway, decision_id)).get("outcome") != "cancelled":
        assert time.monotonic() < deadline_s, decision
        time.sleep(0.2)
    assert decision["usage"]["estimated"] is True
    assert _spend_of(gateway, created["id"])["cost_usd"] > 0


def _decision_by_id(gateway: RunningProcess, decision_id: str) -> dict[str, Any]:
    found = httpx.get(f"{gateway.base_url}/v1/decisions/{decision_id}",
                      headers={"authorization": f"Bearer {STATIC_KEY}"})
    return dict(found.json()) if found.status_code == 200 else {}


def test_a_stream_without_usage_is_charged_an_estimate_marked_estimated(gateway: RunningProcess) -> None:
    created = _create(gateway, name="silent-user")
    stream = _client(gateway, created["key"]).chat.completions.create(model="silent", messages=HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text
    newest = httpx.get(f"{gateway.base_url}/v1/decisions", params={"model": "silent", "limit": 1},
                       headers={"authorization": f"Bearer {STATIC_KEY}"}).json()["data"][0]
    assert newest["key_id"] == created["id"]
    usage = newest["usage"]
    assert usage["estimated"] is True
    assert usage["completion_tokens"] == (len(text) + 3) // 4
    row = _spend_of(gateway, created["id"])
    assert row["estimated_requests"] == 1
    assert row["cost_usd"] > 0


def test_a_virtual_key_sees_only_its_own_spend(gateway: RunningProcess) -> None:
    created = _create(gateway, name="nosy")
    _chat(gateway, created["key"], model="cheap")
    mine = httpx.get(f"{gateway.base_url}/v1/spend", headers={"authorization": f"Bearer {created['key']}"}).json()
    assert [row["key"] for row in mine["data"]] == [created["id"]]
    assert mine["data"][0]["cost_usd"] == pytest.approx(CHEAP_CALL_USD)


def _voxgate(workdir: Path, *args: str) -> str:
    env = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db"), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "voxgate.cli", *args, "--config", str(workdir / "voxgate.yaml")],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_keys_made_by_the_cli_work_on_the_running_server(gateway: RunningProcess, workdir: Path) -> None:
    printed = _voxgate(workdir, "keys", "create", "--name", "cli-team", "--budget-usd", "20/day", "--rpm", "60",
                       "--models", "cheap,pricey", "--profiles", "auto:cost", "--routing", '{"max_cost_usd": 0.01}')
    secret = next(word for word in printed.split() if word.startswith("sk-vg-"))
    served = _chat(gateway, secret, model="auto:cost")
    assert served.status_code == 200
    assert _decision(gateway, served)["constraints"]["max_cost_usd"] == 0.01, "the key's routing binds its requests"
    listed = _voxgate(workdir, "keys", "list")
    assert "cli-team" in listed
    assert "20/day" in listed
    assert secret not in listed
    assert "cheap" in _voxgate(workdir, "spend", "--group-by", "model")
    _voxgate(workdir, "keys", "revoke", "cli-team")
    deadline_s = time.monotonic() + 10
    while _chat(gateway, secret, model="auto:cost").status_code != 401:
        assert time.monotonic() < deadline_s, "a key revoked by the CLI stops working within the key cache's TTL"
        time.sleep(0.5)
    refused = subprocess.run([sys.executable, "-m", "voxgate.cli", "keys", "create", "--name", "x", "--models",
                              "gpt-9", "--config", str(workdir / "voxgate.yaml")], capture_output=True, text=True,
                             env={**os.environ, "VOXGATE_DB": str(workdir / "decisions.db")}, timeout=60, check=False)
    assert refused.returncode == 1
    assert "gpt-9" in refused.stderr
