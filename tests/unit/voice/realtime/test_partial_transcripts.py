"""Partial transcripts during speech (`realtime.partial_transcripts`): when decodes start, that only
one runs at a time, which decode the commit reuses, and the reply prepared from it. Fake engines: an
STT whose decodes wait at a gate stands for a slow CPU, and its answer names the audio it read, so
"the final transcript is the partial's" is a fact about which audio was decoded, not a timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.unit.voice.realtime.realtime_harness import FakeTransport, running_session, silence_pcm16, tone_pcm16
from voxgate.voice.audio.formats import AudioFormat
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.protocols import Transcript
from voxgate.voice.engines.testing import EnergyVAD, ToneTTS
from voxgate.voice.engines.vad import VadConfig
from voxgate.voice.realtime.input_audio import InputAudio
from voxgate.voice.realtime.partial_transcripts import (
    PAUSE_TAIL_MS,
    PartialTranscripts,
    TakenTranscript,
    final_transcript,
)
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import SessionLimits

CHUNK_MS = 100


class GatedSTT:
    """SpeechToText whose decodes wait at `gate` (open by default) and answer with the length of the
    audio they read ("heard 700 ms"); `failures` first decodes raise instead."""

    def __init__(self, failures: int = 0) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.heard_ms: list[int] = []
        self.running = 0
        self.most_running = 0
        self._failures = failures

    @property
    def sample_rate_hz(self) -> int:
        return 16_000

    async def load(self) -> None:
        """Nothing to load."""

    async def transcribe(self, pcm16: bytes) -> Transcript:
        heard_ms = len(pcm16) // 32
        self.heard_ms.append(heard_ms)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        if self._failures:
            self._failures -= 1
            raise OSError("the recogniser is down")
        return Transcript(text=f"heard {heard_ms} ms", language="en", duration_s=heard_ms / 1000)

    def close(self) -> None:
        """Nothing to close."""


@asynccontextmanager
async def partials_on(stt: GatedSTT, interval_ms: int) -> AsyncIterator[tuple[PartialTranscripts, InputAudio]]:
    audio = InputAudio(AudioFormat.PCM16, EnergyVAD(), VadConfig(), max_buffered_s=60)
    async with asyncio.TaskGroup() as tasks:

        def spawn(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
            return tasks.create_task(coroutine)

        partials = PartialTranscripts(stt, audio, spawn, interval_ms=interval_ms)
        try:
            yield partials, audio
        finally:
            partials.reset()
            stt.gate.set()


async def feed(partials: PartialTranscripts, audio: InputAudio, pcm16: bytes) -> None:
    """Append in 100 ms chunks as a client streams, following each; let finished decodes land."""
    chunk_bytes = 2 * 24_000 * CHUNK_MS // 1000
    for start in range(0, len(pcm16), chunk_bytes):
        audio.append(pcm16[start : start + chunk_bytes])
        partials.follow()
        for _ in range(3):
            await asyncio.sleep(0)


async def test_speech_is_decoded_every_interval_of_audio() -> None:
    stt = GatedSTT()
    async with partials_on(stt, interval_ms=500) as (partials, audio):
        await feed(partials, audio, tone_pcm16(1_600))
        assert partials.latest is not None
        assert partials.latest.covered_ms == stt.heard_ms[-1]
        assert partials.latest.transcript.text == f"heard {stt.heard_ms[-1]} ms"
    assert len(stt.heard_ms) == 3  # at ~0.5, ~1.0 and ~1.5 s of speech
    assert all(later - earlier >= 500 for earlier, later in zip(stt.heard_ms, stt.heard_ms[1:], strict=False))


async def test_one_decode_at_a_time_and_a_due_one_waits_for_it() -> None:
    stt = GatedSTT()
    stt.gate.clear()  # the CPU is behind: the first decode does not finish while speech goes on
    async with partials_on(stt, interval_ms=300) as (partials, audio):
        await feed(partials, audio, tone_pcm16(2_000))
        assert stt.heard_ms == [300]
        stt.gate.set()
        await asyncio.sleep(0)
        await feed(partials, audio, tone_pcm16(CHUNK_MS))  # the next append starts the overdue one
        assert len(stt.heard_ms) == 2
        assert stt.heard_ms[1] >= 2_000
    assert stt.most_running == 1


async def test_the_pause_is_decoded_once_whole_and_that_decode_covers_the_turn() -> None:
    stt = GatedSTT()
    async with partials_on(stt, interval_ms=0) as (partials, audio):  # no decode during speech (the default)
        await feed(partials, audio, tone_pcm16(700))
        assert stt.heard_ms == []
        assert partials.covering() is None
        await feed(partials, audio, silence_pcm16(CHUNK_MS))  # the VAD hears the pause: 96 ms of it counted
        assert stt.heard_ms == []  # a fading last sound may still be in it: wait for PAUSE_TAIL_MS
        await feed(partials, audio, silence_pcm16(200))
        assert len(stt.heard_ms) == 1
        # every voiced sample and the pause's tail, and no more than one chunk beyond the tail
        assert 700 + PAUSE_TAIL_MS <= stt.heard_ms[0] <= 700 + PAUSE_TAIL_MS + CHUNK_MS
        assert partials.covering() is not None
        await feed(partials, audio, tone_pcm16(200))  # speech resumes: that decode misses the new words
        assert partials.covering() is None
        assert partials.latest is not None  # it stays the newest partial
        await feed(partials, audio, silence_pcm16(200))
        assert len(stt.heard_ms) == 2
        assert stt.heard_ms[1] >= 900
        assert partials.covering() is not None


async def test_reset_cancels_a_running_decode_unless_the_commit_keeps_it() -> None:
    stt = GatedSTT()
    stt.gate.clear()
    async with partials_on(stt, interval_ms=300) as (partials, audio):
        await feed(partials, audio, tone_pcm16(400) + silence_pcm16(100))
        kept = partials.covering()
        assert kept is None  # the running decode started during speech: it misses the last words
        partials.reset()
        await feed(partials, audio, silence_pcm16(100))
        kept = partials.covering()
        assert kept is not None
        partials.reset(keep=kept)
        assert partials.covering() is None
        assert partials.latest is None
        stt.gate.set()
        taken = TakenTranscript(kept, from_partial=True)
        transcript, reused = await final_transcript(stt, b"\x00\x00" * 16_000, taken)
    assert (transcript.text, reused) == (f"heard {stt.heard_ms[-1]} ms", True)
    assert len(stt.heard_ms) == 2  # the cancelled decode and the kept one; nothing decoded for the commit


async def test_a_failed_or_missing_decode_means_the_commit_decodes() -> None:
    stt = GatedSTT(failures=1)
    async with partials_on(stt, interval_ms=0) as (partials, audio):
        await feed(partials, audio, tone_pcm16(400) + silence_pcm16(200))  # the pause decode fails
        failed = partials._decode.task if partials._decode is not None else None
        assert failed is not None
        assert failed.done()
        assert failed.result() is None
        assert partials.covering() is None  # a failed decode covers nothing: the commit decodes
        transcript, reused = await final_transcript(stt, b"\x00\x00" * 8_000, TakenTranscript(failed, True))
        assert (transcript.text, reused) == ("heard 500 ms", False)
        transcript, reused = await final_transcript(stt, b"\x00\x00" * 8_000, None)
        assert (transcript.text, reused) == ("heard 500 ms", False)


async def test_disabled_partials_never_decode() -> None:
    stt = GatedSTT()
    audio = InputAudio(AudioFormat.PCM16, EnergyVAD(), VadConfig(), max_buffered_s=60)
    async with asyncio.TaskGroup() as tasks:
        partials = PartialTranscripts(stt, audio, tasks.create_task, interval_ms=300, enabled=False)
        await feed(partials, audio, tone_pcm16(1_000) + silence_pcm16(400))
        assert partials.covering() is None
    assert stt.heard_ms == []


def test_a_negative_interval_is_refused() -> None:
    audio = InputAudio(AudioFormat.PCM16, EnergyVAD(), VadConfig(), max_buffered_s=60)
    with pytest.raises(ValueError, match="interval_ms"):
        PartialTranscripts(GatedSTT(), audio, lambda coroutine: asyncio.ensure_future(coroutine), interval_ms=-1)


# --- through a session ---------------------------------------------------------------------------


def _engines(stt: GatedSTT) -> VoiceEngines:
    return VoiceEngines(stt=stt, tts=ToneTTS(tone_ms_per_char=10), new_vad=EnergyVAD)


def _limits(interval_ms: int, *, partials: bool = True) -> SessionLimits:
    return SessionLimits(partial_transcripts=partials, partial_transcript_interval_ms=interval_ms)


async def _speak(transport: FakeTransport, pcm16: bytes) -> None:
    """Stream in 100 ms chunks, each handled (and what it started run) before the next, as a paced client."""
    chunk_bytes = 2 * 24_000 * CHUNK_MS // 1000
    for start in range(0, len(pcm16), chunk_bytes):
        transport.append_audio(pcm16[start : start + chunk_bytes])
        await transport.handled()


@pytest.mark.parametrize("detection", ["server_vad", "semantic_vad"])
async def test_the_commit_reuses_the_pause_decode(detection: str) -> None:
    stt = GatedSTT()
    async with running_session(ScriptedReplySource(["It is noon."]), engines=_engines(stt),
                               limits=_limits(500)) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": {"type": detection}}}}})
        await transport.wait_for("session.updated")
        await _speak(transport, tone_pcm16(1_200) + silence_pcm16(200))
        decoded_before_the_end = list(stt.heard_ms)
        await _speak(transport, silence_pcm16(4_500 if detection == "semantic_vad" else 600))
        completed = await transport.wait_for("conversation.item.input_audio_transcription.completed")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(decoded_before_the_end) == 3  # at 0.5 and 1.0 s of speech, then the pause
    assert stt.heard_ms == decoded_before_the_end  # nothing decoded after the commit
    assert completed["transcript"] == f"heard {decoded_before_the_end[-1]} ms"
    assert metrics["partial_reused"] is True
    assert metrics["latency"]["stt_after_commit_ms"] is not None


async def test_without_partials_the_turn_is_transcribed_as_before() -> None:
    stt = GatedSTT()
    async with running_session(ScriptedReplySource(["It is noon."]), engines=_engines(stt),
                               limits=_limits(0, partials=False)) as (_, transport):
        await _speak(transport, tone_pcm16(1_200) + silence_pcm16(100))
        assert stt.heard_ms == []  # speculation waits 200 ms into the pause
        await _speak(transport, silence_pcm16(600))
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(stt.heard_ms) == 1
    assert metrics["partial_reused"] is False


async def test_the_reply_is_prepared_from_the_pause_decode_before_the_speculation_would_start() -> None:
    stt = GatedSTT()
    replies = ScriptedReplySource(["It is noon.", "It is noon."])
    async with running_session(replies, engines=_engines(stt), limits=_limits(500)) as (_, transport):
        # 192 ms of the pause counted (six VAD frames): past PAUSE_TAIL_MS, short of speculation's 200 ms
        await _speak(transport, tone_pcm16(600) + silence_pcm16(200))
        assert len(replies.requests) == 1  # prepared already
        assert replies.requests[0].messages[-1]["content"] == f"heard {stt.heard_ms[-1]} ms"
        await _speak(transport, silence_pcm16(600))
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(replies.requests) == 1
    assert (metrics["prepared"], metrics["partial_reused"]) == (True, True)


async def test_speech_resuming_discards_the_reply_prepared_from_the_partial() -> None:
    stt = GatedSTT()
    replies = ScriptedReplySource(["Half an answer.", "The whole answer."])
    async with running_session(replies, engines=_engines(stt), limits=_limits(500)) as (_, transport):
        await _speak(transport, tone_pcm16(600) + silence_pcm16(200))
        await _speak(transport, tone_pcm16(400) + silence_pcm16(200))  # speech resumes, pauses again
        await _speak(transport, silence_pcm16(600))
        done = await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(replies.requests) == 2
    assert done["response"]["output"][0]["content"][0]["transcript"] == "The whole answer."
    assert (metrics["prepared"], metrics["prepared_discarded"], metrics["partial_reused"]) == (True, 1, True)
    assert metrics["prepared_wasted_tokens"] > 0


async def test_a_failing_recogniser_does_not_end_the_session() -> None:
    stt = GatedSTT(failures=2)  # the partial during speech and the pause decode fail
    async with running_session(ScriptedReplySource(["It is noon."]), engines=_engines(stt),
                               limits=_limits(500)) as (_, transport):
        await _speak(transport, tone_pcm16(600) + silence_pcm16(700))
        completed = await transport.wait_for("conversation.item.input_audio_transcription.completed")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(stt.heard_ms) == 3  # no retry of the failed pause decode; the commit decoded the turn itself
    assert completed["transcript"] == f"heard {stt.heard_ms[-1]} ms"
    assert metrics["partial_reused"] is False


async def test_a_session_closing_mid_decode_leaves_no_task() -> None:
    stt = GatedSTT()
    stt.gate.clear()  # never opened: the decode is still running when the client leaves
    async with running_session(ScriptedReplySource([]), engines=_engines(stt), limits=_limits(300)) as (_, transport):
        await _speak(transport, tone_pcm16(600))
        assert stt.running == 1
    assert stt.running == 0  # cancelled with the session; the conftest check finds no leaked task


async def test_a_turn_that_ends_while_a_stale_decode_runs_is_decoded_whole() -> None:
    """The pause's decode is still running when speech resumes briefly and the turn then ends: no decode
    covers the last words, so the commit decodes the whole turn (the stale one is cancelled, not used)."""
    stt = GatedSTT()
    stt.gate.clear()
    replies = ScriptedReplySource(["It is noon."])
    async with running_session(replies, engines=_engines(stt), limits=_limits(0)) as (_, transport):
        await _speak(transport, tone_pcm16(600) + silence_pcm16(200))  # the pause's decode starts, and waits
        await _speak(transport, tone_pcm16(200) + silence_pcm16(600))  # a last word; the turn ends
        await transport.wait_for("input_audio_buffer.committed")
        stt.gate.set()
        completed = await transport.wait_for("conversation.item.input_audio_transcription.completed")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(stt.heard_ms) == 2
    assert stt.heard_ms[1] >= stt.heard_ms[0] + 700  # the commit read the last word and the pause
    assert completed["transcript"] == f"heard {stt.heard_ms[1]} ms"
    assert metrics["partial_reused"] is False
