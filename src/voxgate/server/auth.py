"""API-key authentication for every route but the health checks.

Three kinds of key:
- `api_keys` from the config: trusted, no limits (the single-user setup);
- virtual keys (`sk-vg-...`, `voxgate keys create`): limits, budgets and allow-lists apply; the
  key found is put in the request's state (`server/keys.connection_key`);
- the `admin_key`: only for `/v1/admin/*` and `/v1/spend`; it serves no model calls, so no key
  bypasses the limits.
With neither `api_keys` nor `admin_key` configured the API is open, but a presented virtual key
is still checked (so its limits apply).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.core.keys import KEY_PREFIX, VirtualKey
from voxgate.server.errors import WS_CLOSE_POLICY_VIOLATION, error_body
from voxgate.server.keys import STATE_KEY, KeyDirectory

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# Twilio cannot send headers: its endpoint checks the key it sends as a stream parameter (server/twilio.py)
# with `caller_key`, as this middleware checks a header.
KEY_IN_MESSAGE_PATHS = frozenset({"/v1/twilio/media-stream"})
ADMIN_PREFIX = "/v1/admin/"
ADMIN_PATHS = frozenset({"/v1/spend"})
_MISSING = ("Missing or invalid API key. Send it as 'Authorization: Bearer <key>'; keys are set with "
            "api_keys in the config or VOXGATE_API_KEYS, or created with `voxgate keys create`.")


def presented_key(scope: Scope) -> bytes:
    headers = dict(scope.get("headers") or [])
    presented: bytes = headers.get(b"api-key") or b""
    authorization = headers.get(b"authorization", b"")
    if authorization.lower().startswith(b"bearer "):
        presented = authorization[7:].strip()
    return presented


class KeyRefused(Exception):
    """A presented key that may not call models: unknown, wrong or revoked (`code` says which)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


async def caller_key(presented: bytes, static_keys: Sequence[bytes], directory: KeyDirectory | None, *,
                     open_api: bool) -> VirtualKey | None:
    """The virtual key a model route's caller presented, None for a configured `api_keys` key (or
    anything on an open API); `KeyRefused` otherwise. A virtual key is checked even on an open API,
    so its limits apply. `DecisionLogUnavailableError` when the key table cannot be read."""
    if presented.startswith(KEY_PREFIX.encode()) and directory is not None:
        key = await directory.resolve(presented.decode(errors="replace"))
        if key is None:
            raise KeyRefused(_MISSING, "invalid_api_key")
        if not key.active:
            raise KeyRefused(f"the key {key.id} ({key.name}) was revoked", "revoked_api_key")
        return key
    if open_api or any(hmac.compare_digest(presented, key) for key in static_keys):
        return None
    raise KeyRefused(_MISSING, "invalid_api_key")


class ApiKeyMiddleware:
    """Requires `Authorization: Bearer <key>` (or Azure's `api-key`) when keys are configured."""

    def __init__(self, app: ASGIApp, api_keys: frozenset[str], admin_key: str | None = None,
                 directory: KeyDirectory | None = None) -> None:
        self._app = app
        self._keys = [k.encode() for k in api_keys]
        self._admin_key = admin_key.encode() if admin_key else None
        self._directory = directory

    def _is_admin(self, presented: bytes) -> bool:
        return self._admin_key is not None and hmac.compare_digest(presented, self._admin_key)

    async def _refusal(self, scope: Scope, path: str, presented: bytes) -> tuple[str, str] | None:
        """None when the request may pass, else (message, code) for the 401."""
        if path.startswith(ADMIN_PREFIX):
            if self._is_admin(presented):
                return None
            if self._admin_key is None:
                return "admin routes are off: set admin_key in the config or VOXGATE_ADMIN_KEY", "admin_key_not_set"
            return "admin routes need the admin key as 'Authorization: Bearer <admin_key>'", "invalid_admin_key"
        if path in ADMIN_PATHS and self._is_admin(presented):
            return None
        try:
            key = await caller_key(presented, self._keys, self._directory,
                                   open_api=not self._keys and self._admin_key is None)
        except KeyRefused as refused:
            return refused.message, refused.code
        if key is not None:
            scope.setdefault("state", {})[STATE_KEY] = key
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path in OPEN_PATHS | KEY_IN_MESSAGE_PATHS:
            await self._app(scope, receive, send)
            return
        try:
            refusal = await self._refusal(scope, path, presented_key(scope))
        except DecisionLogUnavailableError as exc:
            refusal, status = (exc.message, exc.code or "key_store_unavailable"), 503
        else:
            status = 401
        if refusal is None:
            await self._app(scope, receive, send)
            return
        message, code = refusal
        if scope["type"] == "http":
            error_type = "invalid_request_error" if status == 401 else "server_error"
            await JSONResponse(error_body(message, error_type, None, code), status_code=status)(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": WS_CLOSE_POLICY_VIOLATION, "reason": code})
