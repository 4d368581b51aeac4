"""API keys: required on every route but health checks when configured; 401 in OpenAI's shape."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from voxgate.server.auth import ApiKeyMiddleware


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
