"""What a proxied session measures: each response's first-audio latency and the session's usage.

    clock = TurnClock(clock, decision_id="dec_...", model_id="gpt-realtime")
    clock.speech_stopped(); clock.response_created("resp_1"); clock.audio_delta("resp_1", 4800)
    metrics = clock.response_done(response)     # the `voxgate.turn.metrics` event; usage added up

Latency stages a native model shows from outside: `first_audio_ms` (response.created -> its first
audio delta) and `total_ms` (the user's speech stopped -> the first audio; from response.created
when the turn had no speech, e.g. a text item). The chain's STT/LLM/TTS stages are null: the
model does them inside.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxgate.core.clock import Clock
from voxgate.core.types import JSONObject, Usage

UPSTREAM_BYTES_PER_MS = 48  # PCM16 at 24 kHz


@dataclass
class _Turn:
    response_id: str
    created_s: float
    speech_stopped_s: float | None
    first_audio_s: float | None = None
    audio_bytes: int = 0


class TurnClock:
    def __init__(self, clock: Clock, decision_id: str, model_id: str) -> None:
        self._clock = clock
        self._decision_id = decision_id
        self._model_id = model_id
        self._speech_stopped_s: float | None = None
        self._turns: dict[str, _Turn] = {}
        self.usage = Usage(0, 0)
        self.responses = 0

    @property
    def in_flight(self) -> bool:
        """Whether a response has been created and not yet done."""
        return bool(self._turns)

    def speech_stopped(self) -> None:
        self._speech_stopped_s = self._clock.monotonic_s()

    def response_created(self, response_id: str) -> None:
        speech_s, self._speech_stopped_s = self._speech_stopped_s, None
        self._turns[response_id] = _Turn(response_id, self._clock.monotonic_s(), speech_s)

    def audio_delta(self, response_id: str, upstream_bytes: int) -> float | None:
        """Count a reply's audio; the first delta's latency (ms since response.created), else None."""
        turn = self._turns.get(response_id)
        if turn is None:
            return None
        turn.audio_bytes += upstream_bytes
        if turn.first_audio_s is not None:
            return None
        turn.first_audio_s = self._clock.monotonic_s()
        return round((turn.first_audio_s - turn.created_s) * 1000, 1)

    def response_done(self, response: JSONObject) -> JSONObject:
        """Add the response's usage; its `voxgate.turn.metrics` event."""
        response_id = str(response.get("id", ""))
        turn = self._turns.pop(response_id, None) or _Turn(response_id, self._clock.monotonic_s(), None)
        self.responses += 1
        self.usage = Usage(*(a + b for a, b in zip(self.usage, usage_of(response), strict=True)))

        def since(mark: float | None, origin: float | None) -> float | None:
            return None if mark is None or origin is None else round((mark - origin) * 1000, 1)

        latency = {"transcription_ms": None, "first_token_ms": None, "first_sentence_ms": None,
                   "first_audio_ms": since(turn.first_audio_s, turn.created_s),
                   "total_ms": since(turn.first_audio_s, turn.speech_stopped_s or turn.created_s)}
        return {"type": "voxgate.turn.metrics", "response_id": response_id, "status": response.get("status"),
                "decision_id": self._decision_id, "model": self._model_id, "routed_by": "native_audio",
                "latency": latency, "audio_ms": round(turn.audio_bytes / UPSTREAM_BYTES_PER_MS, 1)}


def usage_of(response: JSONObject) -> Usage:
    """A realtime `response.usage` (input/output tokens, text and audio together); zeros without one."""
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return Usage(0, 0)
    counts = [usage.get("input_tokens"), usage.get("output_tokens")]
    prompt, completion = (int(c) if isinstance(c, int) and not isinstance(c, bool) and c > 0 else 0 for c in counts)
    return Usage(prompt, completion)
