"""API keys: required on every route but health checks when configured; 401 in OpenAI's shape."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from voxgate.core.clock import ManualClock
from voxgate.core.keys import KeyPolicy, new_key_string
from voxgate.server.auth import ApiKeyMiddleware
from voxgate.server.keys import KeyDirectory, connection_key
from voxgate.store.keys import SQLiteKeyStore


async def _ok(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def _client(keys: frozenset[str]) -> TestClient:
    app = Starlette(routes=[Route("/v1/models", _ok), Route("/healthz", _ok)])
    return TestClient(ApiKeyMiddleware(app, keys))


def test_no_keys_configured_means_open() -> None:
    assert _client(frozenset()).get("/v1/models").status_code == 200


def test_missing_or_wrong_key_gets_401_with_openai_error() -> None:
    client = _client(frozenset({"sk-right"}))
    for headers in ({}, {"authorization": "Bearer sk-wrong"}, {"authorization": "sk-right"}):
        response = client.get("/v1/models", headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key"
        assert "Authorization: Bearer" in error["message"]


def test_right_key_as_bearer_or_azure_header() -> None:
    client = _client(frozenset({"sk-right"}))
    assert client.get("/v1/models", headers={"authorization": "Bearer sk-right"}).status_code == 200
    assert client.get("/v1/models", headers={"api-key": "sk-right"}).status_code == 200


def test_health_is_open_even_with_keys() -> None:
    assert _client(frozenset({"sk-right"})).get("/healthz").status_code == 200


def _team_client(tmp_path: Path, api_keys: frozenset[str] = frozenset()) -> tuple[TestClient, KeyDirectory]:
    async def whoami(request: Request) -> JSONResponse:
        key = connection_key(request)
        return JSONResponse({"key": key.id if key else None})

    app = Starlette(routes=[Route("/v1/models", whoami), Route("/v1/admin/keys", _ok), Route("/v1/spend", _ok)])
    directory = KeyDirectory(SQLiteKeyStore(tmp_path / "keys.db"), ManualClock(), ttl_s=0.0)
    return TestClient(ApiKeyMiddleware(app, api_keys, "sk-admin", directory)), directory


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_admin_routes_need_the_admin_key_and_it_serves_nothing_else(tmp_path: Path) -> None:
    client, directory = _team_client(tmp_path, frozenset({"sk-static"}))
    assert client.get("/v1/admin/keys", headers=_bearer("sk-admin")).status_code == 200
    assert client.get("/v1/spend", headers=_bearer("sk-admin")).status_code == 200
    for headers in ({}, _bearer("sk-static"), _bearer("sk-wrong")):
        refused = client.get("/v1/admin/keys", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_admin_key"
    assert client.get("/v1/models", headers=_bearer("sk-admin")).status_code == 401, "no master key for model calls"
    directory.close()


def test_admin_routes_are_off_without_an_admin_key() -> None:
    app = Starlette(routes=[Route("/v1/admin/keys", _ok)])
    refused = TestClient(ApiKeyMiddleware(app, frozenset())).get("/v1/admin/keys", headers=_bearer("anything"))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "admin_key_not_set"


def test_virtual_keys_authenticate_until_revoked_or_rotated(tmp_path: Path) -> None:
    client, directory = _team_client(tmp_path)
    key, secret = directory.store.create("team-a", KeyPolicy(), 1.0)
    assert client.get("/v1/models", headers=_bearer(secret)).json() == {"key": key.id}
    assert client.get("/v1/models", headers={"api-key": secret}).json() == {"key": key.id}
    unknown = client.get("/v1/models", headers=_bearer(new_key_string(key.id)))
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    rotated = directory.store.rotate(key.id)
    assert rotated is not None
    assert client.get("/v1/models", headers=_bearer(secret)).status_code == 401
    assert client.get("/v1/models", headers=_bearer(rotated[1])).status_code == 200
    directory.store.revoke(key.id, 2.0)
    revoked = client.get("/v1/models", headers=_bearer(rotated[1]))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "revoked_api_key"
    assert client.get("/v1/models").status_code == 401, "an admin key turns authentication on"
    directory.close()
