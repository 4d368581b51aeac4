"""A realtime client that stops reading while a spoken reply streams: the server closes the session
with close code 4001 (`slow_client`, README's voice section) once `voice.send_queue_events` events
are waiting for it, instead of buffering without bound, and carries on serving other sessions.

The raw `websockets` client uses `max_queue=1`, so once it stops calling `recv()` it stops reading
the socket too. A reply's audio alone fills the default queue (2,048 events) only after minutes, so
the client also asks for one 16 KB item over and over (`conversation.item.retrieve`): each answer is
one more event the server owes a client that reads nothing."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration

WAIT_S = 240.0  # two heavy jobs share this 2-core machine
RETRIEVES = 6_000
FILLER_TEXT = "lorem ipsum dolor sit amet " * 600  # ~16 KB


def _url(server: RunningProcess) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/realtime?model=auto"


async def _receive_until(socket: ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_S):
        while True:
            event: dict[str, Any] = json.loads(await socket.recv())
            if event["type"] == kind:
                return event


async def _slow_client_closes(http: httpx.AsyncClient) -> int:
    text = (await http.get("/metrics")).text
    match = re.search(r'^voxgate_voice_sessions_ended_total\{reason="slow_client"\} (\S+)$', text, re.MULTILINE)
    return int(float(match.group(1))) if match else 0


async def _until_the_server_gives_up(http: httpx.AsyncClient, closes_before: int) -> None:
    while True:
        if await _slow_client_closes(http) > closes_before:
            return
        await asyncio.sleep(0.1)


async def _read_to_the_end(socket: ClientConnection) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            await socket.recv()


async def _ask_for_a_long_spoken_reply(socket: ClientConnection) -> None:
    await socket.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "instructions": "Speak at length.", "max_output_tokens": 1000}}))
    await socket.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Tell me a long story about a dragon and a knight."}]}}))
    await socket.send(json.dumps({"type": "response.create"}))


async def test_a_client_that_stops_reading_gets_close_code_4001(voxgate_server: RunningProcess) -> None:
    async with httpx.AsyncClient(base_url=voxgate_server.base_url, timeout=30) as http:
        closes_before = await _slow_client_closes(http)
        async with websockets.connect(_url(voxgate_server), max_queue=1, max_size=None, ping_interval=None) as socket:
            await _receive_until(socket, "session.created")
            await _ask_for_a_long_spoken_reply(socket)
            await _receive_until(socket, "response.output_audio.delta")  # the reply is streaming
            # From here on the client reads nothing.
            await socket.send(json.dumps({"type": "conversation.item.create", "item": {
                "id": "filler", "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": FILLER_TEXT}]}}))
            retrieve = json.dumps({"type": "conversation.item.retrieve", "item_id": "filler"})
            async with asyncio.timeout(WAIT_S):
                for _ in range(RETRIEVES):
                    await socket.send(retrieve)
                await _until_the_server_gives_up(http, closes_before)
            # Reading again drains what the server had sent, then its close frame.
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await _read_to_the_end(socket)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "slow_client")
        assert (await http.get("/healthz")).status_code == 200
    await _another_session_still_works(voxgate_server)


async def _another_session_still_works(server: RunningProcess) -> None:
    async with websockets.connect(_url(server), max_size=None) as socket:
        await _receive_until(socket, "session.created")
        await socket.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "instructions": "Answer in one short sentence."}}))
        await socket.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello."}]}}))
        await socket.send(json.dumps({"type": "response.create"}))
        done = await _receive_until(socket, "response.done")
    assert done["response"]["status"] == "completed"
