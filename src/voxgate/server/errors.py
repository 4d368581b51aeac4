"""The one place that turns voxgate errors into HTTP statuses and OpenAI-shaped error bodies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from voxgate.core.errors import (
    AllBackendsFailedError,
    AuthenticationError,
    BackendError,
    BackendStatusError,
    DecisionLogUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
    NoEligibleModelError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RequestError,
    ServerShuttingDownError,
    SessionEndedError,
    SessionExpiredError,
    SlowClientError,
    UpstreamSessionError,
    VoxgateError,
)
from voxgate.core.types import JSONObject


class NotReadyError(RequestError):
    """The server is still starting its models."""


def error_body(message: str, error_type: str, param: str | None = None, code: str | None = None) -> JSONObject:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _status_and_type(exc: VoxgateError) -> tuple[int, str]:
    table: list[tuple[type[VoxgateError], int, str]] = [
        (AuthenticationError, 401, "invalid_request_error"),
        (PermissionDeniedError, 403, "invalid_request_error"),
        (QuotaExceededError, 429, "insufficient_quota"),
        (RateLimitedError, 429, "rate_limit_error"),
        (ModelNotFoundError, 404, "invalid_request_error"),
        (PayloadTooLargeError, 413, "invalid_request_error"),
        (NoEligibleModelError, 400, "invalid_request_error"),
        (InvalidRequestError, 400, "invalid_request_error"),
        (NotReadyError, 503, "server_error"),
        (DecisionLogUnavailableError, 503, "server_error"),
        (AllBackendsFailedError, 502, "server_error"),
    ]
    for error_class, status, error_type in table:
        if isinstance(exc, error_class):
            return status, error_type
    if isinstance(exc, BackendStatusError) and exc.status is not None and 400 <= exc.status < 500:
        return (429, "rate_limit_error") if exc.status == 429 else (400, "invalid_request_error")
    if isinstance(exc, BackendError):
        return 502, "server_error"
    return 500, "server_error"


def error_response(exc: VoxgateError, headers: dict[str, str] | None = None) -> JSONResponse:
    status, error_type = _status_and_type(exc)
    if isinstance(exc, RequestError):
        body = error_body(exc.message, error_type, exc.param, exc.code)
        if isinstance(exc, NoEligibleModelError):
            body["error"]["rejections"] = exc.rejections
        if isinstance(exc, RateLimitedError):
            headers = {**exc.headers, **(headers or {})}
    elif isinstance(exc, BackendError):
        body = error_body(f"upstream model failed: {exc.message}", error_type, None, "upstream_error")
    elif isinstance(exc, DecisionLogUnavailableError):
        body = error_body(exc.message, error_type, None, exc.code)
    else:
        body = error_body(str(exc), error_type)
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_voxgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VoxgateError)
    return error_response(exc)


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    status = int(getattr(exc, "status_code", 500))
    detail = str(getattr(exc, "detail", "error"))
    if status == 404:
        detail = f"no route {request.method} {request.url.path}; see GET /v1/models and the README for the API"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    headers = getattr(exc, "headers", None)  # 405 carries `Allow`
    return JSONResponse(error_body(detail, "invalid_request_error"), status_code=status, headers=headers)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        error_body("internal error in voxgate; the server log has details", "server_error"), status_code=500
    )


# Realtime WebSocket close codes (documented in the README's voice section):
#   1000  normal closure: the client closed, or the server is shutting down
#   1008  policy violation: missing or invalid API key (server/auth.py; for Twilio, the `api_key`
#         stream parameter, server/twilio.py)
#   1009  message too big: a frame over WS_MAX_FRAME_BYTES (closed by uvicorn)
#   1011  internal error in voxgate (the server log has details); on the Twilio socket also a
#         message that is not Media Streams JSON, or audio other than μ-law 8 kHz mono
#   1012  service restart: the server is shutting down (SIGTERM); the turn in progress finished first
#         and an `error` event with code `server_shutting_down` came before the close
#   1013  try again later: speech engines or models are still loading, or voice is disabled
#   4000  session expired: the session reached voice.max_session_s (an `error` event with code
#         `session_expired` is sent first)
#   1014  bad gateway: the session's native-audio model (`backend: openai-realtime`, `gemini-live`)
#         refused it (bad key: `upstream_auth_failed`; unreachable: `upstream_unavailable`), closed it
#         (`upstream_closed`), failed (`upstream_error`), sent a frame that is not a realtime event
#         (`upstream_protocol_error`) or announced its end (Gemini's goAway, once the response in
#         flight finished: `upstream_going_away`); an `error` event with that code comes first
#   4001  slow client: the client stopped reading and its send queue (voice.send_queue_events) filled up
#   4002  no eligible model: no native-audio model nor voxgate's chain can serve the session under its
#         constraints (an `error` event with code `no_eligible_model` and the reasons comes first)
WS_CLOSE_NORMAL = 1000
WS_CLOSE_POLICY_VIOLATION = 1008
WS_CLOSE_INTERNAL_ERROR = 1011
WS_CLOSE_SERVICE_RESTART = 1012
WS_CLOSE_TRY_AGAIN_LATER = 1013
WS_CLOSE_BAD_GATEWAY = 1014
WS_CLOSE_SESSION_EXPIRED = 4000
WS_CLOSE_SLOW_CLIENT = 4001
WS_CLOSE_NO_ELIGIBLE_MODEL = 4002
WS_MAX_FRAME_BYTES = 24 * 1024 * 1024  # a 15 MiB append is ~20 MiB of base64 JSON


def realtime_close_code(exc: SessionEndedError) -> int:
    """The WebSocket close code for a realtime session that has to end."""
    if isinstance(exc, SessionExpiredError):
        return WS_CLOSE_SESSION_EXPIRED
    if isinstance(exc, SlowClientError):
        return WS_CLOSE_SLOW_CLIENT
    if isinstance(exc, ServerShuttingDownError):
        return WS_CLOSE_SERVICE_RESTART
    if isinstance(exc, UpstreamSessionError):
        return WS_CLOSE_BAD_GATEWAY
    return WS_CLOSE_INTERNAL_ERROR
