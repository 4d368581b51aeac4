"""Partial transcripts of the turn while the user speaks (`voice.partial_transcript_interval_ms`).

    partials = PartialTranscripts(stt, input_audio, spawn, interval_ms=0)   # 1000: also during speech
    partials.follow()          # after each append, while the VAD hears speech: decode the turn once the
                               # pause is PAUSE_TAIL_MS old, and every `interval_ms` of speech if > 0
    partials.covering()        # the decode (running or done) that covers every voiced sample so far, or None
    partials.latest            # the newest finished partial: its transcript and how much of the turn it read
    partials.reset(keep=task)  # the turn was committed or cleared: forget it, cancel any decode but `keep`
    transcript, reused = await final_transcript(stt, pcm16, taken)   # the commit: reuse or decode

Whisper decodes the whole buffer each time (no streaming state), so a partial is a re-decode of the
turn so far, on the short window (`engines.whisper_window`). The one that matters is the decode
started when the VAD first hears the pause: it holds every voiced sample, and what the turn gains
after it is the VAD's silence window, so the commit reuses it instead of decoding the turn again
(`speculation.Speculation` adopts it as the pause's transcript: the semantic end-of-turn judge and
the reply prepared during the pause, `prepared_reply`, start from it). A decode started during
speech never covers the last words, so it is a partial only; the rule is by audio, not by time:
a decode is reused when the buffer it read reaches the end of the voiced audio, i.e. everything
after it is the trailing silence the VAD has counted.

The pause's decode waits until the VAD has counted `PAUSE_TAIL_MS` of silence, not its first silent
frame: a fading last sound ("France"'s final "s") can fall under the VAD's threshold while it is still
speech, and a decode that ends on it hears another word ("friends"; a CI run did). A tenth of a second
gives Whisper the word's tail and a little silence after it; it still starts 400 ms before a default
500 ms `silence_duration_ms` commits the turn.

Cost control: at most one decode in flight per session; a decode that falls due while the previous
one still runs is skipped (the CPU is behind; the next append tries again). Decodes run in the
session's task group (`spawn`) and never raise into it: a failed decode is None (logged by type),
is not retried for the same pause, and the commit then decodes as if there had been none.
Interval 0 (the default) decodes at the pause only: measured on two cores, the decodes during speech
bought nothing with one session and cost a quarter of the voice-to-voice time with four
(`bench/results/voice_latency.md`, 2026-12-03). `enabled=False` turns the partials off (the session's
speculation then decodes on its own, 200 ms into the pause).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from voxgate.voice.engines.protocols import SpeechToText, Transcript
from voxgate.voice.realtime.input_audio import InputAudio

log = logging.getLogger("voxgate.voice")
PAUSE_TAIL_MS = 100
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
DecodeTask = asyncio.Task[Transcript | None]


@dataclass(frozen=True)
class Partial:
    """A finished partial decode: the transcript of the turn's first `covered_ms`."""

    transcript: Transcript
    covered_ms: int


@dataclass(frozen=True)
class TakenTranscript:
    """The pause's decode, handed to the commit; `from_partial`: started by `PartialTranscripts`."""

    task: DecodeTask
    from_partial: bool


@dataclass(frozen=True)
class _Decode:
    task: DecodeTask
    covered_ms: int


async def transcribe_or_none(stt: SpeechToText, pcm16: bytes) -> Transcript | None:
    """A decode started before the commit: None instead of an error (the commit decodes again)."""
    try:
        return await stt.transcribe(pcm16)
    except Exception as exc:
        log.info("early transcription failed: %s", type(exc).__name__)
        return None


async def final_transcript(stt: SpeechToText, pcm16: bytes, taken: TakenTranscript | None) -> tuple[Transcript, bool]:
    """The committed turn's transcript and whether a partial decode gave it: the pause's decode when
    there is one and it succeeds (it read every voiced sample of `pcm16`), else a decode of `pcm16`."""
    if taken is not None:
        await asyncio.wait([taken.task])
        if not taken.task.cancelled() and (transcript := taken.task.result()) is not None:
            return transcript, taken.from_partial
    return await stt.transcribe(pcm16), False


class PartialTranscripts:
    """One session's partial decodes of the turn in progress (see the module docstring)."""

    def __init__(self, stt: SpeechToText, audio: InputAudio, spawn: Spawn, *, interval_ms: int,
                 enabled: bool = True) -> None:
        if interval_ms < 0:
            raise ValueError(f"interval_ms must not be negative, got {interval_ms}")
        self._stt = stt
        self._audio = audio
        self._spawn = spawn
        self._interval_ms = interval_ms
        self._enabled = enabled
        self._decode: _Decode | None = None
        self.latest: Partial | None = None
        self.decodes_started = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    def follow(self) -> None:
        """Start a decode if one is due: one covering the voiced audio once the VAD has heard
        `PAUSE_TAIL_MS` of a pause, and every `interval_ms` of speech when that is > 0; never while
        the previous one runs."""
        if not self.enabled or not self._audio.speaking:
            return
        read_ms = self._decode.covered_ms if self._decode is not None else 0
        if self._audio.trailing_silence_ms > 0:  # once per pause: a failed decode is not tried again
            tail_heard = self._audio.trailing_silence_ms >= PAUSE_TAIL_MS
            due = tail_heard and (self._decode is None or read_ms < self._voiced_end_ms())
        else:
            due = self._interval_ms > 0 and self._audio.buffered_ms - read_ms >= self._interval_ms
        if due and (self._decode is None or self._decode.task.done()):
            self._start()

    def covering(self) -> DecodeTask | None:
        """The newest decode if it read every voiced sample so far (all that followed is the VAD's
        counted silence) and has not failed; None otherwise."""
        decode = self._decode
        if decode is None or decode.covered_ms < self._voiced_end_ms():
            return None
        if decode.task.done() and (decode.task.cancelled() or decode.task.result() is None):
            return None
        return decode.task

    def _voiced_end_ms(self) -> int:
        return self._audio.buffered_ms - self._audio.trailing_silence_ms

    def reset(self, keep: DecodeTask | None = None) -> None:
        """The turn's buffer was taken or cleared: forget its partials; cancel a running decode unless
        it is `keep` (the commit awaits it)."""
        decode, self._decode, self.latest = self._decode, None, None
        if decode is not None and decode.task is not keep:
            decode.task.cancel()

    def _start(self) -> None:
        decode = _Decode(self._spawn(transcribe_or_none(self._stt, self._audio.peek())), self._audio.buffered_ms)
        self._decode = decode
        self.decodes_started += 1
        decode.task.add_done_callback(lambda task: self._finished(decode))

    def _finished(self, decode: _Decode) -> None:
        if decode is self._decode and not decode.task.cancelled() and (transcript := decode.task.result()) is not None:
            self.latest = Partial(transcript, decode.covered_ms)
