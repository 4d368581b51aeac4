"""The speculative transcript of the user's current pause.

    speculation = Speculation(stt, input_audio, spawn, on_finished_turn)
    speculation.follow()        # after each append: start after a short pause, drop when speech resumes
    speculation.end_of_turn()   # semantic_vad: SpeechStopped when the pause's transcript sounds finished
    speculation.take()          # the commit reuses the transcription instead of starting another

Server VAD waits `silence_duration_ms` (500 ms by default) before it ends a turn; transcribing from
the first 200 ms of the pause (semantic_vad: 100 ms) means the transcript is usually ready when the
turn ends (a pause that is not the end costs one wasted run). With semantic_vad the transcript
itself may end the turn: a finished-sounding one after `finished_silence_ms`, judged the moment it
is ready (`on_finished_turn`) as well as at each append.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from voxgate.voice.engines.protocols import SpeechToText, Transcript
from voxgate.voice.engines.vad import SpeechEvent
from voxgate.voice.realtime.end_of_turn import SPECULATE_AFTER_MS as SEMANTIC_SPECULATE_AFTER_MS
from voxgate.voice.realtime.end_of_turn import SemanticTimings, looks_finished
from voxgate.voice.realtime.input_audio import InputAudio
from voxgate.voice.realtime.session_config import TurnDetection

SPECULATE_AFTER_MS = 200

Spawn = Callable[[Coroutine[Any, Any, Transcript]], "asyncio.Task[Transcript]"]


class Speculation:
    def __init__(self, stt: SpeechToText, audio: InputAudio, spawn: Spawn,
                 on_finished_turn: Callable[[SpeechEvent], None]) -> None:
        self._stt = stt
        self._audio = audio
        self._spawn = spawn
        self._on_finished_turn = on_finished_turn
        self._semantic: SemanticTimings | None = None
        self._task: asyncio.Task[Transcript] | None = None

    def configure(self, turn_detection: TurnDetection | None) -> None:
        """A new turn detection: forget the running speculation."""
        self._semantic = turn_detection.semantic if turn_detection is not None else None
        self.drop()

    def follow(self) -> None:
        """Start transcribing once speech has paused long enough; drop it if speech resumes."""
        silence_ms = self._audio.trailing_silence_ms
        after_ms = SEMANTIC_SPECULATE_AFTER_MS if self._semantic is not None else SPECULATE_AFTER_MS
        if silence_ms >= after_ms and self._task is None:
            self._task = self._spawn(self._stt.transcribe(self._audio.peek()))
            if self._semantic is not None:  # judge the transcript the moment it is ready, not at the next append
                self._task.add_done_callback(self._on_done)
        elif silence_ms == 0:
            self.drop()

    def end_of_turn(self) -> SpeechEvent | None:
        """With semantic_vad: end the turn now when the pause's speculative transcript sounds finished."""
        task = self._task
        if self._semantic is None or task is None or not task.done() or task.cancelled():
            return None
        if task.exception() is not None or self._audio.trailing_silence_ms < self._semantic.finished_silence_ms:
            return None
        return self._audio.end_speech() if looks_finished(task.result().text) else None

    def take(self) -> asyncio.Task[Transcript] | None:
        """The running speculation, handed over (the commit awaits it); None when there is none."""
        task, self._task = self._task, None
        return task

    def drop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _on_done(self, task: asyncio.Task[Transcript]) -> None:
        if task is not self._task:
            return  # dropped or taken
        if (stopped := self.end_of_turn()) is not None:
            self._on_finished_turn(stopped)
