"""Twilio Media Streams <-> realtime events, translated without a socket (a scripted fake one)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.server.twilio import TwilioTransport, UnauthorizedCall

SID = "MZ0001"
START = {"event": "start", "start": {"streamSid": SID, "customParameters": {"api_key": "k1"},
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


def _transport(socket: FakeSocket, keys: frozenset[str] = frozenset()) -> TwilioTransport:
    return TwilioTransport(socket, keys)  # type: ignore[arg-type]


async def test_start_configures_ulaw_both_ways_then_media_becomes_appends() -> None:
    socket = FakeSocket({"event": "connected"}, START,
                        {"event": "media", "media": {"track": "inbound", "payload": "//8="}},
                        {"event": "dtmf", "dtmf": {"digit": "1"}},
                        {"event": "mark", "mark": {"name": "item_1"}})
    transport = _transport(socket, frozenset({"k1"}))
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


async def test_a_wrong_key_or_format_or_message_is_refused() -> None:
    with pytest.raises(UnauthorizedCall):
        await _transport(FakeSocket(START), frozenset({"other"})).receive()

    wrong_format = json.loads(json.dumps(START))
    wrong_format["start"]["mediaFormat"]["sampleRate"] = 16000
    with pytest.raises(InvalidRequestError, match="mediaFormat"):
        await _transport(FakeSocket(wrong_format)).receive()
    with pytest.raises(InvalidRequestError, match="JSON object"):
        await _transport(FakeSocket("[1, 2]")).receive()
