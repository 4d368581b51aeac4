"""A phone call through Twilio Media Streams: a client sending the messages Twilio sends (shapes as
recorded in Twilio's documentation) streams μ-law 8 kHz real speech at real-time pace and hears a
spoken reply that transcribes back to the scripted model's answer; talking over it gets `clear`."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.voice.conftest import SCRIPTED_REPLY
from tests.support.processes import RunningProcess
from tests.support.speech_corpus import Clip
from voxgate.voice.audio.codecs import decode_ulaw, encode_ulaw, float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.containers import wav_file
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.wer import corpus_word_error_rate

pytestmark = pytest.mark.integration

STREAM_SID = "MZ18ad3ab5a668481ce02b83e7395059f0"
FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz, as Twilio sends it
# Piper through 8 kHz μ-law, heard by Whisper base, over two replies: each reply is a fresh synthesis (Piper
# samples its noise), so one reply alone is one draw. Measured on a 2-core AMD EPYC, 30 replies: 0.0-0.14 each
# (median 0.07); the worst single reply seen (CI, 2026-12-05) heard 5 of 14 words wrong ("E-Bing" for "evening").
REPLY_WER_BOUND = 0.35
SILENCE_ULAW = b"\xff" * 8000 * 2  # two seconds of μ-law silence: the turn ends


def start_message(parameters: dict[str, str]) -> dict[str, Any]:
    """Twilio's `start` message, as recorded in its documentation, with these custom parameters."""
    return {"event": "start", "sequenceNumber": "1", "streamSid": STREAM_SID, "start": {
        "accountSid": "AC00000000000000000000000000000000", "streamSid": STREAM_SID,
        "callSid": "CA00000000000000000000000000000000", "tracks": ["inbound"], "customParameters": parameters,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}


def ulaw_8k(clip: Clip) -> bytes:
    """A clip as Twilio sends a caller's audio: μ-law, 8 kHz."""
    return encode_ulaw(float_to_pcm16(resample(pcm16_to_float(clip.pcm16), 16_000, 8_000)))


class Caller:
    """The phone side: sends media like Twilio (20 ms frames, sequence numbers), collects what comes back."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.sequence = 1
        self.received: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sequence += 1
        await self.socket.send(json.dumps({"sequenceNumber": str(self.sequence), **message}))

    async def speak(self, ulaw: bytes, *, real_time: bool = True) -> None:
        for offset in range(0, len(ulaw), FRAME_BYTES):
            frame = ulaw[offset : offset + FRAME_BYTES]
            await self.send({"event": "media", "streamSid": STREAM_SID, "media": {
                "track": "inbound", "chunk": str(offset // FRAME_BYTES + 1), "timestamp": str(offset // 8),
                "payload": base64.b64encode(frame).decode()}})
            if real_time:
                await asyncio.sleep(0.02)

    async def read_until(self, event: str, timeout_s: float = 60.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                self.received.append(message)
                if message["event"] == event:
                    return message

    def reply_audio(self, since: int = 0) -> bytes:
        """The μ-law audio received, from message `since` on."""
        return b"".join(base64.b64decode(m["media"]["payload"]) for m in self.received[since:] if m["event"] == "media")


def _url(server: RunningProcess) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/twilio/media-stream"


def _transcribe_ulaw(server: RunningProcess, ulaw: bytes) -> str:
    wav = wav_file(decode_ulaw(ulaw), 8_000)
    response = httpx.post(f"{server.base_url}/v1/audio/transcriptions", data={"model": "whisper-1"},
                          files={"file": ("reply.wav", wav, "audio/wav")}, timeout=120)
    response.raise_for_status()
    return str(response.json()["text"])


async def test_a_caller_hears_an_intelligible_reply_and_barge_in_clears(
    scripted_voice_server: RunningProcess, librivox: list[Clip]
) -> None:
    clip = min(librivox, key=lambda c: c.duration_s)
    async with connect(_url(scripted_voice_server)) as socket:
        caller = Caller(socket)
        await caller.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await caller.send(start_message({"instructions": "Answer briefly."}))
        await caller.speak(ulaw_8k(clip))
        await caller.speak(SILENCE_ULAW, real_time=False)
        mark = await caller.read_until("mark")
        first_reply = caller.reply_audio()
        assert all(m["streamSid"] == STREAM_SID for m in caller.received)
        await caller.send({"event": "mark", "streamSid": STREAM_SID, "mark": {"name": mark["mark"]["name"]}})
        await caller.speak(ulaw_8k(clip))  # the caller talks again: Twilio must drop what it still holds
        clear_at = len(caller.received)
        await caller.read_until("clear")
        assert len(caller.received) > clear_at
        second_at = len(caller.received)
        await caller.speak(SILENCE_ULAW, real_time=False)  # ...and waits for the answer to that turn
        await caller.read_until("mark")
        second_reply = caller.reply_audio(since=second_at)
        await caller.send({"event": "stop", "streamSid": STREAM_SID, "stop": {
            "accountSid": "AC00000000000000000000000000000000", "callSid": "CA00000000000000000000000000000000"}})
        await socket.wait_closed()
    assert socket.close_code == 1000
    assert min(len(first_reply), len(second_reply)) > 8000 * 0.5  # more than half a second of reply each
    heard = [await asyncio.to_thread(_transcribe_ulaw, scripted_voice_server, reply)
             for reply in (first_reply, second_reply)]
    assert corpus_word_error_rate((SCRIPTED_REPLY, text) for text in heard) <= REPLY_WER_BOUND


async def test_audio_other_than_ulaw_8k_is_refused(scripted_voice_server: RunningProcess) -> None:
    async with connect(_url(scripted_voice_server)) as socket:
        start = start_message({})
        start["start"]["mediaFormat"] = {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}
        await socket.send(json.dumps(start))
        await socket.wait_closed()
    assert socket.close_code == 1011
    assert "mediaFormat" in (socket.close_reason or "")


async def test_garbage_closes_the_call_without_hanging(scripted_voice_server: RunningProcess) -> None:
    async with connect(_url(scripted_voice_server)) as socket:
        await socket.send("this is not JSON")
        async with asyncio.timeout(10):
            await socket.wait_closed()
    assert socket.close_code == 1011
