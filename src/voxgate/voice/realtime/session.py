"""One realtime voice session: client events in, server events out, over any text transport.

    session = RealtimeSession(engines, replies, limits, beta=False)
    await session.run(transport)   # returns when the client leaves; raises SessionExpiredError or
                                   # SlowClientError when the session must close (the server maps
                                   # those to WebSocket close codes)

Before any `session.update` the session runs on OpenAI's defaults (`SessionConfig()`): PCM16 at
24 kHz, server VAD, audio output; a `session.update` may come at any time and changes what follows.

Tasks (all in one TaskGroup, so nothing outlives the session): the client reader, the sender
(draining a bounded queue: a client that stops reading fills it and the session ends with
SlowClientError instead of buffering without bound), one task per transcription, at most one
response task, and a supervisor that enforces the maximum session length.

The turn state machine (`realtime.turns.advance`) decides; this module carries out its actions.
Client-event handling lives in `realtime.session_events`; `idle_timeout_ms` in `realtime.idle_timeout`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from voxgate.core.clock import Clock, SystemClock
from voxgate.core.errors import ServerShuttingDownError, SessionEndedError, SessionExpiredError, SlowClientError
from voxgate.core.types import JSONObject
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.protocols import Transcript
from voxgate.voice.engines.vad import SpeechEvent, VadConfig
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.end_of_turn import SPECULATE_AFTER_MS as SEMANTIC_SPECULATE_AFTER_MS
from voxgate.voice.realtime.end_of_turn import looks_finished
from voxgate.voice.realtime.idle_timeout import IdleWatch, playback_end_ms
from voxgate.voice.realtime.input_audio import InputAudio
from voxgate.voice.realtime.protocol import EventNames, IdFactory, error_event
from voxgate.voice.realtime.reply import ReplyRequest, ReplySource
from voxgate.voice.realtime.response import ResponseContext, ResponseOptions, ResponseRunner, TurnTimes
from voxgate.voice.realtime.session_config import SessionConfig, TurnDetection, render_session
from voxgate.voice.realtime.session_events import handle_frame, on_speech
from voxgate.voice.realtime.turns import (
    CancelResponse,
    CommitBuffer,
    FirstAudioSent,
    RejectRequest,
    ResponseCancelled,
    ResponseDone,
    StartResponse,
    TranscriptReady,
    TurnEvent,
    TurnPolicy,
    TurnState,
    advance,
)

log = logging.getLogger("voxgate.voice")
_END_OF_EVENTS = "end of events"  # compared by identity: the send loop's last item when draining
SPECULATE_AFTER_MS = 200
_NOT_CONFIG = ("metadata", "input", "conversation")  # response.create fields that are not session config


@dataclass(frozen=True)
class SessionLimits:
    max_session_s: float = 30 * 60.0
    max_append_bytes: int = 15 * 1024 * 1024
    max_buffered_audio_s: float = 600.0
    send_queue_events: int = 2_048
    max_output_tokens: int = 300


class RealtimeTransport(Protocol):
    async def receive(self) -> str | bytes | None:
        """The next client frame; None once the client has gone."""
        ...

    async def send(self, text: str) -> None: ...


def vad_config_of(turn_detection: TurnDetection | None) -> VadConfig | None:
    if turn_detection is None:
        return None
    return VadConfig(threshold=turn_detection.threshold, prefix_padding_ms=turn_detection.prefix_padding_ms,
                     silence_duration_ms=turn_detection.silence_duration_ms)


def policy_of(turn_detection: TurnDetection | None) -> TurnPolicy:
    if turn_detection is None:
        return TurnPolicy(server_vad=False, create_response=False, interrupt_response=False)
    return TurnPolicy(True, turn_detection.create_response, turn_detection.interrupt_response)


def _chat_tools(config: SessionConfig) -> tuple[list[JSONObject], Any]:
    tools = [{"type": "function", "function": {k: v for k, v in t.items() if k in ("name", "description",
                                                                                   "parameters")}}
             for t in config.tools]
    choice = config.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        choice = {"type": "function", "function": {"name": choice["name"]}}
    return tools, choice if tools else None


class RealtimeSession:
    def __init__(self, engines: VoiceEngines, replies: ReplySource, limits: SessionLimits, *, beta: bool,
                 clock: Clock | None = None, on_turn_metrics: Callable[[JSONObject], None] | None = None,
                 extension_events: bool = True, shutdown: asyncio.Event | None = None) -> None:
        self.engines = engines
        self.replies = replies
        self.limits = limits
        self.clock = clock or SystemClock()
        self._on_turn_metrics = on_turn_metrics
        self._extension_events = extension_events  # voxgate.turn.metrics: off for strict schema clients
        self.names = EventNames.for_shape(beta=beta)
        self.ids = IdFactory()
        self.session_id = self.ids.new("sess")
        self.config = SessionConfig()
        self.conversation = Conversation()
        self.input = InputAudio(self.config.input_format, engines.new_vad(), vad_config_of(self.config.turn_detection),
                                max_buffered_s=limits.max_buffered_audio_s)
        self.state = TurnState()
        self.policy = policy_of(self.config.turn_detection)
        self.next_user_item_id = self.ids.new("item")
        self.times = TurnTimes()
        self.idle = IdleWatch()
        self.pending_overrides: JSONObject = {}
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=limits.send_queue_events)
        self._stop = asyncio.Event()
        self._stop_error: SessionEndedError | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._response: tuple[ResponseRunner, asyncio.Task[None]] | None = None
        self._cancelling: ResponseRunner | None = None
        self._speculation: asyncio.Task[Transcript] | None = None
        self._shutdown = shutdown
        self._draining = False
        self._transcribing = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, transport: RealtimeTransport) -> None:
        self.emit({"type": "session.created", "session": self.render_session()})
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                tasks.create_task(self._send_loop(transport))
                tasks.create_task(self._read_loop(transport))
                if self._shutdown is not None:
                    tasks.create_task(self._drain_on(self._shutdown))
                await self._supervise()
        except BaseExceptionGroup as group:
            _raise_session_end(group)
        finally:
            self._tasks = None

    async def _supervise(self) -> None:
        try:
            async with asyncio.timeout(self.limits.max_session_s):
                await self._stop.wait()
        except TimeoutError:
            raise SessionExpiredError(
                f"the session reached its maximum length of {self.limits.max_session_s:g} s",
                code="session_expired") from None
        if self._stop_error is not None:
            raise self._stop_error
        raise _SessionClosed

    async def _drain_on(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()
        self.drain()

    def drain(self) -> None:
        """The server is shutting down: end the session once the turn in progress is answered."""
        self._draining = True
        self._end_if_drained()

    def _end_if_drained(self) -> None:
        """Once idle while draining: let the send loop deliver what is queued, then end the session."""
        if not self._draining or self._response is not None or self._transcribing or self._stop_error is not None:
            return
        self._stop_error = ServerShuttingDownError("the server is shutting down", code="server_shutting_down")
        try:
            self._outbox.put_nowait(_END_OF_EVENTS)
        except asyncio.QueueFull:
            self._stop.set()

    async def _read_loop(self, transport: RealtimeTransport) -> None:
        while (frame := await transport.receive()) is not None:
            handle_frame(self, frame)
        self._stop.set()

    async def _send_loop(self, transport: RealtimeTransport) -> None:
        while (text := await self._outbox.get()) is not _END_OF_EVENTS:
            await transport.send(text)
        self._stop.set()

    def emit(self, event: JSONObject) -> None:
        """Queue a server event (an `event_id` is added); a full queue ends the session."""
        if self._stop.is_set():
            return
        text = json.dumps({"event_id": self.ids.new("event"), **event}, separators=(",", ":"))
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._stop_error = SlowClientError(
                f"the client fell {self.limits.send_queue_events} events behind", code="slow_client")
            self._stop.set()

    def emit_error(self, code: str | None, message: str, param: str | None, client_event_id: str | None) -> None:
        self.emit(error_event(self.ids.new("event"), code, message, param, client_event_id))

    def render_session(self) -> JSONObject:
        return render_session(self.config, self.session_id, self.names.beta)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        assert self._tasks is not None, "the session is not running"
        return self._tasks.create_task(coroutine)

    # --- configuration ---------------------------------------------------------------------

    def configure(self, config: SessionConfig) -> None:
        self.config = config
        self.policy = policy_of(config.turn_detection)
        self.input.reconfigure(config.input_format, vad_config_of(config.turn_detection))
        self.drop_speculation()

    # --- turns -----------------------------------------------------------------------------

    def turn(self, event: TurnEvent, client_event_id: str | None = None) -> None:
        """Feed the turn state machine and carry out its actions."""
        self.state, actions = advance(self.state, event, self.policy)
        for action in actions:
            match action:
                case CommitBuffer():
                    self.commit_buffer()
                case StartResponse() if isinstance(event, TranscriptReady) and self._heard_nothing():
                    self.turn(ResponseDone())  # server VAD fired on noise: no reply to an empty turn
                case StartResponse():
                    self._start_response()
                case CancelResponse():
                    self._cancel_response()
                case RejectRequest(code=code):
                    self.pending_overrides = {}
                    self.emit_error(code, _REJECTIONS.get(code, code), None, client_event_id)

    def speculate(self) -> None:
        """Start transcribing once speech has paused for `SPECULATE_AFTER_MS` (semantic_vad: 100 ms);
        drop it if speech resumes.

        Server VAD waits `silence_duration_ms` (500 ms by default) before it ends a turn; the
        transcript is then usually ready already (a pause that is not the end costs one wasted run).
        With semantic_vad the transcript itself may end the turn (`semantic_end_of_turn`).
        """
        silence_ms = self.input.trailing_silence_ms
        semantic = self.config.turn_detection is not None and self.config.turn_detection.semantic is not None
        speculate_after_ms = SEMANTIC_SPECULATE_AFTER_MS if semantic else SPECULATE_AFTER_MS
        if silence_ms >= speculate_after_ms and self._speculation is None:
            self._speculation = self.spawn(self.engines.stt.transcribe(self.input.peek()))
            if semantic:  # judge the transcript the moment it is ready, not at the next append
                self._speculation.add_done_callback(self._on_speculation_done)
        elif silence_ms == 0:
            self.drop_speculation()

    def _on_speculation_done(self, task: asyncio.Task[Transcript]) -> None:
        if self._stop.is_set() or self._tasks is None or task is not self._speculation:
            return  # dropped, or the session is ending
        if (stopped := self.semantic_end_of_turn()) is not None:
            on_speech(self, stopped, None)

    def semantic_end_of_turn(self) -> SpeechEvent | None:
        """With semantic_vad: end the turn now when the pause's speculative transcript sounds finished."""
        timings = self.config.turn_detection.semantic if self.config.turn_detection else None
        speculation = self._speculation
        if timings is None or speculation is None or not speculation.done() or speculation.cancelled():
            return None
        if speculation.exception() is not None or self.input.trailing_silence_ms < timings.finished_silence_ms:
            return None
        return self.input.end_speech() if looks_finished(speculation.result().text) else None

    def drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.cancel()
            self._speculation = None

    def commit_buffer(self) -> None:
        """Make the buffered audio a user item and transcribe it in the background."""
        speculation, self._speculation = self._speculation, None
        audio = self.input.take()
        item_id, self.next_user_item_id = self.next_user_item_id, self.ids.new("item")
        item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed",
                "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
        previous = self.conversation.last_id()
        self.conversation.add(item)
        self.emit({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        self.emit({"type": self.names.item_created, "previous_item_id": previous, "item": item})
        self._transcribing += 1
        self.spawn(self._transcribe(item, audio, speculation if self.policy.server_vad else None))

    async def _transcribe(self, item: JSONObject, audio: bytes, speculation: asyncio.Task[Transcript] | None) -> None:
        try:
            transcript = await (speculation or self.engines.stt.transcribe(audio))
        except Exception as exc:
            log.warning("transcription failed: %s", type(exc).__name__)
            self.emit({"type": "conversation.item.input_audio_transcription.failed", "item_id": item["id"],
                       "content_index": 0, "error": {"type": "server_error", "code": "transcription_failed",
                                                     "message": type(exc).__name__, "param": None}})
        else:
            item["content"][0]["transcript"] = transcript.text
            self.times.transcript_ready_s = self.clock.monotonic_s()
            self.emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item["id"],
                       "content_index": 0, "transcript": transcript.text,
                       "usage": {"type": "duration", "seconds": round(transcript.duration_s, 3)}})
            if not self.names.beta:
                self.emit({"type": "conversation.item.done", "item": item})
        self._transcribing -= 1
        self.turn(TranscriptReady())
        self._end_if_drained()

    # --- responses -------------------------------------------------------------------------

    def _heard_nothing(self) -> bool:
        items = self.conversation.items
        last = items[-1].item if items else {}
        content = last.get("content") or [{}]
        return last.get("role") == "user" and content[0].get("type") == "input_audio" and not content[0].get(
            "transcript")

    def new_runner(self, overrides: JSONObject, history: Conversation, output: Conversation, times: TurnTimes,
                   on_first_audio: Callable[[], None]) -> ResponseRunner:
        """A response over `history`'s messages, its items added to `output` (only when that is the
        session's conversation do `conversation.item.*` events go out), on the session's config
        with `response.create`'s overrides."""
        config = replace(self.config, **{k: v for k, v in overrides.items() if k not in _NOT_CONFIG})
        tools, tool_choice = _chat_tools(config)
        request = ReplyRequest(
            messages=history.to_messages(config.instructions), tools=tools, tool_choice=tool_choice,
            max_tokens=config.max_output_tokens or self.limits.max_output_tokens, temperature=config.temperature,
            session_id=self.session_id)
        options = ResponseOptions(speaks=config.speaks, output_format=config.output_format, voice=config.voice,
                                  metadata=dict(overrides.get("metadata") or {}),
                                  in_conversation=output is self.conversation)
        context = ResponseContext(self.emit, self.ids, self.names, output, self.replies, self.engines.tts,
                                  self.clock, times, on_first_audio)
        return ResponseRunner(context, options, request)

    def _start_response(self) -> None:
        overrides, self.pending_overrides = self.pending_overrides, {}
        history = Conversation.of(overrides["input"]) if "input" in overrides else self.conversation
        times, self.times = self.times, TurnTimes()
        times.response_started_s = self.clock.monotonic_s()
        runner = self.new_runner(overrides, history, self.conversation, times, lambda: self.turn(FirstAudioSent()))
        self._response = (runner, self.spawn(self._run_response(runner, times)))

    async def _run_response(self, runner: ResponseRunner, times: TurnTimes) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            if self._cancelling is not runner:
                raise
            runner.finish("cancelled")
        finally:
            if self._response is not None and self._response[0] is runner:
                self._response = None
        metrics = self._metrics_event(runner, times)
        if self._extension_events:
            self.emit(metrics)
        if not self.state.user_speaking:
            self.idle.arm(playback_end_ms(self.input.clock_ms, runner.audio_ms, times.first_audio_s,
                                          self.clock.monotonic_s()))
        if self._on_turn_metrics is not None:
            self._on_turn_metrics(metrics)
        self.turn(ResponseCancelled() if runner.status == "cancelled" else ResponseDone())
        self._end_if_drained()

    def _cancel_response(self) -> None:
        if self._response is None:
            return
        runner, task = self._response
        self._cancelling = runner
        task.cancel()

    def _metrics_event(self, runner: ResponseRunner, times: TurnTimes) -> JSONObject:
        start = times.speech_stopped_s or times.response_started_s

        def since(mark: float | None, origin: float | None) -> float | None:
            return None if mark is None or origin is None else round((mark - origin) * 1000, 1)

        latency = {
            "transcription_ms": since(times.transcript_ready_s, times.speech_stopped_s),
            "first_token_ms": since(times.first_token_s, times.transcript_ready_s or times.response_started_s),
            "first_sentence_ms": since(times.first_sentence_s, times.first_token_s),
            "first_audio_ms": since(times.first_audio_s, times.first_token_s),
            "total_ms": since(times.first_audio_s or times.first_token_s, start),
        }
        log.info("voice turn %s status=%s model=%s latency=%s", runner.response_id, runner.status, runner.model,
                 latency)
        return {"type": "voxgate.turn.metrics", "response_id": runner.response_id, "status": runner.status,
                "decision_id": runner.decision_id, "model": runner.model, "latency": latency,
                "audio_ms": round(runner.audio_ms, 1)}


def _raise_session_end(group: BaseExceptionGroup[BaseException]) -> None:
    """Unwrap the task group's exceptions: the client left (return), the session must end, or a bug."""
    rest = group.subgroup(lambda exc: not isinstance(exc, _SessionClosed | BaseExceptionGroup))
    if rest is None:
        return
    ended = [exc for exc in rest.exceptions if isinstance(exc, SessionEndedError)]
    if ended and len(ended) == len(rest.exceptions):
        raise ended[0] from None
    raise rest


class _SessionClosed(Exception):
    """The client went away: end the task group quietly."""


_REJECTIONS = {
    "conversation_already_has_active_response": "A response is already in progress; cancel it first.",
    "response_cancel_not_active": "There is no active response to cancel.",
}
