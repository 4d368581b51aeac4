"""What the native-audio proxy tests share: a raw client's whole session, and a session's finished decision."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import websockets
from openai import AsyncOpenAI

from tests.support.processes import RunningProcess

WAIT_S = 60.0


async def finished_decision(server: RunningProcess, decision_id: str) -> dict[str, Any]:
    """The decision once the proxy has recorded the session's end (the log writes in batches)."""
    async with httpx.AsyncClient(base_url=server.base_url) as http, asyncio.timeout(WAIT_S):
        while True:
            response = await http.get(f"/v1/decisions/{decision_id}")
            if response.status_code == 200 and response.json()["outcome"] != "pending":
                found: dict[str, Any] = response.json()
                return found
            await asyncio.sleep(0.2)


async def raw_session(server: RunningProcess, model_id: str) -> tuple[list[dict[str, Any]], int | None]:
    """Every event a raw client gets from a session with `model_id` (it asks for one response at
    `session.created`), and the close code."""
    events: list[dict[str, Any]] = []
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?model={model_id}"
    async with asyncio.timeout(WAIT_S), websockets.connect(url) as socket:
        with contextlib.suppress(websockets.ConnectionClosed):  # raised after every frame that came before the close
            async for frame in socket:
                events.append(json.loads(frame))
                if events[-1]["type"] == "session.created":
                    # The server may have sent its error and closed already: the send fails, and the
                    # loop must still read what is queued (stopping here dropped an `error` in one CI run).
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await socket.send(json.dumps({"type": "response.create"}))
        return events, socket.close_code


def sdk_client(server: RunningProcess, api_key: str = "anything") -> AsyncOpenAI:
    """The official SDK pointed at a voxgate on loopback, for its realtime client too.

    The beta client always builds a wss:// URL from base_url; websocket_base_url says ws:// (no TLS here).
    """
    return AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=api_key,
                       websocket_base_url=f"ws://127.0.0.1:{server.port}/v1")
