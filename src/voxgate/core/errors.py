"""Every error voxgate raises, in one tree.

    VoxgateError
    ├── ConfigError                 the catalog or settings are wrong (raised at start-up)
    ├── ModelAssemblyError          bundled weights missing, or their checksum does not match
    ├── MissingExtraError           a command needs an optional extra that is not installed
    ├── DecisionLogUnavailableError the decision log's database cannot be read or written  -> 503
    ├── RequestError                the caller sent something we cannot serve (4xx)
    │   ├── InvalidRequestError     malformed or out-of-range input              -> 400
    │   ├── AuthenticationError     missing, wrong or revoked API key            -> 401
    │   ├── PermissionDeniedError   a virtual key asked for a model or profile it may not use -> 403
    │   ├── QuotaExceededError      a virtual key's budget is spent (`insufficient_quota`) -> 429
    │   ├── RateLimitedError        a key's or model's RPM/TPM/session limit is reached -> 429
    │   ├── ModelNotFoundError      `model` names nothing in the catalog         -> 404
    │   ├── PayloadTooLargeError    body over the configured limit               -> 413
    │   ├── NoEligibleModelError    constraints rule out every model             -> 400
    │   └── SessionEndedError       a realtime session must close (close code chosen by
    │       │                       `voxgate.server.errors`)
    │       ├── SessionExpiredError the session reached its maximum length
    │       ├── SlowClientError     the client stopped reading; its send queue filled up
    │       ├── ServerShuttingDownError  the server is draining (SIGTERM); the turn in progress finished
    │       └── UpstreamSessionError  a native-audio model's session failed: refused, closed, sent garbage
    └── BackendError                an upstream model server failed (`retryable` says if
        │                           another model may be tried)
        ├── BackendConnectError     could not connect                (retryable)
        ├── BackendTimeoutError     no answer in time                (retryable)
        ├── BackendStatusError      upstream answered 4xx/5xx        (retryable on 429, 5xx)
        ├── BackendProtocolError    upstream answered nonsense       (not retryable)
        ├── BackendGoingAwayError   a realtime upstream announced the end of its session (Gemini goAway)
        └── AllBackendsFailedError  every model in the plan failed   -> 502

Only `voxgate.server.errors` turns these into HTTP statuses and bodies.
"""

from __future__ import annotations

from collections.abc import Mapping


class VoxgateError(Exception):
    """Base of every voxgate error."""


class ConfigError(VoxgateError):
    """The catalog file or settings are invalid; the message says which key and why."""


class ModelAssemblyError(VoxgateError):
    """Bundled model weights could not be found or verified."""


class MissingExtraError(VoxgateError):
    """A command needs an optional extra (`pip install 'voxgate[<extra>]'`); the message names it."""


class DecisionLogUnavailableError(VoxgateError):
    """The decision log's database fails (read-only, full, broken); requests are still served."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class RequestError(VoxgateError):
    """The caller's request cannot be served as sent."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class InvalidRequestError(RequestError):
    """Malformed JSON, wrong types, missing fields, out-of-range values."""


class AuthenticationError(RequestError):
    """No API key, or one that is not configured."""


class PermissionDeniedError(RequestError):
    """A virtual key asked for something outside its allow-lists; the message names what it may use."""


class QuotaExceededError(RequestError):
    """A virtual key has spent its day's or month's budget."""


class RateLimitedError(RequestError):
    """A rate limit is reached; `retry_after_s` says when to try again, `headers` the limits' state."""

    def __init__(self, message: str, *, retry_after_s: float, headers: Mapping[str, str], code: str) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
        self.headers = dict(headers)


class ModelNotFoundError(RequestError):
    """`model` is neither a catalog id nor a routing profile."""


class PayloadTooLargeError(RequestError):
    """The request body is larger than the configured limit."""


class NoEligibleModelError(RequestError):
    """Every model was ruled out; `rejections` maps model id to the reason. Where every one was too
    small for the prompt, OpenAI's `context_length_exceeded` on `messages` (clients trim on it)."""

    def __init__(self, message: str, rejections: Mapping[str, str], *, context_too_small: bool = False) -> None:
        super().__init__(message, param="messages" if context_too_small else "routing",
                         code="context_length_exceeded" if context_too_small else "no_eligible_model")
        self.rejections = dict(rejections)


class SessionEndedError(RequestError):
    """A realtime voice session has to end; the server picks the WebSocket close code."""


class SessionExpiredError(SessionEndedError):
    """The session reached its configured maximum length."""


class SlowClientError(SessionEndedError):
    """The client did not read server events fast enough; its bounded send queue filled up."""


class ServerShuttingDownError(SessionEndedError):
    """The server is shutting down: the session ends once the turn in progress has finished."""


class UpstreamSessionError(SessionEndedError):
    """A proxied session's native-audio model failed: it refused the session, closed it, or sent
    something that is not a realtime event; the client got an `error` event with `code` first."""


class BackendError(VoxgateError):
    """An upstream model server failed."""

    retryable: bool = False

    def __init__(self, message: str, *, model_id: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.model_id = model_id
        self.status = status


class BackendConnectError(BackendError):
    retryable = True


class BackendTimeoutError(BackendError):
    retryable = True


class BackendStatusError(BackendError):
    """The upstream answered with an HTTP error status."""

    def __init__(self, message: str, *, model_id: str = "", status: int | None = None) -> None:
        super().__init__(message, model_id=model_id, status=status)
        self.retryable = status is not None and (status == 429 or status >= 500)


class BackendProtocolError(BackendError):
    """The upstream answered, but not in the OpenAI shape."""


class BackendGoingAwayError(BackendError):
    """A native-audio upstream said it will end the session soon (the Live API's `goAway`)."""


class AllBackendsFailedError(BackendError):
    """Every model in the fallback plan failed; `attempts` lists (model id, error message)."""

    def __init__(self, message: str, attempts: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.attempts = attempts
