"""How often a request talks to Redis, as a contract: a real redis-server behind a proxy that
counts round trips (tests/support/redis_round_trips), the gateway in this process (its app called
through httpx's ASGI transport, which returns once the app, background work included, is done),
and a marker in the proxy's timeline when the answer's last byte is handed to the server.

- A request under a virtual key makes one round trip before its answer (the admission script) and
  one after it (its usage); a stream the same.
- A request whose spend leaves the key less than that spend again writes its usage before the
  answer ends (two trips before), so the next request is refused on any replica.
- A request without a virtual key (a static `api_keys` one) never reaches Redis, unless the model it
  is routed to has catalog `rate_limits`: then one trip before (the model's admission) and one after.
- With per-model rate limits, a keyed request still makes one trip before its answer: the key's
  window and the chosen model's are checked and taken by the same script.
- Ten requests sent at once against a TPM that fits three reservations: three are served, seven get
  429 `rate_limit_exceeded` with retry-after and the tokens' x-ratelimit-* headers; once answered, the
  window holds the tokens the answers really used, not the reservations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import start_redis, stop_process
from tests.support.redis_round_trips import RoundTripProxy
from voxgate.config import load_settings
from voxgate.server.app import create_app
from voxgate.server.counters import reserved_tokens
from voxgate.server.gateway import Gateway
from voxgate.server.validation import parse_chat_request

pytestmark = pytest.mark.integration
ADMIN_KEY = "sk-round-trips-admin"
STATIC_KEY = "sk-round-trips-static"
CALL_USD = (12 * 100 + 5 * 200) / 1e6  # the fake upstream's 12 + 5 tokens at the catalog price
ANSWER_SENT = "answer sent"
HELLO = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
BOUNDED = {**HELLO, "max_tokens": 100}
RESERVED = reserved_tokens(parse_chat_request(dict(BOUNDED)).prompt_tokens_estimate, 100)
TIGHT_TPM = 3 * RESERVED + RESERVED // 2
USED_TOKENS = 12 + 5  # the fake upstream's usage
SLOW_MS = 1000


class Harness:
    def __init__(self, client: httpx.AsyncClient, proxy: RoundTripProxy) -> None:
        self.client = client
        self.proxy = proxy

    async def key(self, **spec: Any) -> str:
        created = await self.client.post("/v1/admin/keys", json={"name": "trips", **spec},
                                         headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])

    async def trips(self, secret: str | None, body: dict[str, Any] = HELLO) -> tuple[int, int, httpx.Response]:
        """(round trips before the answer was sent, after it) for one request, and its response."""
        start = len(self.proxy.timeline)
        headers = {"authorization": f"Bearer {secret or STATIC_KEY}"}
        response = await self.client.post("/v1/chat/completions", json=body, headers=headers)
        timeline = self.proxy.timeline[start:]
        sent = timeline.index(ANSWER_SENT)
        return self.proxy.trips_since(start) - timeline[sent:].count("trip"), timeline[sent:].count("trip"), response


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with _harness(tmp_path, "") as running:
        yield running


@pytest.fixture
async def limited_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """`scripted` and `tight` both under catalog rate limits (`tight`: three reservations a minute, slow,
    poor and dear, so `auto` never picks it)."""
    limits = f"    rate_limits: {{rpm: 1000, tpm: 1000000}}\n  - id: tight\n    base_url: {{slow_url}}\n" \
             f"    rate_limits: {{tpm: {TIGHT_TPM}}}\n    quality: 0.05\n" \
             "    price: {input_per_mtok: 100000, output_per_mtok: 100000}\n"
    async with _harness(tmp_path, limits) as running:
        yield running


@pytest.fixture
async def slow_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """`slow` (the only model besides `scripted`, which it outranks) answers after SLOW_MS: requests sent
    at once are all admitted before any finishes."""
    async with _harness(tmp_path, "  - {id: slow, base_url: '{slow_url}', quality: 0.99}\n") as running:
        yield running


@contextlib.asynccontextmanager
async def _harness(tmp_path: Path, more_catalog: str) -> AsyncIterator[Harness]:
    redis = start_redis(tmp_path)
    try:
        with serve_in_thread() as upstream:
            async with RoundTripProxy(redis.port) as proxy:
                (tmp_path / "catalog.yaml").write_text(
                    f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                    "    price: {input_per_mtok: 100, output_per_mtok: 200}\n"
                    + more_catalog.replace("{slow_url}", upstream.base_url.replace("/v1", f"/delay-{SLOW_MS}/v1")) +
                    f"include_default_models: false\nvoice: {{enabled: false}}\n"
                    f"redis: redis://127.0.0.1:{proxy.port}/0\n")
                env = {"VOXGATE_DB": str(tmp_path / "decisions.db"), "VOXGATE_ADMIN_KEY": ADMIN_KEY,
                       "VOXGATE_API_KEYS": STATIC_KEY,
                       "XDG_DATA_HOME": str(tmp_path)}
                settings = load_settings(tmp_path / "catalog.yaml", env=env)
                gateway = Gateway(settings)
                app = create_app(settings, gateway)

                async def marked(scope: Any, receive: Any, send: Any) -> None:
                    async def send_and_mark(message: Any) -> None:
                        await send(message)
                        if message["type"] == "http.response.body" and not message.get("more_body"):
                            proxy.mark(ANSWER_SENT)
                    await app(scope, receive, send_and_mark)

                async with gateway.run():
                    await gateway.ready.wait()
                    transport = httpx.ASGITransport(app=marked)
                    async with httpx.AsyncClient(transport=transport, base_url="http://voxgate") as client:
                        harness = Harness(client, proxy)
                        warm = await harness.key()
                        for _ in range(2):  # connections opened, the admission script loaded
                            await harness.trips(warm)
                        yield harness
    finally:
        stop_process(redis.process)


async def test_a_keyed_request_makes_one_round_trip_before_its_answer_and_one_after(harness: Harness) -> None:
    secret = await harness.key(budget_usd={"day": 100.0}, rpm=1000, tpm=1_000_000)
    for _ in range(3):
        before, after, response = await harness.trips(secret)
        assert response.status_code == 200
        assert (before, after) == (1, 1)
    before, after, response = await harness.trips(secret, {**HELLO, "stream": True})
    assert response.status_code == 200
    assert "[DONE]" in response.text
    assert (before, after) == (1, 1)


async def test_a_request_without_a_virtual_key_never_reaches_redis(harness: Harness) -> None:
    before, after, response = await harness.trips(None)
    assert response.status_code == 200
    assert (before, after) == (0, 0)


@pytest.mark.parametrize("stream", [False, True])
async def test_the_spend_that_nearly_uses_up_a_budget_is_written_before_the_answer_ends(
    harness: Harness, stream: bool
) -> None:
    secret = await harness.key(budget_usd={"day": 2.5 * CALL_USD})
    body = {**HELLO, "stream": stream}
    assert (await harness.trips(secret, body))[:2] == (1, 1), "1.5 calls left after it: written after the answer"
    for left in ("half a call", "nothing"):
        before, after, response = await harness.trips(secret, body)
        assert response.status_code == 200
        assert (before, after) == (2, 0), f"{left} left after it: written before the answer ends"
    _, _, refused = await harness.trips(secret, body)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "insufficient_quota"


async def test_a_malformed_or_disallowed_request_never_reaches_redis(harness: Harness) -> None:
    """The body is parsed and checked against the key's lists before the admission: a 400 or a 403
    costs no round trip and takes nothing from the window."""
    secret = await harness.key(rpm=3, models=["scripted"])
    malformed = await harness.trips(secret, {"model": "auto", "messages": "not a list"})
    assert malformed[2].status_code == 400
    assert malformed[:2] == (0, 0)
    disallowed = await harness.trips(secret, {**HELLO, "model": "auto", "routing": {"models": ["other"]}})
    assert disallowed[2].status_code == 403
    assert disallowed[:2] == (0, 0)
    _, _, served = await harness.trips(secret)
    assert served.status_code == 200
    assert served.headers["x-ratelimit-remaining-requests"] == "2"


async def _at_once(harness: Harness, secret: str | None, body: dict[str, Any], n: int = 10) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {secret or STATIC_KEY}"}
    return list(await asyncio.gather(*(harness.client.post("/v1/chat/completions", json=body, headers=headers)
                                       for _ in range(n))))


def _assert_three_served_seven_refused(responses: list[httpx.Response], tpm: int) -> None:
    """Three 200s (a window fits three reservations), seven 429s in OpenAI's rate-limit shape."""
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 7
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-limit-tokens"] == str(tpm)
        assert refused.headers["x-ratelimit-reset-tokens"].endswith("s")


async def test_concurrent_requests_cannot_overshoot_a_keys_tpm(slow_harness: Harness) -> None:
    harness = slow_harness
    secret = await harness.key(tpm=TIGHT_TPM)
    responses = await _at_once(harness, secret, {**BOUNDED, "model": "slow"})
    _assert_three_served_seven_refused(responses, TIGHT_TPM)
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.headers["x-ratelimit-remaining-tokens"] == str(TIGHT_TPM - 3 * RESERVED)
    before, after, next_one = await harness.trips(secret, {**BOUNDED, "model": "slow"})
    assert next_one.status_code == 200, "the answers' real usage replaced their reservations"
    assert next_one.headers["x-ratelimit-remaining-tokens"] == str(TIGHT_TPM - 3 * USED_TOKENS - RESERVED)
    assert (before, after) == (1, 1)


async def test_with_per_model_limits_a_request_still_makes_one_round_trip_before_its_answer(
    limited_harness: Harness
) -> None:
    secret = await limited_harness.key(budget_usd={"day": 100.0}, rpm=1000, tpm=1_000_000)
    for body in (HELLO, {**HELLO, "stream": True}, {**HELLO, "model": "scripted"}):
        before, after, response = await limited_harness.trips(secret, body)
        assert response.status_code == 200, response.text
        assert (before, after) == (1, 1), body
    before, after, response = await limited_harness.trips(None, {**HELLO, "model": "scripted"})
    assert response.status_code == 200
    assert (before, after) == (1, 1), "no key: the model's admission, then its usage"


async def test_concurrent_requests_cannot_overshoot_a_models_tpm(limited_harness: Harness) -> None:
    """Keyed or not, requests naming a model at its TPM get the model's 429; the answers' real usage
    replaces their reservations in the model's window too."""
    secret = await limited_harness.key(tpm=1_000_000)
    _assert_three_served_seven_refused(await _at_once(limited_harness, secret, {**BOUNDED, "model": "tight"}),
                                       TIGHT_TPM)
    unkeyed = await _at_once(limited_harness, None, {**BOUNDED, "model": "tight"})
    fit = (TIGHT_TPM - 3 * USED_TOKENS) // RESERVED
    assert sorted(r.status_code for r in unkeyed) == [200] * fit + [429] * (10 - fit)
