"""Session affinity: a conversation stays on its model so the upstream prompt cache survives."""

from __future__ import annotations

from collections import OrderedDict


class SessionAffinity:
    """Remembers the last model per session id; bounded, least recently used evicted first."""

    def __init__(self, max_sessions: int = 10_000) -> None:
        self._max_sessions = max_sessions
        self._model_by_session: OrderedDict[str, str] = OrderedDict()

    def model_for(self, session_id: str | None) -> str | None:
        if session_id is None:
            return None
        model_id = self._model_by_session.get(session_id)
        if model_id is not None:
            self._model_by_session.move_to_end(session_id)
        return model_id

    def remember(self, session_id: str | None, model_id: str) -> None:
        if session_id is None:
            return
        self._model_by_session[session_id] = model_id
        self._model_by_session.move_to_end(session_id)
        while len(self._model_by_session) > self._max_sessions:
            self._model_by_session.popitem(last=False)
