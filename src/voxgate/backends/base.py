"""The ChatBackend protocol: one model reachable over the OpenAI chat completions API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from voxgate.core.types import JSONObject


class ChatBackend(Protocol):
    """One upstream model.

    `complete` returns an OpenAI `chat.completion` object as a dict. `stream` yields
    `chat.completion.chunk` dicts. Both take the request body as the client sent it (minus
    voxgate's `routing` extension); the backend sets `model` to the upstream name itself.
    Failures raise `voxgate.core.errors.BackendError` subclasses; `stream` raises them from the
    first `__anext__` when the upstream fails before sending anything.
    """

    model_id: str

    async def complete(self, body: JSONObject) -> JSONObject: ...

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]: ...

    async def aclose(self) -> None: ...
