"""The ASGI application factory."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from voxgate.config import Settings
from voxgate.core.errors import VoxgateError
from voxgate.server import routes
from voxgate.server.errors import error_body, handle_http_error, handle_unexpected, handle_voxgate_error
from voxgate.server.gateway import Gateway
from voxgate.server.metrics import RequestMetricsMiddleware

OPEN_PATHS = frozenset({"/healthz", "/readyz"})


class ApiKeyMiddleware:
    """Requires `Authorization: Bearer <key>` (or Azure's `api-key`) when keys are configured."""

    def __init__(self, app: ASGIApp, api_keys: frozenset[str]) -> None:
        self._app = app
        self._keys = [k.encode() for k in api_keys]

    def _authorized(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        presented = headers.get(b"api-key") or b""
        authorization = headers.get(b"authorization", b"")
        if authorization.lower().startswith(b"bearer "):
            presented = authorization[7:].strip()
        return any(hmac.compare_digest(presented, key) for key in self._keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or not self._keys or scope.get("path") in OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        if self._authorized(scope):
            await self._app(scope, receive, send)
            return
        body = error_body(
            "Missing or invalid API key. Send it as 'Authorization: Bearer <key>'; keys are set with "
            "api_keys in the config or VOXGATE_API_KEYS.",
            "invalid_request_error", None, "invalid_api_key",
        )
        if scope["type"] == "http":
            await JSONResponse(body, status_code=401)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": "invalid API key"})


def create_app(settings: Settings, gateway: Gateway | None = None) -> ASGIApp:
    """Build the app. The gateway (models, router, log) starts and stops with the app's lifespan."""
    gateway = gateway or Gateway(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with gateway.run():
            app.state.gateway = gateway
            yield

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", routes.chat_completions, methods=["POST"]),
            Route("/v1/route", routes.explain_route, methods=["POST"]),
            Route("/v1/decisions", routes.list_decisions, methods=["GET"]),
            Route("/v1/decisions/{decision_id}", routes.get_decision, methods=["GET"]),
            Route("/v1/models", routes.list_models, methods=["GET"]),
            Route("/healthz", routes.healthz, methods=["GET"]),
            Route("/readyz", routes.readyz, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
        ],
        exception_handlers={
            VoxgateError: handle_voxgate_error,
            HTTPException: handle_http_error,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return RequestMetricsMiddleware(ApiKeyMiddleware(app, settings.api_keys), gateway.metrics)
