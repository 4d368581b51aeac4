"""How often a request talks to Redis, as a contract: a real redis-server behind a proxy that
counts round trips (tests/support/redis_round_trips), the gateway in this process (its app called
through httpx's ASGI transport, which returns once the app, background work included, is done),
and a marker in the proxy's timeline when the answer's last byte is handed to the server.

- A request under a virtual key makes one round trip before its answer (the admission script) and
  one after it (its usage); a stream the same.
- A request whose spend leaves the key less than that spend again writes its usage before the
  answer ends (two trips before), so the next request is refused on any replica.
- A request without a virtual key (a static `api_keys` one) never reaches Redis.
"""

from __future__ import annotations

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
from voxgate.server.gateway import Gateway

pytestmark = pytest.mark.integration
ADMIN_KEY = "sk-round-trips-admin"
STATIC_KEY = "sk-round-trips-static"
CALL_USD = (12 * 100 + 5 * 200) / 1e6  # the fake upstream's 12 + 5 tokens at the catalog price
ANSWER_SENT = "answer sent"
HELLO = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


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
    redis = start_redis(tmp_path)
    try:
        with serve_in_thread() as upstream:
            async with RoundTripProxy(redis.port) as proxy:
                (tmp_path / "catalog.yaml").write_text(
                    f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                    "    price: {input_per_mtok: 100, output_per_mtok: 200}\n"
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


async def test_a_malformed_or_disallowed_request_gives_its_count_back(harness: Harness) -> None:
    """The count runs beside parsing: a 400 or 403 found meanwhile takes nothing from the window."""
    secret = await harness.key(rpm=3, models=["scripted"])
    malformed = await harness.trips(secret, {"model": "auto", "messages": "not a list"})
    assert malformed[2].status_code == 400
    assert malformed[:2] == (2, 0), "counted, then given back"
    disallowed = await harness.trips(secret, {**HELLO, "model": "auto", "routing": {"models": ["other"]}})
    assert disallowed[2].status_code == 403
    _, _, served = await harness.trips(secret)
    assert served.status_code == 200
    assert served.headers["x-ratelimit-remaining-requests"] == "2"
