"""Speak one utterance to a realtime server and hear the reply as a client playing its deltas would.

    record = await speak_and_listen(url, utterance, ListenOptions(turn_detection="semantic_vad"))
    record.voice_to_voice_s, record.cut_offs, record.latency_ms, record.model

The whole utterance is streamed in 100 ms chunks at real-time pace, then `trailing_silence_s` of
silence, whatever the server does in between (a live microphone does not stop when the server
ends the turn). Two clocks matter:

    last voiced sample sent   when the chunk holding the utterance's last voiced sample went out
    first audible sample      a player starts each delta when it arrives or when the previous one
                              has finished playing, whichever is later; the reply is heard at the
                              first sample whose magnitude exceeds `audible_peak` (-36 dBFS)

voice-to-voice = first audible sample - last voiced sample sent, for the reply to the final turn:
the first response created after the last `speech_stopped` whose `audio_end_ms` is not before the
final clause. A `speech_stopped` before the final clause (paused requests) or more than
`CUT_OFF_TOLERANCE_MS` before the last voiced sample is a cut-off: the turn ended mid-sentence.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.voice_utterances import RATE_HZ, Utterance

CHUNK_MS = 100
CUT_OFF_TOLERANCE_MS = 300  # VAD end marks may sit a little before the energy-based last voiced frame


@dataclass(frozen=True)
class ListenOptions:
    turn_detection: str = "server_vad"
    silence_duration_ms: int | None = None  # server_vad only; None: the server's default
    instructions: str = "You are a voice assistant. Reply in one short sentence."
    trailing_silence_s: float = 2.0
    audible_peak: int = 520  # -36 dBFS
    answer_timeout_s: float = 20.0


@dataclass
class ListenRecord:
    utterance: str
    kind: str
    voice_to_voice_s: float | None = None
    speech_stopped_after_s: float | None = None  # final turn's speech_stopped - last voiced sample sent
    cut_offs: int = 0
    latency_ms: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    prepared: bool | None = None  # the final reply came from the pause's preparation (`voice.prepare_replies`)
    partial_reused: bool | None = None  # its transcript came from a partial decode (`partial_transcripts`)
    wasted_tokens: int = 0  # LLM tokens of preparations discarded during the utterance
    transcripts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Reply:
    created_s: float
    play_end_s: float | None = None  # when the player finishes the deltas received so far
    heard_s: float | None = None


class _Listener:
    def __init__(self, utterance: Utterance, options: ListenOptions) -> None:
        self.utterance, self.options = utterance, options
        self.record = ListenRecord(utterance.name, utterance.kind)
        self.voiced_sent_s: float | None = None
        self.final_stop_s: float | None = None
        self.replies: dict[str, _Reply] = {}
        self.final_reply: str | None = None
        self.done = asyncio.Event()

    @property
    def final_clause_ms(self) -> float:
        start = self.utterance.final_clause_sample
        if start is not None:
            return start * 1000 / RATE_HZ
        return self.utterance.last_voiced_ms - CUT_OFF_TOLERANCE_MS

    async def speak(self, socket: Any) -> None:
        audio = self.utterance.pcm16 + bytes(2 * int(RATE_HZ * self.options.trailing_silence_s))
        chunk = 2 * RATE_HZ * CHUNK_MS // 1000
        started_s = time.perf_counter()
        for number, start in enumerate(range(0, len(audio), chunk)):
            await asyncio.sleep(max(0.0, started_s + number * CHUNK_MS / 1000 - time.perf_counter()))
            await socket.send(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(audio[start : start + chunk]).decode()}))
            if self.voiced_sent_s is None and start + chunk >= 2 * self.utterance.last_voiced_sample:
                self.voiced_sent_s = time.perf_counter()

    def on_event(self, event: dict[str, Any]) -> str | None:
        """Record one server event; return a client event to send (the cancel once the reply is heard)."""
        now = time.perf_counter()
        kind = event.get("type")
        if kind == "input_audio_buffer.speech_stopped":
            self._on_stopped(float(event.get("audio_end_ms", 0)), now)
        elif kind == "response.created":
            response_id = event["response"]["id"]
            self.replies[response_id] = _Reply(now)
            if self.final_stop_s is not None and self.final_reply is None:
                self.final_reply = response_id
        elif kind == "response.output_audio.delta" or kind == "response.audio.delta":
            return self._on_audio(event, now)
        elif kind == "conversation.item.input_audio_transcription.completed":
            self.record.transcripts.append(str(event.get("transcript", "")))
        elif kind == "response.done" and event["response"]["id"] == self.final_reply:
            self.record.metadata = dict(event["response"].get("metadata") or {})
        elif kind == "voxgate.turn.metrics":
            self.record.wasted_tokens += int(event.get("prepared_wasted_tokens") or 0)
            if event.get("response_id") != self.final_reply:
                return None
            self.record.prepared = event.get("prepared")
            self.record.partial_reused = event.get("partial_reused")
            self.record.latency_ms = dict(event.get("latency") or {})
            self.record.model = event.get("model")
            self.done.set()
        elif kind == "error":
            self.record.errors.append(str(event.get("error", {}).get("code")))
        return None

    def _on_stopped(self, audio_end_ms: float, now: float) -> None:
        if audio_end_ms < self.final_clause_ms:
            self.record.cut_offs += 1
            return
        if self.final_stop_s is None:
            self.final_stop_s = now
            self.record.speech_stopped_after_s = now - (self.voiced_sent_s or now)

    def _on_audio(self, event: dict[str, Any], now: float) -> str | None:
        reply = self.replies.get(str(event.get("response_id")))
        if reply is None:
            return None
        samples = np.frombuffer(base64.b64decode(event.get("delta", "")), dtype="<i2")
        play_start_s = max(now, reply.play_end_s or now)
        reply.play_end_s = play_start_s + samples.size / RATE_HZ
        if reply.heard_s is not None or samples.size == 0:
            return None
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > self.options.audible_peak)
        if loud.size == 0:
            return None
        reply.heard_s = play_start_s + int(loud[0]) / RATE_HZ
        if str(event.get("response_id")) != self.final_reply or self.voiced_sent_s is None:
            return None
        self.record.voice_to_voice_s = reply.heard_s - self.voiced_sent_s
        return json.dumps({"type": "response.cancel"})  # heard: the rest of the reply is not measured


def _session_update(options: ListenOptions) -> str:
    detection: dict[str, Any] = {"type": options.turn_detection}
    if options.silence_duration_ms is not None and options.turn_detection == "server_vad":
        detection["silence_duration_ms"] = options.silence_duration_ms
    return json.dumps({"type": "session.update", "session": {
        "type": "realtime", "instructions": options.instructions,
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": RATE_HZ}, "turn_detection": detection}}}})


async def speak_and_listen(url: str, utterance: Utterance, options: ListenOptions) -> ListenRecord:
    """One utterance on a fresh session; the record says when its reply was heard."""
    from websockets.asyncio.client import connect

    listener = _Listener(utterance, options)
    async with connect(url, max_size=None) as socket:
        await socket.send(_session_update(options))

        async def receive() -> None:
            async for message in socket:
                if (reply := listener.on_event(json.loads(message))) is not None:
                    await socket.send(reply)
                if listener.done.is_set():
                    return

        async with asyncio.TaskGroup() as tasks:
            receiving = tasks.create_task(receive())
            await listener.speak(socket)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(receiving), options.answer_timeout_s)
            receiving.cancel()
    return listener.record
