"""A native-audio model's realtime WebSocket (`backend: openai-realtime`): its URL, its auth, one connection.

Two URL shapes and auth styles, told apart by the catalog's `base_url`:

    OpenAI (GA)   wss://api.openai.com/v1/realtime?model=<api_model>        Authorization: Bearer <key>
    Azure OpenAI  https://NAME.openai.azure.com/openai/realtime
                      ?api-version=<api_version>&deployment=<api_model>     api-key: <key>

`http(s)` becomes `ws(s)`; a query already in `base_url` is kept. The session is opened in the shape
the card says the upstream speaks (`realtime_dialect`): beta with `OpenAI-Beta: realtime=v1`. A client
of the other shape is translated by the voice layer (`voice.native.dialects`).

`backend: gemini-live` (`gemini_target`): Google's Live API, BidiGenerateContent, authenticated as
Google documents it, with the key in the query (`?key=<key>`). The key is kept out of the target's
`url` and repr (`connect_url` adds it), and out of every error message. Google may send its JSON
messages as binary frames: a Gemini connection reads them as UTF-8 text.

    target = realtime_target(card, api_key)
    upstream = await open_realtime_upstream(target, open_timeout_s=5, model_id=card.id)
    await upstream.send(text); text = await upstream.receive()   # None once the upstream has closed
    await upstream.aclose()

Failures are `BackendError`s: `BackendStatusError` (the handshake was refused: 401/403 is a bad key,
`status` says which), `BackendConnectError`, `BackendTimeoutError` (no handshake within the open
timeout) and `BackendProtocolError` (not a WebSocket server, or a binary frame where JSON text belongs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from voxgate.core.errors import BackendConnectError, BackendProtocolError, BackendStatusError, BackendTimeoutError
from voxgate.core.types import ModelCard, RealtimeDialect

DEFAULT_AZURE_API_VERSION = "2024-10-01-preview"
MAX_FRAME_BYTES = 16 * 1024 * 1024
CLOSE_TIMEOUT_S = 2.0
GEMINI_LIVE_URL = ("wss://generativelanguage.googleapis.com/ws/"
                   "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent")
"""Google's Live API socket: a `backend: gemini-live` model's `base_url` when the catalog gives none."""


@dataclass(frozen=True)
class RealtimeTarget:
    """Where to open a realtime session and the headers that authenticate it."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secret_query: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    binary_text: bool = False
    """Binary frames carry UTF-8 JSON (Gemini); otherwise one is a protocol error."""

    @property
    def connect_url(self) -> str:
        """`url` with the secret query parameters: for the handshake only, never for a log."""
        if not self.secret_query:
            return self.url
        parts = urlsplit(self.url)
        query = urlencode([*parse_qsl(parts.query), *self.secret_query])
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    @property
    def azure(self) -> bool:
        return urlsplit(self.url).path.rstrip("/").endswith("/openai/realtime")


def realtime_target(card: ModelCard, api_key: str | None) -> RealtimeTarget:
    """The URL and headers for a session with `card`'s model (see the module docstring)."""
    assert card.base_url is not None, "a realtime card has a base_url (config checks it)"
    parts = urlsplit(card.base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = dict(parse_qsl(parts.query))
    headers: list[tuple[str, str]] = []
    if parts.path.rstrip("/").endswith("/openai/realtime"):
        query.setdefault("api-version", card.api_version or DEFAULT_AZURE_API_VERSION)
        query["deployment"] = card.upstream_model
        if api_key:
            headers.append(("api-key", api_key))
    else:
        query["model"] = card.upstream_model
        if api_key:
            headers.append(("Authorization", f"Bearer {api_key}"))
    if card.realtime_dialect is RealtimeDialect.BETA:
        headers.append(("OpenAI-Beta", "realtime=v1"))
    url = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))
    return RealtimeTarget(url, tuple(headers))


def gemini_target(card: ModelCard, api_key: str | None) -> RealtimeTarget:
    """The Live API's BidiGenerateContent socket for `card`, its key as `?key=` (see the module)."""
    parts = urlsplit(card.base_url or GEMINI_LIVE_URL)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    url = urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    return RealtimeTarget(url, secret_query=(("key", api_key),) if api_key else (), binary_text=True)


class RealtimeUpstream:
    """One open session with a native-audio model: JSON text frames in and out."""

    def __init__(self, connection: ClientConnection, model_id: str, *, binary_text: bool = False) -> None:
        self._connection = connection
        self._model_id = model_id
        self._binary_text = binary_text

    @property
    def close_code(self) -> int | None:
        """The upstream's close code once it has closed; None while open."""
        return self._connection.close_code

    @property
    def close_reason(self) -> str:
        """The reason in the upstream's close frame ("" while open or when it gave none)."""
        return self._connection.close_reason or ""

    async def send(self, text: str) -> Sequence[str]:
        """One client event upstream; an upstream that has gone raises BackendConnectError.
        Returns the events the client is answered at once: none, the upstream answers itself."""
        try:
            await self._connection.send(text)
        except ConnectionClosed as exc:
            raise BackendConnectError("the realtime upstream closed the session", model_id=self._model_id) from exc
        return ()

    async def receive(self) -> str | None:
        """The next server event's text; None once the upstream has closed the session."""
        try:
            frame = await self._connection.recv()
        except ConnectionClosed:
            return None
        if isinstance(frame, bytes) and self._binary_text:
            try:
                return frame.decode()
            except UnicodeDecodeError as exc:
                raise BackendProtocolError("the realtime upstream sent a binary frame that is not UTF-8 JSON",
                                           model_id=self._model_id) from exc
        if not isinstance(frame, str):
            raise BackendProtocolError("the realtime upstream sent a binary frame, not a JSON event",
                                       model_id=self._model_id)
        return frame

    async def aclose(self) -> None:
        await self._connection.close()


async def open_realtime_upstream(target: RealtimeTarget, *, open_timeout_s: float, model_id: str) -> RealtimeUpstream:
    """Open the WebSocket handshake; raise a BackendError naming why it failed."""
    try:
        connection = await connect(target.connect_url, additional_headers=list(target.headers),
                                   open_timeout=open_timeout_s,
                                   max_size=MAX_FRAME_BYTES, compression=None, proxy=None,
                                   close_timeout=CLOSE_TIMEOUT_S, user_agent_header="voxgate")
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise BackendStatusError(f"the realtime upstream refused the session: HTTP {status}",
                                 model_id=model_id, status=status) from exc
    except TimeoutError as exc:
        raise BackendTimeoutError(f"no realtime handshake within {open_timeout_s:g} s", model_id=model_id) from exc
    except InvalidURI as exc:  # its text would carry the URL, and a Gemini key with it
        raise BackendProtocolError("the realtime upstream's base_url is not a WebSocket URL",
                                   model_id=model_id) from exc
    except InvalidHandshake as exc:
        raise BackendProtocolError(f"the realtime upstream is not a WebSocket server: {exc}",
                                   model_id=model_id) from exc
    except OSError as exc:
        raise BackendConnectError(f"cannot connect to the realtime upstream: {exc.strerror or exc}",
                                  model_id=model_id) from exc
    return RealtimeUpstream(connection, model_id, binary_text=target.binary_text)
