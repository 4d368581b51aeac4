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

When it fires (`fire_idle_timeout`), as OpenAI documents: `input_audio_buffer.timeout_triggered`
{audio_start_ms, audio_end_ms, item_id}, the silent buffer is committed as an `input_audio` item
(`input_audio_buffer.committed`, not transcribed: VAD heard no speech), and a response is created
that asks the user to carry on (unless `create_response` is false). Only `server_vad` has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxgate.voice.realtime.turns import ResponseRequested, TurnPhase

if TYPE_CHECKING:
    from voxgate.voice.realtime.session import RealtimeSession

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


def fire_idle_timeout(session: RealtimeSession) -> None:
    """After an append: if the user has been silent for `idle_timeout_ms`, commit the silence and prompt them."""
    detection = session.config.turn_detection
    if detection is None or detection.kind != "server_vad" or session.state.phase is not TurnPhase.LISTENING:
        return
    span = session.idle.expired(session.input.clock_ms, detection.idle_timeout_ms)
    if span is None:
        return
    session.idle.disarm()
    item_id, session.next_user_item_id = session.next_user_item_id, session.ids.new("item")
    session.emit({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": span[0],
                  "audio_end_ms": span[1], "item_id": item_id})
    session.input.clear()
    item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed", "role": "user",
            "content": [{"type": "input_audio", "transcript": None}]}
    previous = session.conversation.last_id()
    session.conversation.add(item)
    session.emit({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
    session.emit({"type": session.names.item_created, "previous_item_id": previous, "item": item})
    if not session.names.beta:
        session.emit({"type": "conversation.item.done", "item": item})
    if detection.create_response:
        prompt = IDLE_PROMPT.format(seconds=(detection.idle_timeout_ms or 0) / 1000)
        instructions = f"{session.config.instructions}\n\n{prompt}" if session.config.instructions else prompt
        session.pending_overrides = {"instructions": instructions}
        session.turn(ResponseRequested())
