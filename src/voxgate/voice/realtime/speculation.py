"""The speculative transcript of the user's current pause.

    speculation = Speculation(stt, input_audio, spawn, on_finished_turn)
    speculation.follow()        # after each append: start after a short pause, drop when speech resumes
    speculation.end_of_turn()   # semantic_vad: SpeechStopped when the pause's transcript sounds finished
    speculation.take()          # the commit reuses the transcription instead of starting another
    speculation.drop()          # the buffer was cleared: forget the pause and the turn's partials
    Speculation(..., on_ready=..., on_drop=...)   # the transcript is ready before the commit / it was dropped
                                                  # (the session prepares the reply, `prepared_reply`)
    Speculation(..., partials=True)               # decode at the pause (`partial_transcripts`); with
                                                  # partial_interval_ms=1000 during speech too

Server VAD waits `silence_duration_ms` (500 ms by default) before it ends a turn; transcribing from
the first 200 ms of the pause (semantic_vad: 100 ms) means the transcript is usually ready when the
turn ends (a pause that is not the end costs one wasted run). With semantic_vad the transcript
itself may end the turn: a finished-sounding one after `finished_silence_ms`, judged the moment it
is ready (`on_finished_turn`) as well as at each append. With an audio end-of-turn model the same
pause is also judged by its sound (`end_of_turn.turn_is_over` combines the two).
With partial transcripts on, the pause's transcript is the partial decode started at the VAD's first
silent frame (`PartialTranscripts.covering`), not a decode of its own 100-200 ms later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from voxgate.voice.engines.protocols import EndOfTurnModel, SpeechToText, Transcript
from voxgate.voice.engines.vad import SpeechEvent
from voxgate.voice.realtime.end_of_turn import SPECULATE_AFTER_MS as SEMANTIC_SPECULATE_AFTER_MS
from voxgate.voice.realtime.end_of_turn import SemanticTimings, judge_text, turn_is_over
from voxgate.voice.realtime.input_audio import InputAudio
from voxgate.voice.realtime.partial_transcripts import (
    DecodeTask,
    PartialTranscripts,
    TakenTranscript,
    transcribe_or_none,
)
from voxgate.voice.realtime.session_config import TurnDetection

SPECULATE_AFTER_MS = 200

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Speculation:
    def __init__(self, stt: SpeechToText, audio: InputAudio, spawn: Spawn,
                 on_finished_turn: Callable[[SpeechEvent], None], turn_model: EndOfTurnModel | None = None, *,
                 on_ready: Callable[[Transcript], None] | None = None,
                 on_drop: Callable[[], None] | None = None, partials: bool = False,
                 partial_interval_ms: int = 0) -> None:
        self._stt = stt
        self._partials = PartialTranscripts(stt, audio, spawn, interval_ms=partial_interval_ms, enabled=partials)
        self._on_ready = on_ready
        self._on_drop = on_drop
        self._turn_model = turn_model
        self._sound: asyncio.Task[float] | None = None
        self._audio = audio
        self._spawn = spawn
        self._on_finished_turn = on_finished_turn
        self._semantic: SemanticTimings | None = None
        self._task: DecodeTask | None = None

    def configure(self, turn_detection: TurnDetection | None) -> None:
        """A new turn detection: forget the running speculation."""
        self._semantic = turn_detection.semantic if turn_detection is not None else None
        self.drop()

    def follow(self) -> None:
        """Start transcribing once speech has paused long enough; drop it if speech resumes."""
        silence_ms = self._audio.trailing_silence_ms
        if silence_ms == 0:
            self._drop_pause()
        self._partials.follow()
        if silence_ms > 0 and self._task is None and (task := self._pause_decode(silence_ms)) is not None:
            self._task = task
            task.add_done_callback(self._ready)  # before the semantic judge, which may commit the turn
            if self._semantic is not None:  # judge the transcript the moment it is ready, not at the next append
                task.add_done_callback(self._on_done)
                if self._turn_model is not None:
                    self._sound = self._spawn(self._turn_model.probability_finished(self._audio.peek()))
                    self._sound.add_done_callback(self._on_done)

    def _pause_decode(self, silence_ms: int) -> DecodeTask | None:
        """The partial covering every voiced sample (partials on), else a decode of our own once the
        pause is long enough."""
        if self._partials.enabled:
            return self._partials.covering()
        after_ms = SEMANTIC_SPECULATE_AFTER_MS if self._semantic is not None else SPECULATE_AFTER_MS
        return self._spawn(transcribe_or_none(self._stt, self._audio.peek())) if silence_ms >= after_ms else None

    def end_of_turn(self) -> SpeechEvent | None:
        """With semantic_vad: end the turn now when the pause's speculative transcript sounds finished."""
        if self._semantic is None or self._task is None:
            return None
        text = _result(self._task)
        verdict = None if text is None else judge_text(text.text)
        over = turn_is_over(self._audio.trailing_silence_ms, verdict, _result(self._sound), self._semantic)
        return self._audio.end_speech() if over else None

    def take(self) -> TakenTranscript | None:
        """The pause's decode, handed over (the commit awaits it); None when there is none. The turn's
        other partials are forgotten."""
        task, self._task = self._task, None
        self._drop_sound()
        self._partials.reset(keep=task)
        return TakenTranscript(task, self._partials.enabled) if task is not None else None

    def drop(self) -> None:
        """The buffer was cleared or the turn detection changed: forget the pause and the partials."""
        self._drop_pause()
        self._partials.reset()

    def _drop_pause(self) -> None:
        if self._task is not None:
            if not self._partials.enabled:
                self._task.cancel()  # a partial decode goes on: it is the turn's newest partial
            self._task = None
            if self._on_drop is not None:
                self._on_drop()
        self._drop_sound()

    def _drop_sound(self) -> None:
        if self._sound is not None:
            self._sound.cancel()
            self._sound = None

    def _ready(self, task: DecodeTask) -> None:
        if task is self._task and self._on_ready is not None and (transcript := _result(task)) is not None:
            self._on_ready(transcript)

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        if task is not self._task and task is not self._sound:
            return  # dropped or taken
        if (stopped := self.end_of_turn()) is not None:
            self._on_finished_turn(stopped)


def _result(task: asyncio.Task[Any] | None) -> Any:
    """A finished task's result; None while it runs, or when it was cancelled or failed."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()
