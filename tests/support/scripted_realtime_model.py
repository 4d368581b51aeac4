"""A scripted OpenAI realtime model that speaks ONE shape of the protocol, strictly: GA or beta.

    with serve_scripted_realtime_model() as model:
        model.url("ga")                      # ws://127.0.0.1:PORT/ga/v1/realtime
        model.url("beta", azure=True)        # ws://127.0.0.1:PORT/beta/openai/realtime (Azure's dated shape)
        model.sessions[-1].received          # every client event a session got, as sent
        model.sessions[-1].refused           # the `error` events it answered for events not in its shape
        model.sessions[-1].headers           # the handshake headers (auth, OpenAI-Beta)

Every client event is checked against the SDK's types of its shape (tests/support/realtime_shapes);
one that is not well shaped gets an `error` (`unknown_parameter`), as OpenAI answers a field it does
not know. Its own events are in its shape (names and objects written here, not by the translator
under test). It cannot hear: a committed buffer "says" `HEARD`.

    session.update          session.updated with the whole session
    input_audio_buffer.*    append counts bytes; commit -> committed, the user item (GA: added + done),
                            its transcription (`HEARD`); an empty buffer -> error input_audio_buffer_commit_empty
    conversation.item.create  the item announced (GA: added + done); a function_call_output is kept
    response.create         with tools and no tool output yet: a `get_weather` call; otherwise a spoken
                            reply (`REPLY`, or `TOOL_REPLY` after a tool output): transcript deltas and
                            AUDIO_CHUNKS x 100 ms of a tone, paced `CHUNK_PAUSE_S` apart
    response.cancel         the reply stops: response.done `cancelled`
    conversation.item.truncate  conversation.item.truncated; an unknown item -> error item_truncate_invalid_item_id
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from tests.support.loopback_websockets import serve_in_thread
from tests.support.realtime_shapes import BETA_CLIENT, GA_CLIENT, shape_errors
from voxgate.voice.realtime.protocol import EventNames

HEARD = "What is the weather in Oslo?"
REPLY = "Hello from the scripted model."
TOOL_REPLY = "It is sunny in Oslo."
AUDIO_CHUNKS = 10
CHUNK_PAUSE_S = 0.05
CHUNK_SAMPLES = 2_400  # 100 ms at 24 kHz
TONE = b"".join(struct.pack("<h", int(8_000 * math.sin(2 * math.pi * 440 * n / 24_000)))
                for n in range(CHUNK_SAMPLES))


@dataclass
class ScriptedSession:
    dialect: str
    headers: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ScriptedRealtimeModel:
    port: int = 0
    sessions: list[ScriptedSession] = field(default_factory=list)

    def url(self, dialect: str, *, azure: bool = False) -> str:
        return f"ws://127.0.0.1:{self.port}/{dialect}/{'openai/realtime' if azure else 'v1/realtime'}"


def _ga_session(state: dict[str, Any]) -> dict[str, Any]:
    return {"type": "realtime", "object": "realtime.session", "id": "sess_scripted", "model": "scripted",
            "output_modalities": ["audio"], "instructions": "", "tools": [], "tool_choice": "auto",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24_000}, "turn_detection": None},
                      "output": {"format": {"type": "audio/pcm", "rate": 24_000}, "voice": "alloy"}}, **state}


def _beta_session(state: dict[str, Any]) -> dict[str, Any]:
    return {"object": "realtime.session", "id": "sess_scripted", "model": "scripted",
            "modalities": ["text", "audio"], "instructions": "", "voice": "alloy", "input_audio_format": "pcm16",
            "output_audio_format": "pcm16", "turn_detection": None, "tools": [], "tool_choice": "auto", **state}


class _Session:
    """One connection's conversation, in its shape."""

    def __init__(self, connection: ServerConnection, record: ScriptedSession, tasks: asyncio.TaskGroup) -> None:
        self._connection = connection
        self.record = record
        self._ga = record.dialect == "ga"
        self._names = EventNames.for_shape(beta=not self._ga)
        self._tasks = tasks
        self._ids = itertools.count(1)
        self._state: dict[str, Any] = {}
        self._buffered_bytes = 0
        self._items: dict[str, dict[str, Any]] = {}
        self._tool_output: str | None = None
        self._cancel: asyncio.Event | None = None
        self.replies: list[asyncio.Task[None]] = []

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    async def emit(self, event: dict[str, Any]) -> None:
        await self._connection.send(json.dumps({"event_id": self._id("event"), **event}))

    def session(self) -> dict[str, Any]:
        return _ga_session(self._state) if self._ga else _beta_session(self._state)

    async def error(self, code: str, message: str, client_event_id: Any = None) -> None:
        await self.emit({"type": "error", "error": {"type": "invalid_request_error", "code": code,
                                                    "message": message, "param": None,
                                                    "event_id": client_event_id}})

    async def handle(self, event: dict[str, Any]) -> None:
        self.record.received.append(event)
        problems = shape_errors(event, GA_CLIENT if self._ga else BETA_CLIENT)
        if problems:
            await self.error("unknown_parameter", "; ".join(problems), event.get("event_id"))
            self.record.refused.append(event)
            return
        handler = getattr(self, "on_" + event["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(event)

    async def on_session_update(self, event: dict[str, Any]) -> None:
        self._state.update(event["session"])
        await self.emit({"type": "session.updated", "session": self.session()})

    async def on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        self._buffered_bytes += len(base64.b64decode(event["audio"]))

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        if self._buffered_bytes == 0:
            await self.error("input_audio_buffer_commit_empty", "Error committing input audio buffer: the "
                             "buffer is empty.", event.get("event_id"))
            return
        self._buffered_bytes = 0
        item = {"id": self._id("item"), "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}
        await self.emit({"type": "input_audio_buffer.committed", "item_id": item["id"], "previous_item_id": None})
        await self._announce(item)
        await self.emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item["id"],
                         "content_index": 0, "transcript": HEARD})

    async def _announce(self, item: dict[str, Any]) -> None:
        self._items[item["id"]] = item
        await self.emit({"type": self._names.item_created, "previous_item_id": None, "item": item})
        if self._ga:
            await self.emit({"type": "conversation.item.done", "previous_item_id": None, "item": item})

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = {"id": self._id("item"), "object": "realtime.item", "status": "completed", **event["item"]}
        if item.get("type") == "function_call_output":
            self._tool_output = str(item.get("output"))
        await self._announce(item)

    async def on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        if event["item_id"] not in self._items:
            await self.error("item_truncate_invalid_item_id", f"Item {event['item_id']!r} does not exist.",
                             event.get("event_id"))
            return
        await self.emit({"type": "conversation.item.truncated", "item_id": event["item_id"],
                         "content_index": event["content_index"], "audio_end_ms": event["audio_end_ms"]})

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if self._cancel is None:
            await self.error("response_cancel_not_active", "There is no active response.", event.get("event_id"))
            return
        self._cancel.set()

    async def on_response_create(self, event: dict[str, Any]) -> None:
        self._cancel = asyncio.Event()
        self.replies.append(self._tasks.create_task(self._respond(self._cancel)))

    async def _respond(self, cancel: asyncio.Event) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._reply(cancel)

    async def _reply(self, cancel: asyncio.Event) -> None:
        response_id = self._id("resp")
        modalities = {"output_modalities": ["audio"]} if self._ga else {"modalities": ["text", "audio"]}
        response: dict[str, Any] = {"id": response_id, "object": "realtime.response", "status": "in_progress",
                                    "output": [], **modalities}
        await self.emit({"type": "response.created", "response": response})
        if self.session().get("tools") and self._tool_output is None:
            item = await self._call(response_id)
        else:
            item = await self._speak(response_id, cancel)
        status = "cancelled" if cancel.is_set() else "completed"
        self._cancel = None
        await self.emit({"type": "response.done", "response": {
            **response, "status": status, "output": [item],
            "usage": {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10}}})

    async def _call(self, response_id: str) -> dict[str, Any]:
        item = {"id": self._id("item"), "object": "realtime.item", "type": "function_call", "status": "in_progress",
                "name": "get_weather", "call_id": self._id("call"), "arguments": ""}
        ref = {"response_id": response_id, "item_id": item["id"], "output_index": 0, "call_id": item["call_id"]}
        arguments = '{"city": "Oslo"}'
        await self.emit({"type": "response.output_item.added", "response_id": response_id, "output_index": 0,
                         "item": item})
        await self._announce(item)
        await self.emit({"type": "response.function_call_arguments.delta", **ref, "delta": arguments})
        await self.emit({"type": "response.function_call_arguments.done", **ref, "arguments": arguments})
        done = {**item, "status": "completed", "arguments": arguments}
        await self.emit({"type": "response.output_item.done", "response_id": response_id, "output_index": 0,
                         "item": done})
        return done

    async def _speak(self, response_id: str, cancel: asyncio.Event) -> dict[str, Any]:
        text = REPLY if self._tool_output is None else TOOL_REPLY
        item: dict[str, Any] = {"id": self._id("item"), "object": "realtime.item", "type": "message",
                                "role": "assistant", "status": "in_progress", "content": []}
        ref = {"response_id": response_id, "item_id": item["id"], "output_index": 0, "content_index": 0}
        await self.emit({"type": "response.output_item.added", "response_id": response_id, "output_index": 0,
                         "item": item})
        await self._announce(item)
        await self.emit({"type": "response.content_part.added", **ref, "part": {"type": "audio", "transcript": ""}})
        for word in text.split(" "):
            await self.emit({"type": self._names.transcript_delta, **ref, "delta": word + " "})
        for _ in range(AUDIO_CHUNKS):
            if cancel.is_set():
                break
            await self.emit({"type": self._names.audio_delta, **ref, "delta": base64.b64encode(TONE).decode()})
            await asyncio.sleep(CHUNK_PAUSE_S)
        await self.emit({"type": self._names.audio_done, **ref})
        await self.emit({"type": self._names.transcript_done, **ref, "transcript": text})
        await self.emit({"type": "response.content_part.done", **ref, "part": {"type": "audio", "transcript": text}})
        done = {**item, "status": "incomplete" if cancel.is_set() else "completed",
                "content": [{"type": self._names.audio_part, "transcript": text}]}
        self._items[item["id"]] = done
        await self.emit({"type": "response.output_item.done", "response_id": response_id, "output_index": 0,
                         "item": done})
        return done


@contextlib.contextmanager
def serve_scripted_realtime_model() -> Iterator[ScriptedRealtimeModel]:
    state = ScriptedRealtimeModel()
    headers: dict[int, dict[str, str]] = {}

    def check(connection: ServerConnection, request: Request) -> None:
        headers[id(connection)] = {k.lower(): v for k, v in request.headers.raw_items()}

    async def handler(connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else "/ga"
        record = ScriptedSession(path.strip("/").split("/", 1)[0], headers.pop(id(connection), {}))
        state.sessions.append(record)
        async with asyncio.TaskGroup() as tasks:
            session = _Session(connection, record, tasks)
            await session.emit({"type": "session.created", "session": session.session()})
            with contextlib.suppress(Exception):
                async for message in connection:
                    await session.handle(json.loads(message))
            for task in session.replies:  # the connection is gone: a reply in progress has nobody to hear it
                task.cancel()

    with serve_in_thread(handler, process_request=check, max_size=16 * 2**20) as port:
        state.port = port
        yield state
