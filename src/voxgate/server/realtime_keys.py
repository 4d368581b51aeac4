"""Realtime sessions under a virtual key: at most `max_voice_sessions` open at once per key (on
every replica together when Redis is configured: `server/voice_slots`).

`keyed_realtime_endpoint` wraps `server/realtime.realtime_endpoint`: a session over the key's
limit is accepted, told why in an `error` event (code `voice_session_limit`) and closed with
1013 (try again later); otherwise the session runs and frees its slot when it ends, however it
ends. Each voice turn is then admitted, routed and charged like an HTTP request
(`RoutedReplySource` carries the key).
"""

from __future__ import annotations

import anyio
from starlette.websockets import WebSocket

from voxgate.server import realtime
from voxgate.server.errors import WS_CLOSE_TRY_AGAIN_LATER
from voxgate.server.gateway import Gateway
from voxgate.server.keys import connection_key
from voxgate.voice.realtime.protocol import error_event


async def keyed_realtime_endpoint(websocket: WebSocket) -> None:
    gateway: Gateway = websocket.app.state.gateway
    key = connection_key(websocket)
    lease = await gateway.key_gate.open_voice_session(key)
    if lease is None:
        assert key is not None
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
        message = (f"key {key.name} already has its {key.policy.max_voice_sessions} concurrent voice sessions open; "
                   "close one and connect again")
        await websocket.send_json(error_event("event_voice_limit", "voice_session_limit", message,
                                              error_type="rate_limit_error"))
        await websocket.close(WS_CLOSE_TRY_AGAIN_LATER, "voice_session_limit")
        return
    try:
        await realtime.realtime_endpoint(websocket)
    finally:
        with anyio.CancelScope(shield=True):  # the slot comes back even when the session is cancelled
            await gateway.key_gate.close_voice_session(lease)
