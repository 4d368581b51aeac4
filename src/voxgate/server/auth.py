"""API-key authentication for every route but the health checks."""

from __future__ import annotations

import hmac

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from voxgate.server.errors import WS_CLOSE_POLICY_VIOLATION, error_body

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# Twilio cannot send headers: its endpoint checks the key it sends as a stream parameter (server/twilio.py).
KEY_IN_MESSAGE_PATHS = frozenset({"/v1/twilio/media-stream"})


def key_is_valid(presented: bytes, api_keys: frozenset[str]) -> bool:
    """Whether `presented` is one of the configured keys (compared in constant time)."""
    return any(hmac.compare_digest(presented, key.encode()) for key in api_keys)


class ApiKeyMiddleware:
    """Requires `Authorization: Bearer <key>` (or Azure's `api-key`) when keys are configured."""

    def __init__(self, app: ASGIApp, api_keys: frozenset[str]) -> None:
        self._app = app
        self._keys = api_keys

    def _authorized(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        presented = headers.get(b"api-key") or b""
        authorization = headers.get(b"authorization", b"")
        if authorization.lower().startswith(b"bearer "):
            presented = authorization[7:].strip()
        return key_is_valid(presented, self._keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or not self._keys or scope.get("path") in OPEN_PATHS | KEY_IN_MESSAGE_PATHS:
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
            await send({"type": "websocket.close", "code": WS_CLOSE_POLICY_VIOLATION, "reason": "invalid API key"})
