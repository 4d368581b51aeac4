"""A minimal realtime client: speak one recording to a voxgate (or any OpenAI Realtime) server.

    result = await talk_once(url, pcm16_24k, TalkOptions(api_key=...))
    result.transcript, result.reply_text, result.reply_pcm16, result.model, result.latency_ms

Used by `voxgate talk` (`bench/voice_latency.py` has its own listener, which keeps streaming
through the reply and times the first audible sample). The recording is streamed in 100 ms chunks at
real-time pace (or as fast as possible with `real_time=False`), followed by `trailing_silence_s` of
silence, also at real-time pace, so server VAD ends the turn as it would for a live microphone.
`voice_to_voice_s` is the time from sending the last speech chunk to receiving the first audio delta
whose peak exceeds `non_silent_peak`. Needs the `websockets` package (installed with uvicorn[standard]).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.audio.resample import resample

CLIENT_RATE_HZ = 24_000
_CHUNK_MS = 100


@dataclass(frozen=True)
class TalkOptions:
    api_key: str = ""
    instructions: str = "You are a voice assistant. Answer in one or two short sentences."
    real_time: bool = True
    trailing_silence_s: float = 1.5
    timeout_s: float = 120.0
    non_silent_peak: int = 500
    cancel_after_first_audio: bool = False  # benchmarks: stop the reply once it is heard
    turn_detection: str = "server_vad"  # or semantic_vad (eagerness auto)


@dataclass
class TalkResult:
    transcript: str = ""
    reply_text: str = ""
    reply_pcm16: bytes = b""
    model: str | None = None
    decision_id: str | None = None
    status: str | None = None
    latency_ms: dict[str, Any] = field(default_factory=dict)
    voice_to_voice_s: float | None = None
    speech_stopped_after_s: float | None = None  # last speech chunk sent -> speech_stopped received
    errors: list[str] = field(default_factory=list)


def read_wav_24k(path: Path) -> bytes:
    """A 16-bit WAV file (any rate, mono or stereo) as mono PCM16 at 24 kHz."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        mono = frames.reshape(-1, wav.getnchannels()).mean(axis=1)
        rate_hz = wav.getframerate()
    return float_to_pcm16(resample(mono, rate_hz, CLIENT_RATE_HZ))


def write_wav_24k(path: Path, pcm16: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(CLIENT_RATE_HZ)
        wav.writeframes(pcm16)


async def _send_audio(socket: Any, audio: bytes, real_time: bool) -> None:
    chunk = 2 * CLIENT_RATE_HZ * _CHUNK_MS // 1000
    for start in range(0, len(audio), chunk):
        encoded = base64.b64encode(audio[start : start + chunk]).decode()
        await socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": encoded}))
        await asyncio.sleep(_CHUNK_MS / 1000 if real_time else 0)


class _Speaker:
    """Streams the recording and notes when its last speech chunk went out."""

    def __init__(self, socket: Any, pcm16: bytes, options: TalkOptions) -> None:
        self.socket, self.pcm16, self.options = socket, pcm16, options
        self.last_speech_sent_s: float | None = None

    async def run(self) -> None:
        await _send_audio(self.socket, self.pcm16, self.options.real_time)
        self.last_speech_sent_s = time.perf_counter()
        silence = bytes(2 * int(CLIENT_RATE_HZ * self.options.trailing_silence_s))
        await _send_audio(self.socket, silence, self.options.real_time)


def _apply_event(event: dict[str, Any], result: TalkResult, speaker: _Speaker, peak: int) -> bool:
    """Record one server event; True once the turn is over."""
    kind = event.get("type")
    if kind == "input_audio_buffer.speech_stopped" and result.speech_stopped_after_s is None:
        result.speech_stopped_after_s = time.perf_counter() - (speaker.last_speech_sent_s or time.perf_counter())
    elif kind == "conversation.item.input_audio_transcription.completed":
        result.transcript = event.get("transcript", "")
    elif kind in ("response.output_audio_transcript.delta", "response.output_text.delta"):
        result.reply_text += event.get("delta", "")
    elif kind == "response.output_audio.delta":
        data = base64.b64decode(event.get("delta", ""))
        result.reply_pcm16 += data
        samples = np.frombuffer(data, dtype="<i2")
        if result.voice_to_voice_s is None and samples.size and int(np.abs(samples.astype(np.int32)).max()) > peak:
            sent_s = speaker.last_speech_sent_s or time.perf_counter()
            result.voice_to_voice_s = time.perf_counter() - sent_s
    elif kind == "error":
        result.errors.append(str(event.get("error", {}).get("code")))
    elif kind == "response.done":
        response = event.get("response", {})
        result.status = response.get("status")
        result.decision_id = (response.get("metadata") or {}).get("voxgate_decision_id")
    elif kind == "voxgate.turn.metrics":
        result.latency_ms = dict(event.get("latency") or {})
        result.model = event.get("model")
        return True
    return False


async def talk_once(url: str, pcm16_24k: bytes, options: TalkOptions | None = None) -> TalkResult:
    """Speak `pcm16_24k` (mono, 24 kHz) to the realtime endpoint at `url`; collect one spoken reply."""
    from websockets.asyncio.client import connect

    options = options or TalkOptions()
    headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
    result = TalkResult()
    async with connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "instructions": options.instructions,
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": CLIENT_RATE_HZ},
                                "turn_detection": {"type": options.turn_detection}}}}}))
        speaker = _Speaker(socket, pcm16_24k, options)
        async with asyncio.timeout(options.timeout_s), asyncio.TaskGroup() as tasks:
            sending = tasks.create_task(speaker.run())
            heard = False
            async for message in socket:
                if _apply_event(json.loads(message), result, speaker, options.non_silent_peak):
                    break
                if options.cancel_after_first_audio and not heard and result.voice_to_voice_s is not None:
                    heard = True
                    await socket.send(json.dumps({"type": "response.cancel"}))
            sending.cancel()
    return result
