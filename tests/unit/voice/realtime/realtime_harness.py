"""A realtime session on fake engines and an in-memory transport, for unit tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable

import numpy as np
from opentelemetry.trace import Tracer

from tests.support.realtime_events import EventRecorder
from voxgate.core.types import JSONObject
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.protocols import EndOfTurnModel
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.realtime.reply import ReplySource
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

WAIT_S = 5.0


def tone_pcm16(duration_ms: int, rate_hz: int = 24_000, amplitude: float = 0.3) -> bytes:
    times_s = np.arange(rate_hz * duration_ms // 1000) / rate_hz
    return float_to_pcm16(amplitude * np.sin(2 * np.pi * 300.0 * times_s))


def silence_pcm16(duration_ms: int, rate_hz: int = 24_000) -> bytes:
    return bytes(2 * (rate_hz * duration_ms // 1000))


class FakeTransport(EventRecorder):
    """An in-memory client: frames pushed in, every server event recorded (see EventRecorder)."""

    def __init__(self, *, stalled: bool = False) -> None:
        super().__init__(timeout_s=WAIT_S)
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._stalled = stalled
        self._round_trips = itertools.count(1)

    async def receive(self) -> str | bytes | None:
        return await self.inbox.get()

    async def send(self, text: str) -> None:
        if self._stalled:
            await asyncio.Event().wait()
        await self.record(json.loads(text))

    def push(self, event: JSONObject | str) -> None:
        self.inbox.put_nowait(event if isinstance(event, str) else json.dumps(event))

    def append_audio(self, pcm: bytes, chunk_bytes: int = 4_800) -> None:
        for start in range(0, len(pcm), chunk_bytes):
            piece = base64.b64encode(pcm[start : start + chunk_bytes]).decode()
            self.push({"type": "input_audio_buffer.append", "audio": piece})

    async def handled(self) -> None:
        """Wait, without a clock, until the session has handled every frame pushed so far and what that
        started has run: two round trips of a harmless request (the retrieval of an item that does not
        exist, answered in order with an `error` naming it). The first is answered once the frames
        before it are handled; the second once the work they scheduled (an instant fake engine's
        transcription, its callbacks) has run, since the session's loop runs ready work in order."""
        for _ in range(2):
            marker = f"round_trip_{next(self._round_trips)}"
            self.push({"type": "conversation.item.retrieve", "event_id": marker, "item_id": marker})
            await self.wait_until(_answers(marker))


def _answers(client_event_id: str) -> Callable[[JSONObject], bool]:
    return lambda event: event["type"] == "error" and event["error"]["event_id"] == client_event_id


def fake_engines(transcripts: Iterable[str] = (), turn_model: EndOfTurnModel | None = None) -> VoiceEngines:
    return VoiceEngines(stt=ScriptedSTT(transcripts), tts=ToneTTS(tone_ms_per_char=10), new_vad=EnergyVAD,
                        turn_model=turn_model)


@contextlib.asynccontextmanager
async def running_session(
    replies: ReplySource, transcripts: Iterable[str] = (), *, beta: bool = False,
    limits: SessionLimits | None = None, transport: FakeTransport | None = None, engines: VoiceEngines | None = None,
    turn_model: EndOfTurnModel | None = None, tracer: Tracer | None = None,
) -> AsyncIterator[tuple[RealtimeSession, FakeTransport]]:
    transport = transport or FakeTransport()
    session = RealtimeSession(engines or fake_engines(transcripts, turn_model), replies, limits or SessionLimits(),
                              beta=beta, tracer=tracer)
    task = asyncio.create_task(session.run(transport))
    try:
        await transport.wait_for("session.created")
        yield session, transport
    finally:
        transport.inbox.put_nowait(None)
        async with asyncio.timeout(WAIT_S):
            await task
