"""One OpenTelemetry trace per voice turn: VAD, STT, the routed LLM call, TTS.

    span = turns.start(times)            # when the response starts: the root, VAD and STT spans
    with use_span(span): spawn(...)      # the response task: its route, `chat <model>` and TTS spans nest
    turns.finish(span, runner, times)    # decision id, model, tokens, audio; the root ends

The turn's root (`voice turn`) starts when the user started speaking. `vad speech` runs from the
VAD's start of speech to its end of speech (`input_audio_buffer.speech_stopped`), `stt transcription`
from that end to the transcript being ready: both are known only afterwards, so they are written
with their measured start and end times. The LLM spans (`voxgate.route`, `chat <model>`) come from
the server's reply source and `tts synthesis` spans from the response runner, live, inside the
turn's context. Attributes are ids, engine names, counts and milliseconds: never a transcript,
an answer or the text spoken.
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context

from voxgate.core.clock import Clock
from voxgate.voice.realtime.response import ResponseRunner, TurnTimes

DECISION_ID = "voxgate.decision_id"
SESSION_ID = "voxgate.session_id"


class TurnTracer:
    """Traces a session's voice turns with the session's clock (monotonic marks -> epoch nanoseconds)."""

    def __init__(self, tracer: Tracer, clock: Clock, session_id: str, stt_engine: str) -> None:
        self.tracer = tracer
        self._clock = clock
        self._session_id = session_id
        self._stt_engine = stt_engine
        self._wall_offset_s = 0.0

    def _epoch_ns(self, monotonic_s: float) -> int:
        return int((self._wall_offset_s + monotonic_s) * 1e9)

    def start(self, times: TurnTimes) -> Span:
        """The turn's root span (a new trace), with its finished VAD and STT spans inside."""
        started_s = times.speech_started_s or times.speech_stopped_s or times.response_started_s
        now_s = self._clock.monotonic_s()
        self._wall_offset_s = self._clock.wall_s() - now_s  # one offset per turn: its spans' times stay in order
        root = self.tracer.start_span("voice turn", context=Context(), kind=SpanKind.SERVER,
                                      start_time=self._epoch_ns(started_s if started_s is not None else now_s))
        if not root.is_recording():
            return root
        root.set_attribute(SESSION_ID, self._session_id)
        inside = set_span_in_context(root)
        if times.speech_started_s is not None and times.speech_stopped_s is not None:
            self._finished_span("vad speech", inside, times.speech_started_s, times.speech_stopped_s,
                                {"voxgate.vad.speech_ms": _ms(times.speech_stopped_s - times.speech_started_s)})
        if times.speech_stopped_s is not None and times.transcript_ready_s is not None:
            ready_s = max(times.transcript_ready_s, times.speech_stopped_s)  # a speculative transcript: no wait
            self._finished_span("stt transcription", inside, times.speech_stopped_s, ready_s,
                                {"voxgate.stt.engine": self._stt_engine,
                                 "voxgate.stt.wait_ms": _ms(ready_s - times.speech_stopped_s)})
        return root

    def _finished_span(self, name: str, context: Context, start_s: float, end_s: float,
                       attributes: dict[str, str | float]) -> None:
        span = self.tracer.start_span(name, context=context, start_time=self._epoch_ns(start_s),
                                      attributes=attributes)
        span.end(end_time=self._epoch_ns(end_s))

    def finish(self, root: Span, runner: ResponseRunner, times: TurnTimes) -> None:
        """End the turn's root with what the response did (ids, model, tokens, audio, latency)."""
        if root.is_recording():
            prompt_tokens, completion_tokens = runner.usage
            root.set_attributes({
                "voxgate.response.status": runner.status,
                "voxgate.tts.audio_ms": round(runner.audio_ms, 1),
                "gen_ai.usage.input_tokens": prompt_tokens,
                "gen_ai.usage.output_tokens": completion_tokens,
            })
            if runner.decision_id is not None:
                root.set_attribute(DECISION_ID, runner.decision_id)
            if runner.model:
                root.set_attribute("gen_ai.response.model", runner.model)
            first_sound_s = times.first_audio_s or times.first_token_s
            if first_sound_s is not None and times.speech_stopped_s is not None:
                root.set_attribute("voxgate.turn.response_ms", _ms(first_sound_s - times.speech_stopped_s))
        root.end()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
