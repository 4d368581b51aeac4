"""A realtime session on fake engines and an in-memory transport, for unit tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import numpy as np

from voxgate.core.types import JSONObject
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

WAIT_S = 5.0


def tone_pcm16(duration_ms: int, rate_hz: int = 24_000, amplitude: float = 0.3) -> bytes:
    times_s = np.arange(rate_hz * duration_ms // 1000) / rate_hz
    return float_to_pcm16(amplitude * np.sin(2 * np.pi * 300.0 * times_s))


def silence_pcm16(duration_ms: int, rate_hz: int = 24_000) -> bytes:
    return bytes(2 * (rate_hz * duration_ms // 1000))


class FakeTransport:
    def __init__(self, *, stalled: bool = False) -> None:
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.events: list[JSONObject] = []
        self._changed = asyncio.Condition()
        self._stalled = stalled

    async def receive(self) -> str | bytes | None:
        return await self.inbox.get()

    async def send(self, text: str) -> None:
        if self._stalled:
            await asyncio.Event().wait()
        async with self._changed:
            self.events.append(json.loads(text))
            self._changed.notify_all()

    def push(self, event: JSONObject | str) -> None:
        self.inbox.put_nowait(event if isinstance(event, str) else json.dumps(event))

    def append_audio(self, pcm: bytes, chunk_bytes: int = 4_800) -> None:
        for start in range(0, len(pcm), chunk_bytes):
            piece = base64.b64encode(pcm[start : start + chunk_bytes]).decode()
            self.push({"type": "input_audio_buffer.append", "audio": piece})

    async def wait_for(self, kind: str, count: int = 1, **fields: Any) -> JSONObject:
        """The `count`-th event of type `kind` (matching `fields`), waiting up to WAIT_S."""

        def found() -> list[JSONObject]:
            return [e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())]

        async with asyncio.timeout(WAIT_S), self._changed:
            await self._changed.wait_for(lambda: len(found()) >= count)
        return found()[count - 1]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of_type(self, kind: str) -> list[JSONObject]:
        return [e for e in self.events if e["type"] == kind]


def fake_engines(transcripts: Iterable[str] = ()) -> VoiceEngines:
    return VoiceEngines(stt=ScriptedSTT(transcripts), tts=ToneTTS(tone_ms_per_char=10), new_vad=EnergyVAD)


@contextlib.asynccontextmanager
async def running_session(
    replies: ScriptedReplySource, transcripts: Iterable[str] = (), *, beta: bool = False,
    limits: SessionLimits | None = None, transport: FakeTransport | None = None,
) -> AsyncIterator[tuple[RealtimeSession, FakeTransport]]:
    transport = transport or FakeTransport()
    session = RealtimeSession(fake_engines(transcripts), replies, limits or SessionLimits(), beta=beta)
    task = asyncio.create_task(session.run(transport))
    try:
        await transport.wait_for("session.created")
        yield session, transport
    finally:
        transport.inbox.put_nowait(None)
        async with asyncio.timeout(WAIT_S):
            await task
