"""A voice turn's trace, caught by the SDK's in-memory exporter: one new trace per turn with VAD, STT,
the reply source's LLM span and TTS spans inside, in time order, and no transcript or answer text."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from tests.unit.voice.realtime.realtime_harness import running_session, silence_pcm16, tone_pcm16
from voxgate.voice.realtime.reply import ReplyEvent, ReplyRequest, ScriptedReplySource

TRANSCRIPT = "TRANSCRIPT-PLUGH what time is it"
ANSWER = "ANSWER-XYZZY it is noon. Time for lunch."


class TracedReplies(ScriptedReplySource):
    """The scripted reply source inside a `chat` span, as the server's routed one is (route, attempt)."""

    def __init__(self, tracer: Tracer, script: list[str]) -> None:
        super().__init__(script)
        self._tracer = tracer

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        span = self._tracer.start_span("chat scripted")
        try:
            async for event in super().stream_reply(request):
                yield event
        finally:
            span.end()


def _tracer(exporter: InMemorySpanExporter) -> Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def _two_turns(tracer: Tracer) -> None:
    replies = TracedReplies(tracer, [ANSWER, "Okay."])
    async with running_session(replies, [TRANSCRIPT, "and now"], tracer=tracer) as (_, transport):
        for turn in (1, 2):
            transport.append_audio(silence_pcm16(300) + tone_pcm16(800) + silence_pcm16(900))
            await transport.wait_for("voxgate.turn.metrics", turn, timeout_s=30)  # sent after the turn's trace ended


async def test_each_voice_turn_is_a_trace_of_vad_stt_llm_and_tts() -> None:
    exporter = InMemorySpanExporter()
    await _two_turns(_tracer(exporter))
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "voice turn"]
    assert len(roots) == 2
    assert len({root.context.trace_id for root in roots}) == 2
    assert all(root.parent is None for root in roots)
    root = roots[0]
    names = [s.name for s in _children(spans, root)]
    assert {"vad speech", "stt transcription", "chat scripted", "tts synthesis"} <= set(names)
    by_name = {s.name: s for s in _children(spans, root)}
    vad, stt, llm = by_name["vad speech"], by_name["stt transcription"], by_name["chat scripted"]
    assert root.start_time is not None
    assert root.end_time is not None
    assert vad.start_time is not None
    assert vad.end_time is not None
    assert stt.end_time is not None
    assert root.start_time <= vad.start_time < vad.end_time <= stt.end_time
    assert llm.start_time is not None
    assert stt.end_time <= llm.start_time <= root.end_time
    assert (vad.attributes or {})["voxgate.vad.speech_ms"] > 0  # type: ignore[operator]
    attributes = root.attributes or {}
    assert attributes["voxgate.decision_id"] == "dec-1"
    assert attributes["gen_ai.response.model"] == "scripted"
    assert attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["voxgate.response.status"] == "completed"
    assert attributes["voxgate.tts.audio_ms"] > 0  # type: ignore[operator]
    tts = [s for s in _children(spans, root) if s.name == "tts synthesis"]
    spoken_chars = [(s.attributes or {})["voxgate.tts.chars"] for s in tts]
    assert all(isinstance(chars, int) for chars in spoken_chars)
    assert sum(int(str(chars)) for chars in spoken_chars) >= len("it is noon")
    for span in spans:
        assert "PLUGH" not in span.to_json(), span.name
        assert "XYZZY" not in span.to_json(), span.name
