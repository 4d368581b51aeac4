"""Twilio Media Streams <-> realtime events, translated without a socket (a scripted fake one)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.unit.voice.realtime.realtime_harness import fake_engines
from voxgate.config import Settings
from voxgate.core.clock import ManualClock
from voxgate.core.errors import InvalidRequestError
from voxgate.core.keys import BudgetPeriod, KeyPolicy
from voxgate.server.keys import KeyDirectory
from voxgate.server.limits import KeyGate
from voxgate.server.twilio import CallRefused, TwilioTransport, call_key
from voxgate.store.keys import SQLiteKeyStore
from voxgate.voice.audio.codecs import encode_ulaw, float_to_pcm16
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()
SID = "MZ0001"
START: dict[str, Any] = {"event": "start", "start": {"streamSid": SID, "customParameters": {"api_key": "k1"},
                                     "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}


class FakeSocket:
    def __init__(self, *messages: Any) -> None:
        self.incoming = [{"type": "websocket.receive", "text": m if isinstance(m, str) else json.dumps(m)}
                         for m in messages]
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0) if self.incoming else {"type": "websocket.disconnect"}

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))


def _transport(socket: FakeSocket) -> TwilioTransport:
    return TwilioTransport(socket)  # type: ignore[arg-type]


async def test_start_configures_ulaw_both_ways_then_media_becomes_appends() -> None:
    socket = FakeSocket({"event": "connected"}, START,
                        {"event": "media", "media": {"track": "inbound", "payload": "//8="}},
                        {"event": "dtmf", "dtmf": {"digit": "1"}},
                        {"event": "mark", "mark": {"name": "item_1"}})
    transport = _transport(socket)
    update = json.loads(await transport.receive() or "")
    assert update["type"] == "session.update"
    assert update["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert update["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert update["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert json.loads(await transport.receive() or "") == {"type": "input_audio_buffer.append", "audio": "//8="}
    assert await transport.receive() is None
    assert transport.marks_played == ["item_1"]


async def test_server_events_become_media_marks_and_clear() -> None:
    socket = FakeSocket(START)
    transport = _transport(socket)
    await transport.receive()
    for event in ({"type": "session.updated"}, {"type": "response.output_audio.delta", "delta": "AAAA"},
                  {"type": "response.output_audio.done", "item_id": "item_7"},
                  {"type": "input_audio_buffer.speech_started"}):
        await transport.send(json.dumps(event))
    assert socket.sent == [
        {"event": "media", "streamSid": SID, "media": {"payload": "AAAA"}},
        {"event": "mark", "streamSid": SID, "mark": {"name": "item_7"}},
        {"event": "clear", "streamSid": SID},
    ]


async def test_nothing_goes_to_twilio_before_start() -> None:
    socket = FakeSocket()
    await _transport(socket).send(json.dumps({"type": "response.output_audio.delta", "delta": "AAAA"}))
    assert socket.sent == []


async def test_wait_start_hands_over_the_custom_parameters_and_queues_the_session_update() -> None:
    socket = FakeSocket({"event": "connected"}, START, {"event": "media", "media": {"payload": "//8="}})
    transport = _transport(socket)
    assert await transport.wait_start() == {"api_key": "k1"}
    assert transport.stream_sid == SID
    assert json.loads(await transport.receive() or "")["type"] == "session.update"
    assert json.loads(await transport.receive() or "")["type"] == "input_audio_buffer.append"
    assert await _transport(FakeSocket({"event": "connected"}, {"event": "stop"})).wait_start() is None


async def test_a_wrong_format_or_message_is_refused() -> None:
    wrong_format = json.loads(json.dumps(START))
    wrong_format["start"]["mediaFormat"]["sampleRate"] = 16000
    with pytest.raises(InvalidRequestError, match="mediaFormat"):
        await _transport(FakeSocket(wrong_format)).receive()
    with pytest.raises(InvalidRequestError, match="JSON object"):
        await _transport(FakeSocket("[1, 2]")).receive()


class QueuedSocket(FakeSocket):
    """A fake socket whose messages arrive while the session runs."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.arrived = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        return await self.queue.get()

    async def send_text(self, text: str) -> None:
        await super().send_text(text)
        self.arrived.set()

    def push(self, message: dict[str, Any]) -> None:
        self.queue.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})

    def push_ulaw(self, ulaw: bytes) -> None:
        for offset in range(0, len(ulaw), 160):  # 20 ms frames, as Twilio sends them
            payload = base64.b64encode(ulaw[offset : offset + 160]).decode()
            self.push({"event": "media", "media": {"track": "inbound", "payload": payload}})

    async def wait_for(self, event: str) -> dict[str, Any]:
        async with asyncio.timeout(5):
            while True:
                found = next((m for m in self.sent if m["event"] == event), None)
                if found is not None:
                    return found
                self.arrived.clear()
                await self.arrived.wait()


def _ulaw_tone(duration_ms: int) -> bytes:
    times_s = np.arange(8 * duration_ms) / 8_000
    return encode_ulaw(float_to_pcm16(0.3 * np.sin(2 * np.pi * 300.0 * times_s)))


async def test_a_call_runs_a_session_turn_and_barge_in_sends_clear() -> None:
    """Fake engines (energy VAD, scripted transcript, tone voice): media in -> a turn -> media and a
    mark out; talking over the reply -> clear; stop -> the session ends."""
    socket = QueuedSocket()
    replies = ScriptedReplySource(["Hello caller, this is a long enough reply to hear."])
    session = RealtimeSession(fake_engines(["hi"]), replies, SessionLimits(), beta=False)
    running = asyncio.create_task(session.run(_transport(socket)))
    socket.push({"event": "connected", "protocol": "Call", "version": "1.0.0"})
    socket.push(START | {"start": {**START["start"], "customParameters": {}}})
    socket.push_ulaw(_ulaw_tone(600) + b"\xff" * 8 * 800)
    mark = await socket.wait_for("mark")
    media = [m for m in socket.sent if m["event"] == "media"]
    assert media
    assert socket.sent.index(mark) > socket.sent.index(media[-1])
    assert len(b"".join(base64.b64decode(m["media"]["payload"]) for m in media)) > 8 * 300  # μ-law, 8 kHz
    assert replies.requests[0].messages[-1]["content"] == "hi"
    socket.push_ulaw(_ulaw_tone(400))
    await socket.wait_for("clear")
    socket.push({"event": "stop"})
    async with asyncio.timeout(5):
        await running


async def test_barge_in_truncates_the_reply_to_what_the_caller_heard() -> None:
    clock = ManualClock()
    socket = FakeSocket(START, {"event": "mark", "mark": {"name": "item_2"}},
                        {"event": "media", "media": {"track": "inbound", "payload": "//8="}})
    transport = TwilioTransport(socket, clock)  # type: ignore[arg-type]
    await transport.receive()
    hundred_ms = base64.b64encode(b"\xff" * 800).decode()
    for _ in range(10):  # one second of reply sent at once; Twilio plays it in real time
        await transport.send(json.dumps({"type": "response.output_audio.delta", "item_id": "item_1",
                                         "delta": hundred_ms}))
    clock.advance(0.4)
    await transport.send(json.dumps({"type": "input_audio_buffer.speech_started"}))
    assert json.loads(await transport.receive() or "") == {
        "type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 400}
    await transport.send(json.dumps({"type": "response.output_audio.delta", "item_id": "item_2",
                                     "delta": hundred_ms}))
    assert json.loads(await transport.receive() or "")["type"] == "input_audio_buffer.append"  # mark item_2 came
    clock.advance(5)
    await transport.send(json.dumps({"type": "input_audio_buffer.speech_started"}))
    assert await transport.receive() is None  # heard whole: no truncate; then the call ended
    assert [m["event"] for m in socket.sent].count("clear") == 2


def _calls(tmp_path: Path, api_keys: frozenset[str] = frozenset()) -> tuple[Any, SQLiteKeyStore]:
    """A gateway's key parts for `call_key`: the key table, its directory, the key gate."""
    clock = ManualClock(NOON_S)
    store = SQLiteKeyStore(tmp_path / "keys.db")
    gateway = SimpleNamespace(settings=Settings(api_keys=api_keys), keys=KeyDirectory(store, clock, ttl_s=0.0),
                              key_gate=KeyGate(clock))
    return gateway, store


async def test_a_call_is_authenticated_by_its_api_key_parameter(tmp_path: Path) -> None:
    gateway, store = _calls(tmp_path, frozenset({"sk-static"}))
    key, secret = store.create("phones", KeyPolicy(budget_usd={BudgetPeriod.DAY: 1.0}), NOON_S)
    try:
        found = await call_key(gateway, {"api_key": secret})
        assert found is not None
        assert found.id == key.id
        assert await call_key(gateway, {"api_key": "sk-static"}) is None, "a configured api_keys key: no limits"
        for parameters in ({}, {"api_key": "wrong"}, {"api_key": secret[:-2] + "xx"}):
            with pytest.raises(CallRefused) as refused:
                await call_key(gateway, parameters)
            assert (refused.value.close_code, refused.value.reason) == (1008, "invalid_api_key")
            assert secret not in str(refused.value)
        gateway.key_gate.observe_spend(key.id, 1.0, NOON_S)
        with pytest.raises(CallRefused) as spent:
            await call_key(gateway, {"api_key": secret})
        assert (spent.value.close_code, spent.value.reason) == (1008, "insufficient_quota")
        store.revoke(key.id, NOON_S)
        with pytest.raises(CallRefused) as revoked:
            await call_key(gateway, {"api_key": secret})
        assert (revoked.value.close_code, revoked.value.reason) == (1008, "revoked_api_key")
    finally:
        store.close()


async def test_an_open_api_takes_calls_without_a_key_but_still_checks_a_virtual_one(tmp_path: Path) -> None:
    gateway, store = _calls(tmp_path)
    try:
        assert await call_key(gateway, {}) is None
        with pytest.raises(CallRefused):
            await call_key(gateway, {"api_key": "sk-vg-000000000000-unknown"})
    finally:
        store.close()
