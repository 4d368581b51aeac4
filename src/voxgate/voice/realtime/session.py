"""One realtime voice session: client events in, server events out, over any text transport.

    session = RealtimeSession(engines, replies, limits, beta=False)
    await session.run(transport)   # returns when the client leaves; raises SessionExpiredError or
                                   # SlowClientError when the session must close (the server maps
                                   # those to WebSocket close codes)

Before any `session.update` the session runs on OpenAI's defaults (`SessionConfig()`): PCM16 at
24 kHz, server VAD, audio output; a `session.update` may come at any time and changes what follows.

Tasks (all in one TaskGroup, so nothing outlives the session): the client reader, the sender
(`outbox.Outbox`: a bounded queue, so a client that stops reading ends the session with
SlowClientError instead of buffering without bound), one task per transcription, at most one
response task in the conversation (out-of-band ones beside it), and a supervisor that enforces
the maximum session length.

Who owns what: the turn state machine (`turns.advance`) decides; this class carries out its actions
and owns the input audio, the pause's `speculation.Speculation` (and the turn's partial decodes in it),
the reply prepared from its transcript (`prepared_reply.PreparedReplies`), the idle watch and the responses.
The events on their way out and the reason the session ends belong to `outbox.Outbox`, the
conversation and its events to `item_log.ItemLog`; client events are parsed and dispatched by
`client_events`, which sees the session only through its `SessionControl` protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import NoOpTracer, Span, Tracer, use_span

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import ServerShuttingDownError
from voxgate.core.types import JSONObject
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.metering import engine_name
from voxgate.voice.engines.protocols import Transcript
from voxgate.voice.engines.vad import SpeechEvent, SpeechStarted
from voxgate.voice.realtime.backchannel import MAX_BACKCHANNEL_MS, is_backchannel
from voxgate.voice.realtime.client_events import handle_frame
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.idle_timeout import IdleWatch, idle_prompt, playback_end_ms
from voxgate.voice.realtime.input_audio import InputAudio
from voxgate.voice.realtime.item_log import ItemLog
from voxgate.voice.realtime.outbox import Outbox
from voxgate.voice.realtime.partial_transcripts import TakenTranscript, final_transcript
from voxgate.voice.realtime.prepared_reply import PreparedReplies, with_user_turn, worth_preparing
from voxgate.voice.realtime.protocol import EventNames, IdFactory, ProtocolViolation, error_event
from voxgate.voice.realtime.reply import ReplyRequest, ReplySource
from voxgate.voice.realtime.response import ResponseContext, ResponseOptions, ResponseRunner, TurnTimes
from voxgate.voice.realtime.response_create import ResponseCreate, reply_request_for
from voxgate.voice.realtime.session_config import SessionConfig, render_session, vad_config_of
from voxgate.voice.realtime.speculation import Speculation
from voxgate.voice.realtime.transport import RealtimeTransport, raise_session_end
from voxgate.voice.realtime.turn_trace import TurnTracer
from voxgate.voice.realtime.turns import (
    BufferCleared,
    BufferCommitted,
    CancelRequested,
    CancelResponse,
    CommitBuffer,
    CommitSilence,
    FirstAudioSent,
    IdleTimedOut,
    InterruptionConfirmed,
    RejectRequest,
    ResponseCancelled,
    ResponseDone,
    ResponseRequested,
    StartResponse,
    TranscriptReady,
    TurnEvent,
    TurnPolicy,
    TurnState,
    advance,
)

log = logging.getLogger("voxgate.voice")
MIN_COMMIT_MS = 100


@dataclass(frozen=True)
class SessionLimits:
    max_session_s: float = 30 * 60.0
    max_append_bytes: int = 15 * 1024 * 1024
    max_buffered_audio_s: float = 600.0
    send_queue_events: int = 2_048
    max_output_tokens: int = 300
    first_piece_chars: int = 24
    backchannels: bool = True  # "mm-hm" over a spoken reply does not cancel it (`realtime.backchannel`)
    prepare_replies: bool = True  # start the reply from the pause's transcript (`realtime.prepared_reply`)
    partial_transcripts: bool = False  # decode at the pause and reuse it (`realtime.partial_transcripts`)
    partial_transcript_interval_ms: int = 0  # with them: also every this many ms of speech; 0: never


class RealtimeSession:
    def __init__(self, engines: VoiceEngines, replies: ReplySource, limits: SessionLimits, *, beta: bool,
                 clock: Clock | None = None, on_turn_metrics: Callable[[JSONObject], None] | None = None,
                 extension_events: bool = True, shutdown: asyncio.Event | None = None,
                 tracer: Tracer | None = None) -> None:
        self.engines = engines
        self.replies = replies
        self.limits = limits
        self.clock = clock or SystemClock()
        self._on_turn_metrics = on_turn_metrics
        self._extension_events = extension_events  # voxgate.turn.metrics: off for strict schema clients
        self.names = EventNames.for_shape(beta=beta)
        self.ids = IdFactory()
        self.outbox = Outbox(self.ids, queue_events=limits.send_queue_events)
        self.session_id = self.ids.new("sess")
        self.turn_trace = TurnTracer(tracer or NoOpTracer(), self.clock, self.session_id, engine_name(engines.stt))
        self.config = SessionConfig()
        self.items = ItemLog(Conversation(), self.emit, self.names, self.ids)
        self.input = InputAudio(self.config.input_format, engines.new_vad(), vad_config_of(self.config.turn_detection),
                                max_buffered_s=limits.max_buffered_audio_s)
        self.prepared = PreparedReplies(replies, engines.tts, self.spawn, first_piece_chars=limits.first_piece_chars)
        self.speculation = Speculation(engines.stt, self.input, self.spawn, self._on_finished_turn, engines.turn_model,
                                       on_ready=self._prepare_reply, on_drop=self.prepared.discard,
                                       partials=limits.partial_transcripts,
                                       partial_interval_ms=limits.partial_transcript_interval_ms)
        self.speculation.configure(self.config.turn_detection)
        self.state = TurnState()
        self.policy = TurnPolicy.for_detection(self.config.turn_detection, limits.backchannels)
        self._speech_started_ms = 0
        self.next_user_item_id = self.ids.new("item")
        self.times = TurnTimes()
        self.idle = IdleWatch()
        self._tasks: asyncio.TaskGroup | None = None
        self._response: tuple[ResponseRunner, asyncio.Task[None]] | None = None
        self._cancelling: ResponseRunner | None = None
        self._shutdown = shutdown
        self._draining = False
        self._transcribing = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, transport: RealtimeTransport) -> None:
        self.emit({"type": "session.created", "session": self.render_session()})
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                tasks.create_task(self.outbox.send_loop(transport))
                tasks.create_task(self._read_loop(transport))
                if self._shutdown is not None:
                    tasks.create_task(self._drain_on(self._shutdown))
                await self.outbox.wait_ended(self.limits.max_session_s)
        except BaseExceptionGroup as group:
            raise_session_end(group)
        finally:
            self._tasks = None

    async def _drain_on(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()
        self.drain()

    def drain(self) -> None:
        """The server is shutting down: end the session once the turn in progress is answered."""
        self._draining = True
        self._end_if_drained()

    def _end_if_drained(self) -> None:
        """Once idle while draining: let the send loop deliver what is queued, then end the session."""
        if not self._draining or self._response is not None or self._transcribing or self.outbox.ending:
            return
        self.outbox.finish(ServerShuttingDownError("the server is shutting down", code="server_shutting_down"))

    async def _read_loop(self, transport: RealtimeTransport) -> None:
        while (frame := await transport.receive()) is not None:
            handle_frame(self, frame)
        self.outbox.stop()

    def emit(self, event: JSONObject) -> None:
        """Queue a server event (an `event_id` is added); a full queue ends the session."""
        self.outbox.emit(event)

    def emit_error(self, code: str | None, message: str, param: str | None, client_event_id: str | None) -> None:
        self.emit(error_event(self.ids.new("event"), code, message, param, client_event_id))

    def render_session(self) -> JSONObject:
        return render_session(self.config, self.session_id, self.names.beta)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        assert self._tasks is not None, "the session is not running"
        return self._tasks.create_task(coroutine)

    # --- what client events ask (client_events.SessionControl) -------------------------------

    @property
    def max_append_bytes(self) -> int:
        return self.limits.max_append_bytes

    def update_config(self, config: SessionConfig) -> None:
        self.config = config
        self.policy = TurnPolicy.for_detection(config.turn_detection, self.limits.backchannels)
        self.input.reconfigure(config.input_format, vad_config_of(config.turn_detection))
        self.speculation.configure(config.turn_detection)
        self.emit({"type": "session.updated", "session": self.render_session()})

    def append_audio(self, audio: bytes, event_id: str | None) -> None:
        for speech in self.input.append(audio):
            self._on_speech(speech, event_id)
        spoken_ms = self.input.clock_ms - self._speech_started_ms - self.input.trailing_silence_ms
        if self.state.interruption_pending and self.state.user_speaking and spoken_ms >= MAX_BACKCHANNEL_MS:
            self.turn(InterruptionConfirmed())  # too long for an "mm-hm"
        self.speculation.follow()
        if (stopped := self.speculation.end_of_turn()) is not None:
            self._on_speech(stopped, event_id)
        detection = self.config.turn_detection
        timeout_ms = detection.idle_timeout_ms if detection is not None else None
        if (span := self.idle.expired(self.input.clock_ms, timeout_ms)) is not None:
            self.turn(IdleTimedOut(*span, idle_prompt(self.config, timeout_ms or 0)))

    def commit_audio(self, event_id: str | None) -> None:
        if self.input.buffered_ms < MIN_COMMIT_MS:
            raise ProtocolViolation(
                f"buffer too small: expected at least {MIN_COMMIT_MS} ms of audio, have {self.input.buffered_ms} ms.",
                code="input_audio_buffer_commit_empty", event_id=event_id)
        self.times.speech_stopped_s = self.clock.monotonic_s()
        self.idle.disarm()
        self.turn(BufferCommitted(), event_id)
        self.commit_buffer()

    def clear_audio(self, event_id: str | None) -> None:
        self.input.clear()
        self.speculation.drop()
        self.turn(BufferCleared(), event_id)
        self.emit({"type": "input_audio_buffer.cleared"})

    def create_response(self, request: ResponseCreate, event_id: str | None) -> None:
        if request.out_of_band:
            self._start_out_of_band(request)
        else:
            heard_nothing = request.input_items is None and self.items.ends_unheard()
            self.turn(ResponseRequested(request, heard_nothing), event_id)

    def cancel_response(self, event_id: str | None) -> None:
        self.turn(CancelRequested(), event_id)

    # --- turns -----------------------------------------------------------------------------

    def turn(self, event: TurnEvent, client_event_id: str | None = None) -> None:
        """Feed the turn state machine and carry out its actions."""
        self.state, actions = advance(self.state, event, self.policy)
        for action in actions:
            match action:
                case CommitBuffer():
                    self.commit_buffer()
                case CommitSilence(audio_start_ms=start_ms, audio_end_ms=end_ms):
                    self._commit_silence(start_ms, end_ms)
                case StartResponse(request=request):
                    self._start_response(request)
                case CancelResponse():
                    self._cancel_response()
                case RejectRequest(code=code):
                    self.emit_error(code, _REJECTIONS.get(code, code), None, client_event_id)

    def _on_speech(self, speech: SpeechEvent, event_id: str | None) -> None:
        """Tell the client about a speech start or stop and feed it to the turn state machine."""
        if isinstance(speech, SpeechStarted):
            self.idle.disarm()
            self.times.speech_started_s = self.clock.monotonic_s()
            self._speech_started_ms = self.input.clock_ms
            self.emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": speech.audio_start_ms,
                       "item_id": self.next_user_item_id})
        else:
            self.times.speech_stopped_s = self.clock.monotonic_s()
            self.emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": speech.audio_end_ms,
                       "item_id": self.next_user_item_id})
        self.turn(speech, event_id)

    def _on_finished_turn(self, stopped: SpeechEvent) -> None:
        """semantic_vad: the pause's transcript, ready between appends, sounds finished."""
        if not self.outbox.stopped and self._tasks is not None:
            self._on_speech(stopped, None)

    def _prepare_reply(self, transcript: Transcript) -> None:
        """The pause's transcript is ready before the turn ends: prepare the response it would get."""
        if self._tasks is None or self.outbox.stopped or not self.limits.prepare_replies:
            return
        if worth_preparing(self.state, self.policy, transcript.text):
            history = with_user_turn(self.items.conversation, transcript.text)
            self.prepared.prepare(self._reply_request(self.config, history), speaks=self.config.speaks)

    def commit_buffer(self) -> None:
        """Make the buffered audio a user item and transcribe it in the background."""
        speculation, audio = self.speculation.take(), self.input.take()
        item = self.items.commit_user_audio(self._take_user_item_id(), final=False)
        self._transcribing += 1
        self.spawn(self._transcribe(item, audio, speculation if self.policy.server_vad else None))

    def _commit_silence(self, audio_start_ms: int, audio_end_ms: int) -> None:
        """The idle timeout fired: commit the silence as a user item nobody needs to transcribe."""
        self.idle.disarm()
        item_id = self._take_user_item_id()
        self.emit({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": audio_start_ms,
                   "audio_end_ms": audio_end_ms, "item_id": item_id})
        self.input.clear()
        self.items.commit_user_audio(item_id, final=True)

    def _take_user_item_id(self) -> str:
        item_id, self.next_user_item_id = self.next_user_item_id, self.ids.new("item")
        return item_id

    async def _transcribe(self, item: JSONObject, audio: bytes, speculation: TakenTranscript | None) -> None:
        heard = ""
        try:  # the pause's decode when it read every voiced sample, else a decode now
            transcript, self.times.partial_reused = await final_transcript(self.engines.stt, audio, speculation)
        except Exception as exc:
            log.warning("transcription failed: %s", type(exc).__name__)
            self.items.transcription_failed(item, type(exc).__name__)
        else:
            heard = transcript.text
            self.times.transcript_ready_s = self.clock.monotonic_s()
            self.items.transcribed(item, transcript.text, transcript.duration_s)
        self._transcribing -= 1
        backchannel = self.state.interruption_pending and is_backchannel(heard)
        self.turn(TranscriptReady(heard_nothing=self.items.ends_unheard(), backchannel=backchannel))
        self._end_if_drained()

    # --- responses -------------------------------------------------------------------------

    def _reply_request(self, config: SessionConfig, history: Conversation) -> ReplyRequest:
        return reply_request_for(config, history, default_max_tokens=self.limits.max_output_tokens,
                                 session_id=self.session_id)

    def _new_runner(self, request: ResponseCreate, history: Conversation, items: ItemLog, times: TurnTimes,
                    on_first_audio: Callable[[], None], *, adopt: bool = False) -> ResponseRunner:
        """A response over `history`'s messages, its items added to `items`, on the session's config
        with the request's overrides; with `adopt`, the prepared reply if it asked the same."""
        config = request.applied_to(self.config)
        reply = self._reply_request(config, history)
        ready = self.prepared.adopt(reply, speaks=config.speaks) if adopt else None
        options = ResponseOptions(speaks=config.speaks, output_format=config.output_format, voice=config.voice,
                                  metadata=dict(request.metadata), first_piece_chars=self.limits.first_piece_chars,
                                  prepared=ready is not None)
        context = ResponseContext(self.emit, self.ids, self.names, items, ready.replies if ready else self.replies,
                                  ready.speech if ready else self.engines.tts, self.clock, times, on_first_audio,
                                  self.turn_trace.tracer)
        return ResponseRunner(context, options, reply)

    def _start_response(self, request: ResponseCreate) -> None:
        history = self.items.conversation if request.input_items is None else Conversation.of(request.input_items)
        times, self.times = self.times, TurnTimes()
        times.response_started_s = self.clock.monotonic_s()
        runner = self._new_runner(request, history, self.items, times, lambda: self.turn(FirstAudioSent()),
                                  adopt=True)
        turn_span = self.turn_trace.start(times)
        with use_span(turn_span):  # the response task (route, LLM and TTS spans) runs in the turn's trace
            self._response = (runner, self.spawn(self._run_response(runner, times, turn_span)))

    def _start_out_of_band(self, request: ResponseCreate) -> None:
        """A response outside the conversation and its turn-taking (`conversation: "none"`)."""
        context = request.input_items
        if context is None:
            context = [entry.item for entry in self.items.conversation.items]
        history = Conversation.of(context)  # its own items land here too, never in the session's conversation
        items = ItemLog.private(history, self.emit, self.names, self.ids)
        times = TurnTimes(response_started_s=self.clock.monotonic_s())
        self.spawn(self._new_runner(request, history, items, times, on_first_audio=lambda: None).run())

    async def _run_response(self, runner: ResponseRunner, times: TurnTimes, turn_span: Span) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            if self._cancelling is not runner:
                raise
            runner.finish("cancelled")
        finally:
            if self._response is not None and self._response[0] is runner:
                self._response = None
        metrics = {**runner.metrics_event(times), **self.prepared.wasted()}
        if self._extension_events:
            self.emit(metrics)
        if not self.state.user_speaking:
            self.idle.arm(playback_end_ms(self.input.clock_ms, runner.audio_ms, times.first_audio_s,
                                          self.clock.monotonic_s()))
        if self._on_turn_metrics is not None:
            self._on_turn_metrics(metrics)
        self.turn_trace.finish(turn_span, runner, times)
        self.turn(ResponseCancelled() if runner.status == "cancelled" else ResponseDone())
        self._end_if_drained()

    def _cancel_response(self) -> None:
        if self._response is None:
            return
        runner, task = self._response
        self._cancelling = runner
        task.cancel()


_REJECTIONS = {
    "conversation_already_has_active_response": "A response is already in progress; cancel it first.",
    "response_cancel_not_active": "There is no active response to cancel.",
    "input_audio_without_speech": "The committed audio held no speech (noise or silence), so there is nothing "
                                  "to answer; no response was created.",
}
