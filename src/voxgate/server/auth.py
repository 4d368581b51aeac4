"""API-key authentication for every route but the health checks."""

from __future__ import annotations

import hmac

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from voxgate.server.errors import error_body

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
