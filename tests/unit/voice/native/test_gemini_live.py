"""The Gemini Live translation, pure: setup from session.update, client events -> Live messages,
Live messages -> realtime events, and the connection's ends (a fake connection, no sockets)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from tests.unit.voice.realtime.realtime_harness import FakeTransport
from voxgate.core.clock import ManualClock
from voxgate.core.errors import BackendConnectError, BackendGoingAwayError, BackendProtocolError, BackendStatusError
from voxgate.voice.audio.codecs import encode_ulaw
from voxgate.voice.native.gemini_live import GeminiLiveSocket
from voxgate.voice.native.gemini_replies import LiveReplies
from voxgate.voice.native.gemini_requests import LiveRequests
from voxgate.voice.native.gemini_setup import INPUT_MIME, LiveSettings, settings_after, setup_message
from voxgate.voice.native.proxy import NativeSessionProxy, ProxyOptions
from voxgate.voice.realtime.protocol import EventNames, IdFactory

GA = EventNames.for_shape(beta=False)


def _pcm(ms: int, rate_hz: int = 24_000) -> bytes:
    t = np.arange(rate_hz * ms // 1000) / rate_hz
    return (np.sin(2 * np.pi * 440 * t) * 10_000).astype("<i2").tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _translators() -> tuple[LiveRequests, LiveReplies]:
    ids = IdFactory()
    replies = LiveReplies(GA, ids)
    return LiveRequests("gemini-x", GA, ids, replies), replies


def test_setup_carries_the_first_session_update_in_either_shape() -> None:
    ga = settings_after({"instructions": "Be brief.", "audio": {"output": {"voice": "Kore"}, "input": {
        "turn_detection": {"type": "server_vad", "silence_duration_ms": 300, "interrupt_response": False}}},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]}, LiveSettings())
    setup = setup_message("gemini-x", ga)["setup"]
    assert setup["model"] == "models/gemini-x"
    assert setup["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Kore"
    assert setup["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": False, "silenceDurationMs": 300},
                                            "activityHandling": "NO_INTERRUPTION"}
    assert setup["tools"] == [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}]
    beta = settings_after({"voice": "alloy", "turn_detection": None, "temperature": 0.6,
                           "max_response_output_tokens": "inf"}, LiveSettings())
    setup = setup_message("models/gemini-x", beta)["setup"]
    assert setup["model"] == "models/gemini-x"
    assert "speechConfig" not in setup["generationConfig"]  # an OpenAI voice: Gemini's default
    assert setup["generationConfig"]["temperature"] == 0.6
    assert "maxOutputTokens" not in setup["generationConfig"]
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}
    assert "inputAudioTranscription" in setup
    assert "outputAudioTranscription" in setup


def test_audio_goes_up_at_16_khz_after_a_default_setup() -> None:
    requests, replies = _translators()
    sent: list[dict[str, Any]] = []
    for _ in range(10):
        sent += requests.translate({"type": "input_audio_buffer.append", "audio": _b64(_pcm(100))}).upstream
    assert "setup" in sent[0]
    blobs = [m["realtimeInput"]["audio"] for m in sent[1:]]
    assert {b["mimeType"] for b in blobs} == {INPUT_MIME}
    total = sum(len(base64.b64decode(b["data"])) for b in blobs)
    assert abs(total - 2 * 16_000) <= 2 * 64  # 1 s, less the resampler's ~2 ms delay
    assert replies.audio_pending
    bad = requests.translate({"type": "input_audio_buffer.append", "audio": "not base64!", "event_id": "e1"})
    assert bad.upstream == []
    assert bad.client[0]["error"]["code"] == "invalid_audio"
    assert bad.client[0]["error"]["event_id"] == "e1"


def test_manual_turns_bracket_the_audio_and_the_model_answers_without_a_second_request() -> None:
    requests, _ = _translators()
    requests.translate({"type": "session.update", "session": {"turn_detection": None}})
    first = requests.translate({"type": "input_audio_buffer.append", "audio": _b64(_pcm(20))}).upstream
    assert first[0] == {"realtimeInput": {"activityStart": {}}}
    committed = requests.translate({"type": "input_audio_buffer.commit"})
    assert committed.upstream == [{"realtimeInput": {"activityEnd": {}}}]
    assert requests.translate({"type": "response.create"}).upstream == []
    assert requests.translate({"type": "response.create"}).upstream == [
        {"clientContent": {"turns": [], "turnComplete": True}}]


def test_a_later_session_update_cannot_change_the_setup() -> None:
    requests, _ = _translators()
    assert "setup" in requests.translate({"type": "session.update", "session": {"instructions": "A"}}).upstream[0]
    changed = requests.translate({"type": "session.update", "session": {"instructions": "B"}})
    assert changed.upstream == []
    assert changed.client[0]["error"]["code"] == "session_update_unsupported"
    same = requests.translate({"type": "session.update", "session": {"instructions": "A"}})
    assert [e["type"] for e in same.client] == ["session.updated"]
    assert requests.translate({"type": "conversation.item.delete"}).client[0]["error"]["code"] == "unsupported_event"


def _audio_message(ms: int = 100) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [
        {"text": "thinking", "thought": True},
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": _b64(_pcm(ms))}}]}}}


def test_a_turn_becomes_a_response_with_transcripts_and_usage() -> None:
    requests, replies = _translators()
    requests.translate({"type": "input_audio_buffer.append", "audio": _b64(_pcm(100))})
    events = replies.translate({"serverContent": {"inputTranscription": {"text": "hi there"}}})
    events += replies.translate(_audio_message())
    events += replies.translate({"serverContent": {"outputTranscription": {"text": "Hello."}}})
    events += replies.translate({"usageMetadata": {"promptTokenCount": 4, "responseTokenCount": 9},
                                 "serverContent": {"turnComplete": True}})
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                         "conversation.item.added", "conversation.item.input_audio_transcription.delta"]
    assert kinds.index("response.created") < kinds.index("response.output_audio.delta")
    assert kinds[-1] == "response.done"
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["usage"] == {"total_tokens": 13, "input_tokens": 4, "output_tokens": 9}
    assert done["output"][0]["content"][0]["transcript"] == "Hello."
    completed = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "hi there"
    assert len([e for e in events if e["type"] == "response.output_audio.delta"]) == 1  # the thought is not spoken
    assert not replies.in_flight


def test_interrupted_is_barge_in_and_a_cancelled_turn_is_dropped() -> None:
    _, replies = _translators()
    replies.translate(_audio_message())
    events = replies.translate({"serverContent": {"interrupted": True}})
    assert events[0]["type"] == "input_audio_buffer.speech_started"
    assert events[-1]["response"]["status"] == "cancelled"
    assert replies.translate({"serverContent": {"turnComplete": True}}) == []
    replies.translate(_audio_message())
    assert replies.cancel()[-1]["response"]["status"] == "cancelled"
    assert replies.translate(_audio_message()) == []  # the rest of the cancelled turn
    assert replies.translate({"serverContent": {"turnComplete": True}}) == []
    assert replies.translate(_audio_message())[0]["type"] == "response.created"  # the next turn plays


def test_a_tool_call_becomes_function_call_items_and_its_output_a_tool_response() -> None:
    requests, replies = _translators()
    events = replies.translate({"toolCall": {"functionCalls": [{"id": "fc1", "name": "lookup", "args": {"q": 1}}]}})
    done = events[-1]["response"]
    assert done["output"][0]["type"] == "function_call"
    assert (done["output"][0]["call_id"], json.loads(done["output"][0]["arguments"])) == ("fc1", {"q": 1})
    answer = requests.translate({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": "fc1", "output": "42"}})
    assert answer.upstream[-1] == {"toolResponse": {"functionResponses": [
        {"id": "fc1", "name": "lookup", "response": {"output": "42"}}]}}
    assert requests.translate({"type": "response.create"}).upstream == []


class FakeConnection:
    def __init__(self, incoming: list[str | None], close_reason: str = "") -> None:
        self.incoming = incoming
        self.sent: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason = close_reason

    async def send(self, text: str) -> Sequence[str]:
        self.sent.append(json.loads(text))
        return ()

    async def receive(self) -> str | None:
        item = self.incoming.pop(0) if self.incoming else None
        if item is None:
            self.close_code = 1007 if self.close_reason else 1000
        return item


async def _events(socket: GeminiLiveSocket) -> list[str]:
    kinds = []
    while (text := await socket.receive()) is not None:
        kinds.append(json.loads(text)["type"])
    return kinds


async def test_the_socket_announces_the_session_and_setup_completes_it() -> None:
    connection = FakeConnection([json.dumps({"setupComplete": {}})])
    socket = GeminiLiveSocket(connection, api_model="m", model_id="gem", beta=False)
    assert await socket.send(json.dumps({"type": "session.update", "session": {"instructions": "x"}})) == []
    assert "setup" in connection.sent[0]
    assert await _events(socket) == ["session.created", "session.updated"]


@pytest.mark.parametrize(("reason", "error"), [
    ("API key not valid. Please pass a valid API key.", BackendStatusError),
    ("Request contains an invalid argument.", BackendConnectError),
])
async def test_a_refused_setup_names_why(reason: str, error: type[Exception]) -> None:
    socket = GeminiLiveSocket(FakeConnection([], reason), api_model="m", model_id="gem", beta=False)
    await socket.send(json.dumps({"type": "response.create"}))
    with pytest.raises(error, match="close 1007"):
        await _events(socket)


async def test_go_away_ends_the_session_after_the_turn_in_flight() -> None:
    messages = [{"setupComplete": {}}, _audio_message(), {"goAway": {"timeLeft": "9s"}},
                {"serverContent": {"turnComplete": True}}, _audio_message()]
    socket = GeminiLiveSocket(FakeConnection([json.dumps(m) for m in messages]), api_model="m", model_id="g",
                              beta=True)
    await socket.send(json.dumps({"type": "response.create"}))
    kinds = ["session.created"]
    while kinds[-1] != "response.done":
        kinds.append(json.loads(str(await socket.receive()))["type"])
    with pytest.raises(BackendGoingAwayError, match="9s"):
        await socket.receive()
    assert kinds[-1] == "response.done"
    assert "response.audio.delta" in kinds  # beta names


async def test_garbage_is_a_protocol_error() -> None:
    socket = GeminiLiveSocket(FakeConnection(["<html>"]), api_model="m", model_id="g", beta=False)
    await socket.receive()  # session.created
    with pytest.raises(BackendProtocolError):
        await socket.receive()


class QueuedConnection(FakeConnection):
    """A Live API side a test drives: messages pushed as the session goes (None: it closes)."""

    def __init__(self) -> None:
        super().__init__([])
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()

    async def receive(self) -> str | None:
        return await self.outbox.get()

    def push(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(json.dumps(message))


async def test_a_g711_client_through_the_proxy_reaches_gemini_at_16_khz_and_hears_its_reply() -> None:
    live, client = QueuedConnection(), FakeTransport()
    socket = GeminiLiveSocket(live, api_model="m", model_id="gem", beta=True)
    proxy = NativeSessionProxy(socket, ProxyOptions("dec_1", "gem"), clock=ManualClock())
    async with asyncio.TaskGroup() as tasks:
        run = tasks.create_task(proxy.run(client))
        await client.wait_for("voxgate.session.routed")
        client.push({"type": "session.update", "session": {"input_audio_format": "g711_ulaw",
                                                           "output_audio_format": "g711_ulaw"}})
        live.push({"setupComplete": {}})
        updated = await client.wait_for("session.updated")
        client.append_audio(encode_ulaw(_pcm(500, 8_000)), chunk_bytes=800)
        client.push({"type": "response.create"})
        live.push(_audio_message(100))
        live.push({"usageMetadata": {"promptTokenCount": 3, "responseTokenCount": 5},
                   "serverContent": {"turnComplete": True}})
        done = await client.wait_for("response.done")
        client.inbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await run
    assert updated["session"]["input_audio_format"] == "g711_ulaw"
    audio = [m["realtimeInput"]["audio"] for m in live.sent if "audio" in m.get("realtimeInput", {})]
    pcm16_16k = b"".join(base64.b64decode(a["data"]) for a in audio)
    assert abs(len(pcm16_16k) - 2 * 8_000) <= 2 * 100  # 0.5 s at 16 kHz, less two filter delays
    ulaw = b"".join(base64.b64decode(e["delta"]) for e in client.of_type("response.audio.delta"))
    assert abs(len(ulaw) - 800) <= 40  # 100 ms at 8 kHz, one byte a sample
    assert done["response"]["metadata"]["voxgate_model"] == "gem"
    assert tuple(proxy.turns.usage) == (3, 5)
