"""`turn_detection.idle_timeout_ms` (server_vad): prompt a user who stays silent after the bot spoke.

    watch = IdleWatch()
    watch.arm(since_ms)                 # a response ended; its audio stops playing at `since_ms`
    watch.disarm()                      # the user spoke or committed
    watch.expired(now_ms, timeout_ms)   # the silent span (start_ms, end_ms) once it is long enough

Times are on the session's input-audio clock (milliseconds of audio the client has appended), the
clock of OpenAI's `audio_start_ms` / `audio_end_ms`: a client that streams its microphone in real
time gets the timeout after `idle_timeout_ms` of wall time; a client that sends no audio gets none.
The timer starts when the last response's audio has finished playing, estimated as the response's
end plus the part of its audio that real-time playback had not reached yet.

When it expires the session feeds `turns.IdleTimedOut` to the turn state machine, which decides
(only `server_vad` has it, and only while the floor is free): the session then does as OpenAI
documents, `input_audio_buffer.timeout_triggered` {audio_start_ms, audio_end_ms, item_id}, the
silent buffer committed as an `input_audio` item (`input_audio_buffer.committed`, not transcribed:
VAD heard no speech), and, unless `create_response` is false, a response with `idle_prompt`'s
instructions that asks the user to carry on.
"""

from __future__ import annotations

from voxgate.voice.realtime.response_create import ResponseCreate
from voxgate.voice.realtime.session_config import SessionConfig

IDLE_PROMPT = ("The user has said nothing for {seconds:g} seconds. In one short sentence, ask whether they are "
               "still there or would like to continue.")


class IdleWatch:
    """When the user's silence began (input-audio ms), if a response has ended since they last spoke."""

    def __init__(self) -> None:
        self._since_ms: int | None = None

    @property
    def armed(self) -> bool:
        return self._since_ms is not None

    def arm(self, since_ms: int) -> None:
        self._since_ms = since_ms

    def disarm(self) -> None:
        self._since_ms = None

    def expired(self, now_ms: int, timeout_ms: int | None) -> tuple[int, int] | None:
        """The silent span `(start_ms, now_ms)` once it lasts `timeout_ms`; None before, or when unarmed."""
        if self._since_ms is None or timeout_ms is None or now_ms - self._since_ms < timeout_ms:
            return None
        return self._since_ms, now_ms


def playback_end_ms(input_clock_ms: int, audio_ms: float, first_audio_s: float | None, now_s: float) -> int:
    """Input-clock time at which a response's audio stops playing, if played in real time from its first delta."""
    if first_audio_s is None:
        return input_clock_ms
    unplayed_ms = max(0.0, audio_ms - (now_s - first_audio_s) * 1000)
    return input_clock_ms + round(unplayed_ms)


def idle_prompt(config: SessionConfig, idle_timeout_ms: int) -> ResponseCreate:
    """The response that asks a silent user to carry on: the session's instructions plus IDLE_PROMPT."""
    prompt = IDLE_PROMPT.format(seconds=idle_timeout_ms / 1000)
    instructions = f"{config.instructions}\n\n{prompt}" if config.instructions else prompt
    return ResponseCreate(overrides={"instructions": instructions})
