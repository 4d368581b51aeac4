"""A scripted realtime upstream on loopback: the faults a native-audio model can show a proxy.

    with serve_scripted_realtime() as upstream:
        upstream.url_for("close")      # ws://127.0.0.1:PORT/close/v1/realtime
        upstream.headers_seen          # the handshake headers of every session (auth checks)

    path        behaviour
    refuse      answers the handshake with HTTP 401 (a wrong key)
    close       `session.created`; on `response.create`: `response.created`, then closes (mid-turn)
    garbage     `session.created`, then a frame that is not JSON
    silent      `session.created`, then nothing, ever (a model that hangs)
    speak       `session.created`; on `response.create`: at once `response.created`, one 100 ms
                PCM16 24 kHz audio delta and `response.done` with usage (an instant model, for
                measuring what a proxy adds: bench/realtime_proxy.py)

It runs in its own thread and event loop, so the test's loop owns none of its tasks.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from tests.support.loopback_websockets import serve_in_thread


@dataclass
class ScriptedRealtime:
    port: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    def url_for(self, behaviour: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{behaviour}/v1/realtime"


def _behaviour(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def _created() -> str:
    return json.dumps({"type": "session.created", "event_id": "event_1",
                       "session": {"type": "realtime", "id": "sess_scripted"}})


def _spoken_reply(response_id: str) -> list[str]:
    delta = base64.b64encode(bytes(2 * 2_400)).decode()
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}},
        {"type": "response.output_audio.delta", "response_id": response_id, "item_id": "item_1",
         "output_index": 0, "content_index": 0, "delta": delta},
        {"type": "response.done", "response": {"id": response_id, "status": "completed",
                                               "usage": {"input_tokens": 10, "output_tokens": 5}}},
    ]
    return [json.dumps({"event_id": f"event_{response_id}_{n}", **e}) for n, e in enumerate(events)]


async def _session(connection: ServerConnection) -> None:
    behaviour = _behaviour(connection.request.path if connection.request else "")
    await connection.send(_created())
    if behaviour == "garbage":
        await connection.send("<html><body>502 Bad Gateway</body></html>")
    async for message in connection:
        event = json.loads(message)
        if behaviour == "speak" and event.get("type") == "response.create":
            for text in _spoken_reply(str(event.get("event_id", "resp"))):
                await connection.send(text)
        if behaviour == "close" and event.get("type") == "response.create":
            await connection.send(json.dumps({"type": "response.created", "event_id": "event_2",
                                              "response": {"id": "resp_1", "status": "in_progress"}}))
            await connection.close(1011, "scripted failure")
            return


@contextlib.contextmanager
def serve_scripted_realtime() -> Iterator[ScriptedRealtime]:
    state = ScriptedRealtime()

    def check(connection: ServerConnection, request: Request) -> Response | None:
        state.headers_seen.append({k.lower(): v for k, v in request.headers.raw_items()})
        if _behaviour(request.path) == "refuse":
            return connection.respond(401, "invalid api key\n")
        return None

    with serve_in_thread(_session, process_request=check) as port:
        state.port = port
        yield state
