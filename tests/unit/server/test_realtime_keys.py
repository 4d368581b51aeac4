"""A virtual key's concurrent voice sessions: over the limit a session is told why and closed
with 1013; a session that ends (here: voice disabled) frees its slot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voxgate.core.clock import ManualClock
from voxgate.core.keys import KeyPolicy
from voxgate.server.auth import ApiKeyMiddleware
from voxgate.server.keys import KeyDirectory
from voxgate.server.limits import KeyGate
from voxgate.server.realtime_keys import keyed_realtime_endpoint
from voxgate.store.keys import SQLiteKeyStore


def test_sessions_over_a_keys_limit_are_refused_and_slots_come_back(tmp_path: Path) -> None:
    refusals: list[tuple[str, str]] = []
    gate = KeyGate(ManualClock(), on_refusal=lambda key_id, code: refusals.append((key_id, code)))
    app = Starlette(routes=[WebSocketRoute("/v1/realtime", keyed_realtime_endpoint)])
    app.state.gateway = SimpleNamespace(key_gate=gate, voice=None, dispatcher=None, cards=(),
                                        settings=SimpleNamespace(voice=SimpleNamespace(enabled=False)))
    directory = KeyDirectory(SQLiteKeyStore(tmp_path / "k.db"), ManualClock())
    key, secret = directory.store.create("caller", KeyPolicy(max_voice_sessions=1), 0.0)
    client = TestClient(ApiKeyMiddleware(app, frozenset(), None, directory))
    headers = {"authorization": f"Bearer {secret}"}
    try:
        held = asyncio.run(gate.open_voice_session(directory.store.get(key.id)))
        assert held is not None, "another session holds the only slot"
        with client.websocket_connect("/v1/realtime", headers=headers) as refused:
            event = refused.receive_json()
            assert event["type"] == "error"
            assert event["error"]["code"] == "voice_session_limit"
            with pytest.raises(WebSocketDisconnect) as closed:
                refused.receive_json()
            assert closed.value.code == 1013
        assert refusals == [(key.id, "voice_session_limit")]
        asyncio.run(gate.close_voice_session(held))
        for _ in range(2):  # each session (closed at once: voice is disabled) gives its slot back
            with client.websocket_connect("/v1/realtime", headers=headers) as session:
                with pytest.raises(WebSocketDisconnect) as ended:
                    session.receive_json()
                assert ended.value.reason == "voice is disabled"
        assert len(refusals) == 1
    finally:
        directory.close()
