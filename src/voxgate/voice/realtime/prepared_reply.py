"""Replies prepared during the user's pause, before the turn ends (`voice.prepare_replies`).

    prepared = PreparedReplies(replies, tts, spawn, first_piece_chars=24)
    prepared.prepare(request, speaks=True)     # the pause's transcript is ready: route, stream, speak the first clause
    prepared.discard()                         # speech resumed, the buffer was cleared, the config changed
    reply = prepared.adopt(request, speaks)    # the real response: the prepared reply if it asked the same
    # the response's ReplySource and TTS: reply.replies, reply.speech (None: answer as usual)
    prepared.wasted()                          # what discarded preparations wasted since the last turn

The speculative transcript (`speculation.Speculation`) is ready while the user is still silent; the
session then asks for the reply the turn would get (the conversation plus this user turn, under the
session's config) and synthesises its first clause, buffering everything and sending nothing. When
the turn commits, the real response compares what it would ask with what was prepared: the same
request (same transcript, conversation, instructions, tools, limits) and output modality take the
prepared stream, which the response replays in its usual event order, so its first audio goes out at
once; anything else discards it. A discarded preparation is cancelled (the reply source's stream is
closed, which stops the upstream generation) and counted: its streamed tokens and synthesised seconds.

Every task runs in the session's task group (`spawn`); the preparation never raises into it: a failure
marks it unusable and the real response asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, Generic, TypeVar

from voxgate.core.types import JSONObject
from voxgate.voice.audio.codecs import pcm16_seconds
from voxgate.voice.engines.engine_view import EngineView
from voxgate.voice.engines.protocols import TextToSpeech
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.reply import (
    ReplyEvent,
    ReplyFinished,
    ReplyRequest,
    ReplySource,
    ReplyText,
    ReplyToolCall,
)
from voxgate.voice.realtime.spoken_text import SpokenPieces
from voxgate.voice.realtime.turns import TurnPolicy, TurnState

log = logging.getLogger("voxgate.voice")
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
T = TypeVar("T")


def worth_preparing(state: TurnState, policy: TurnPolicy, text: str) -> bool:
    """The pause's transcript would get an automatic response as things stand: VAD turns that create
    responses, the floor free and nothing owed, and words to answer."""
    return (policy.server_vad and policy.create_response and not state.response_active
            and not state.response_wanted and state.pending_transcripts == 0 and bool(text.strip()))


def with_user_turn(conversation: Conversation, transcript: str) -> Conversation:
    """A copy of `conversation` ending with the user audio item the commit would add, transcribed."""
    user_item: JSONObject = {"type": "message", "role": "user",
                             "content": [{"type": "input_audio", "transcript": transcript}]}
    return Conversation.of([entry.item for entry in conversation.items] + [user_item])


class _Buffer(Generic[T]):
    """Pieces kept as they arrive, for one reader that may start late and then follows live."""

    def __init__(self) -> None:
        self.pieces: list[T] = []
        self.done = False
        self.error: BaseException | None = None
        self._more = asyncio.Event()

    def put(self, piece: T) -> None:
        self.pieces.append(piece)
        self._more.set()

    def close(self, error: BaseException | None = None) -> None:
        self.done, self.error = True, error
        self._more.set()

    async def follow(self) -> AsyncGenerator[T, None]:
        index = 0
        while True:
            while index < len(self.pieces):
                index += 1
                yield self.pieces[index - 1]
            if self.done:
                if self.error is not None:
                    raise self.error
                return
            self._more.clear()
            await self._more.wait()


class PreparedReply:
    """One reply being prepared: the reply stream and the first clause's audio, buffered."""

    def __init__(self, request: ReplyRequest, speaks: bool, replies: ReplySource, tts: TextToSpeech,
                 first_piece_chars: int) -> None:
        self.request = request
        self.speaks = speaks
        self._replies = replies
        self._tts = tts
        self._first_piece_chars = first_piece_chars
        self.events: _Buffer[ReplyEvent] = _Buffer()
        self.audio: _Buffer[bytes] = _Buffer()
        self.first_sentence: str | None = None
        self._first_known = asyncio.Event()
        self.streamed_pieces = 0  # text and tool-call pieces: about one token each
        self.completion_tokens: int | None = None
        self.task: asyncio.Task[None] | None = None
        self.replies = _PreparedReplySource(self)
        self.speech = _PreparedSpeech(self, tts)

    @property
    def failed(self) -> bool:
        return self.events.error is not None or self.audio.error is not None

    @property
    def tokens(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else self.streamed_pieces

    @property
    def audio_s(self) -> float:
        return pcm16_seconds(sum(len(pcm) for pcm in self.audio.pieces), self._tts.sample_rate_hz)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            if self.speaks:
                tasks.create_task(self._speak_first())
            await self._read()

    async def _read(self) -> None:
        spoken = SpokenPieces(self._first_piece_chars, self.request.callable_names())  # as the response cuts it
        error: Exception | None = None
        try:
            stream = self._replies.stream_reply(self.request)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    self.events.put(event)
                    if isinstance(event, ReplyText | ReplyToolCall):
                        self.streamed_pieces += 1
                    if isinstance(event, ReplyToolCall):
                        spoken.tool_called()
                    if isinstance(event, ReplyFinished):
                        self.completion_tokens = event.completion_tokens
                    if self.speaks and self.first_sentence is None and isinstance(event, ReplyText) and event.delta:
                        self._learn_first(spoken.push(event.delta))
            if self.speaks and self.first_sentence is None:
                self._learn_first(spoken.flush())
        except Exception as exc:  # a failed preparation is not used: the response asks again
            log.info("prepared reply failed: %s", type(exc).__name__)
            error = exc
        finally:
            self._first_known.set()
        self.events.close(error)

    def _learn_first(self, sentences: list[str]) -> None:
        if sentences:
            self.first_sentence = sentences[0]
            self._first_known.set()

    async def _speak_first(self) -> None:
        await self._first_known.wait()
        if self.first_sentence is None:
            self.audio.close()
            return
        error: Exception | None = None
        try:
            stream = self._tts.synthesize(self.first_sentence)
            async with contextlib.aclosing(stream):
                async for pcm in stream:
                    self.audio.put(pcm)
        except Exception as exc:
            log.info("prepared speech failed: %s", type(exc).__name__)
            error = exc
        self.audio.close(error)


class _PreparedReplySource:
    """The prepared stream as the response's ReplySource: what was buffered, then live. Closing it
    early (barge-in, response.cancel) cancels the preparation, which stops the upstream generation."""

    def __init__(self, prepared: PreparedReply) -> None:
        self._prepared = prepared

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        finished = False
        try:
            async with contextlib.aclosing(self._prepared.events.follow()) as events:
                async for event in events:
                    yield event
            finished = True
        finally:
            if not finished:
                self._prepared.cancel()


class _PreparedSpeech(EngineView[TextToSpeech]):
    """The TTS engine with the prepared first clause: its audio from the buffer, the rest synthesised."""

    def __init__(self, prepared: PreparedReply, tts: TextToSpeech) -> None:
        super().__init__(tts)
        self._prepared = prepared
        self._used = False

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        if not self._used and text == self._prepared.first_sentence:
            self._used = True
            async with contextlib.aclosing(self._prepared.audio.follow()) as audio:
                async for pcm in audio:
                    yield pcm
            return
        stream = self.inner.synthesize(text)
        async with contextlib.aclosing(stream):
            async for pcm in stream:
                yield pcm


class PreparedReplies:
    """The session's preparation: at most one reply prepared, and what discarded ones wasted since the
    last turn's metrics."""

    def __init__(self, replies: ReplySource, tts: TextToSpeech, spawn: Spawn, *, first_piece_chars: int) -> None:
        self._replies = replies
        self._tts = tts
        self._spawn = spawn
        self._first_piece_chars = first_piece_chars
        self._pending: PreparedReply | None = None
        self._discarded = 0
        self._wasted_tokens = 0
        self._wasted_audio_s = 0.0

    @property
    def pending(self) -> PreparedReply | None:
        return self._pending

    def prepare(self, request: ReplyRequest, *, speaks: bool) -> None:
        """Start preparing the reply to `request` (a previous preparation is discarded)."""
        self.discard()
        prepared = PreparedReply(request, speaks, self._replies, self._tts, self._first_piece_chars)
        prepared.task = self._spawn(prepared.run())
        self._pending = prepared

    def discard(self) -> None:
        """Cancel the pending preparation and count what it wasted."""
        prepared, self._pending = self._pending, None
        if prepared is None:
            return
        prepared.cancel()
        self._discarded += 1
        self._wasted_tokens += prepared.tokens
        self._wasted_audio_s += prepared.audio_s

    def adopt(self, request: ReplyRequest, *, speaks: bool) -> PreparedReply | None:
        """The pending preparation if it asked exactly `request` with the same output modality and has
        not failed; otherwise None, and the pending one is discarded."""
        prepared = self._pending
        if prepared is not None and prepared.request == request and prepared.speaks == speaks and not prepared.failed:
            self._pending = None
            return prepared
        self.discard()
        return None

    def wasted(self) -> JSONObject:
        """The turn metrics' fields: what discarded preparations wasted since the last turn's metrics."""
        fields: JSONObject = {"prepared_discarded": self._discarded,
                              "prepared_wasted_tokens": self._wasted_tokens,
                              "prepared_wasted_tts_s": round(self._wasted_audio_s, 3)}
        self._discarded, self._wasted_tokens, self._wasted_audio_s = 0, 0, 0.0
        return fields
