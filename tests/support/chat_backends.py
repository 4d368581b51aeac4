"""`ScriptedChatBackend`: a `ChatBackend` in memory that answers from a script and records what it was sent.

    ScriptedChatBackend("a")                                      # answers "ok" (3 + 2 tokens)
    ScriptedChatBackend("a", error=BackendConnectError("down"))   # every call fails at once
    ScriptedChatBackend("a", chunks=my_chunks, error=dropped, fail_after_chunks=1)   # fails mid-stream
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence

from voxgate.core.errors import BackendError
from voxgate.core.types import JSONObject

USAGE: JSONObject = {"prompt_tokens": 3, "completion_tokens": 2}
OK_ANSWER: JSONObject = {"choices": [{"message": {"content": "ok"}}], "usage": USAGE}
OK_CHUNKS: tuple[JSONObject, ...] = (
    {"choices": [{"delta": {"content": "o"}}]},
    {"choices": [{"delta": {"content": "k"}}]},
    {"choices": [], "usage": USAGE},
)


class ScriptedChatBackend:
    """`complete` returns a copy of `answer`; `stream` yields copies of `chunks`.

    With `error` set, `complete` raises it, and `stream` raises it after `fail_after_chunks`
    chunks (0: before the first). `sent` holds every body it was sent, `yielded` counts the
    chunks it handed out; `stream_closed` and `closed` say whether a stream ended and `aclose` ran.
    """

    def __init__(
        self,
        model_id: str = "scripted",
        *,
        answer: JSONObject | None = None,
        chunks: Sequence[JSONObject] = OK_CHUNKS,
        error: BackendError | None = None,
        fail_after_chunks: int = 0,
    ) -> None:
        self.model_id = model_id
        self.answer = OK_ANSWER if answer is None else answer
        self.chunks = list(chunks)
        self.error = error
        self.fail_after_chunks = fail_after_chunks
        self.sent: list[JSONObject] = []
        self.yielded = 0
        self.stream_closed = False
        self.closed = False

    @property
    def calls(self) -> int:
        return len(self.sent)

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.answer)

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.sent.append(body)
        try:
            for index, chunk in enumerate(self.chunks):
                if self.error is not None and index == self.fail_after_chunks:
                    raise self.error
                self.yielded += 1
                yield copy.deepcopy(chunk)
        finally:
            self.stream_closed = True

    async def aclose(self) -> None:
        self.closed = True
