"""Replies prepared during the user's pause (`realtime.prepared_reply`): used when the turn commits
with the same transcript and settings, discarded (and counted) otherwise; the client sees the usual
events either way. Fake engines; a reply source whose streams wait at a gate stands for a model
still thinking, so "the first audio came without a new LLM call" is a fact, not a timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

import pytest

from tests.unit.voice.realtime.realtime_harness import FakeTransport, running_session, silence_pcm16, tone_pcm16
from voxgate.voice.engines.testing import ToneTTS
from voxgate.voice.realtime.conversation import Conversation
from voxgate.voice.realtime.prepared_reply import PreparedReplies, with_user_turn
from voxgate.voice.realtime.reply import (
    ReplyEvent,
    ReplyFinished,
    ReplyRequest,
    ReplyRouted,
    ReplyText,
    ScriptedReplySource,
)
from voxgate.voice.realtime.session import SessionLimits

ANSWER = "It is noon. The sun is high and the shadows are short today."


class GatedReplySource:
    """Answers each request with the next text; every stream waits at `gate` before its words."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = list(texts)
        self.gate = asyncio.Event()
        self.requests: list[ReplyRequest] = []
        self.closed_early = 0

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        self.requests.append(request)
        text = self._texts.pop(0) if self._texts else "Okay."
        finished = False
        try:
            yield ReplyRouted(decision_id=f"dec-{len(self.requests)}", model="gated")
            await self.gate.wait()
            for start in range(0, len(text), 8):
                yield ReplyText(text[start : start + 8])
            yield ReplyFinished("gated", prompt_tokens=10, completion_tokens=len(text) // 4 + 1)
            finished = True
        finally:
            if not finished:
                self.closed_early += 1


def _client_visible(types: list[str]) -> list[str]:
    """What a preparation must never show: response events or conversation items."""
    return [t for t in types if t.startswith(("response.", "conversation.item"))]


async def _pause(transport: FakeTransport, speech_ms: int = 400, pause_ms: int = 300) -> None:
    """Speak, then pause long enough for the speculative transcript (not for the turn to end)."""
    transport.append_audio(tone_pcm16(speech_ms) + silence_pcm16(pause_ms))
    await transport.handled()


@pytest.mark.parametrize("answer", [ANSWER, "**It is noon.** The sun is *high* and the shadows are short today."])
async def test_a_matching_turn_speaks_the_prepared_reply_without_a_new_llm_call(answer: str) -> None:
    replies = GatedReplySource([answer])
    async with running_session(replies, ["what time is it"]) as (session, transport):
        await _pause(transport)
        assert len(replies.requests) == 1  # asked during the pause...
        assert replies.requests[0].messages[-1] == {"role": "user", "content": "what time is it"}
        replies.gate.set()
        await transport.handled()
        tts = session.engines.tts
        assert isinstance(tts, ToneTTS)
        assert len(tts.spoken) == 1  # ...and its first clause synthesised, all before the turn ends
        assert _client_visible(transport.types()) == []
        replies.gate = asyncio.Event()  # a new call from here on would never get past its gate
        transport.append_audio(silence_pcm16(700))
        await transport.wait_for("response.output_audio.delta")
        done = await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
        first_clause = tts.spoken[0]
    assert len(replies.requests) == 1
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"][0]["content"][0]["transcript"] == answer
    assert done["response"]["metadata"]["voxgate_decision_id"] == "dec-1"
    assert tts.spoken.count(first_clause) == 1  # the prepared clause, cut and cleaned as the response does
    assert not any("*" in piece for piece in tts.spoken)
    assert len(tts.spoken) > 1  # the rest synthesised after the commit
    assert metrics["prepared"] is True
    assert (metrics["prepared_discarded"], metrics["prepared_wasted_tokens"], metrics["prepared_wasted_tts_s"]) == (
        0, 0, 0.0)


async def _event_types(prepare: bool) -> list[str]:
    replies = ScriptedReplySource([ANSWER, "Two. Three."])
    async with running_session(replies, ["what time is it", "and now"],
                               limits=SessionLimits(prepare_replies=prepare)) as (_, transport):
        for turn in (1, 2):
            await _pause(transport)
            transport.append_audio(silence_pcm16(700))
            await transport.wait_for("voxgate.turn.metrics", turn)
        assert [m["prepared"] for m in transport.of_type("voxgate.turn.metrics")] == [prepare, prepare]
        return transport.types()


def _deltas(types: list[str]) -> dict[str, int]:
    return {kind: types.count(kind) for kind in set(types) if kind.endswith(".delta")}


async def test_the_client_sees_the_same_event_sequence_prepared_or_not() -> None:
    """The same events in the same order; only how a reply's transcript and audio deltas interleave may
    differ (it follows the engines' timing either way: prepared audio is ready sooner)."""
    prepared, unprepared = await _event_types(True), await _event_types(False)
    assert [t for t in prepared if not t.endswith(".delta")] == [t for t in unprepared if not t.endswith(".delta")]
    assert _deltas(prepared) == _deltas(unprepared)
    assert prepared.index("input_audio_buffer.committed") < prepared.index(
        "conversation.item.input_audio_transcription.completed") < prepared.index(
        "response.created") < prepared.index("response.output_audio.delta")


async def test_speech_resuming_discards_the_preparation_and_counts_its_waste() -> None:
    replies = ScriptedReplySource(["Half an answer for half a thought.", ANSWER])
    async with running_session(replies, ["half a thought", "the whole thought"]) as (session, transport):
        await _pause(transport)
        assert len(replies.requests) == 1
        first = session.prepared.pending
        assert first is not None
        assert first.task is not None
        await asyncio.wait([first.task], timeout=5)  # the whole first reply and its first clause's audio
        await _pause(transport)  # speech resumes; its pause is transcribed and prepared again
        transport.append_audio(silence_pcm16(700))  # the turn ends
        done = await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
        tts = session.engines.tts
    assert isinstance(tts, ToneTTS)
    assert [r.messages[-1]["content"] for r in replies.requests] == ["half a thought", "the whole thought"]
    assert done["response"]["output"][0]["content"][0]["transcript"] == ANSWER
    assert metrics["prepared"] is True  # the second pause's preparation answered
    assert metrics["prepared_discarded"] == 1
    assert metrics["prepared_wasted_tokens"] == len("Half an answer for half a thought.") // 4 + 1
    first_wasted_clause_s = len(tts.spoken[0].strip()) * 0.010  # ToneTTS in the harness: 10 ms per character
    assert abs(metrics["prepared_wasted_tts_s"] - first_wasted_clause_s) < 0.01


async def test_a_discarded_preparation_stops_its_upstream_generation() -> None:
    replies = GatedReplySource(["never heard", ANSWER])
    async with running_session(replies, ["half a thought", "the whole thought"]) as (_, transport):
        await _pause(transport)
        assert len(replies.requests) == 1
        transport.append_audio(tone_pcm16(300))  # speech resumes while the model still thinks
        await transport.handled()
        assert replies.closed_early == 1
        replies.gate.set()
        await _pause(transport, speech_ms=0)
        transport.append_audio(silence_pcm16(700))
        await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert (metrics["prepared"], metrics["prepared_discarded"], metrics["prepared_wasted_tokens"]) == (True, 1, 0)


async def test_a_turn_that_asks_something_else_discards_the_preparation() -> None:
    replies = ScriptedReplySource(["Prepared for the wrong question.", ANSWER])
    async with running_session(replies, ["what time is it"]) as (_, transport):
        await _pause(transport)
        assert len(replies.requests) == 1
        transport.push({"type": "conversation.item.create", "item": {  # the conversation changes in the pause
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "in Paris"}]}})
        transport.append_audio(silence_pcm16(700))
        done = await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(replies.requests) == 2
    assert replies.requests[1].messages[-2:] == [{"role": "user", "content": "in Paris"},
                                                {"role": "user", "content": "what time is it"}]
    assert done["response"]["output"][0]["content"][0]["transcript"] == ANSWER
    assert (metrics["prepared"], metrics["prepared_discarded"]) == (False, 1)
    assert metrics["prepared_wasted_tokens"] > 0


async def test_changed_session_settings_discard_the_preparation() -> None:
    replies = ScriptedReplySource(["Prepared under the old instructions.", ANSWER])
    async with running_session(replies, ["what time is it", "what time is it"]) as (_, transport):
        await _pause(transport)
        transport.push({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})
        await transport.wait_for("session.updated")
        await _pause(transport)
        transport.append_audio(silence_pcm16(700))
        await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert [r.messages[0] for r in replies.requests] == [{"role": "user", "content": "what time is it"},
                                                         {"role": "system", "content": "Be brief."}]
    assert (metrics["prepared"], metrics["prepared_discarded"]) == (True, 1)


async def test_nothing_is_prepared_when_the_client_creates_responses_itself() -> None:
    replies = ScriptedReplySource([ANSWER])
    async with running_session(replies, ["what time is it"]) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": {"type": "server_vad", "create_response": False}}}}})
        await transport.wait_for("session.updated")
        await _pause(transport)  # the pause's transcript is ready...
        assert replies.requests == []  # ...but no response would follow by itself
        transport.append_audio(silence_pcm16(700))
        await transport.wait_for("conversation.item.input_audio_transcription.completed")
        transport.push({"type": "response.create", "response": {"instructions": "Answer in French."}})
        await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(replies.requests) == 1
    assert replies.requests[0].messages[0] == {"role": "system", "content": "Answer in French."}
    assert (metrics["prepared"], metrics["prepared_discarded"]) == (False, 0)


async def test_semantic_vad_prepares_while_an_unfinished_turn_waits() -> None:
    replies = GatedReplySource([ANSWER])
    replies.gate.set()
    async with running_session(replies, ["I'd like to book a table for"]) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}}})
        await transport.wait_for("session.updated")
        transport.append_audio(tone_pcm16(400))
        for _ in range(5):
            transport.append_audio(silence_pcm16(100))
            await transport.handled()
        assert len(replies.requests) == 1  # prepared while the turn is still open
        assert _client_visible(transport.types()) == []
        replies.gate = asyncio.Event()
        for _ in range(20):  # high eagerness waits up to 2 s for a trailing-off turn
            transport.append_audio(silence_pcm16(100))
        await transport.wait_for("response.output_audio.delta")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    assert len(replies.requests) == 1
    assert metrics["prepared"] is True


async def test_a_session_closing_mid_preparation_cancels_it() -> None:
    replies = GatedReplySource([ANSWER])
    async with running_session(replies, ["what time is it"]) as (_, transport):
        await _pause(transport)
        assert len(replies.requests) == 1
    assert replies.closed_early == 1  # the leaked-task check (conftest) covers the rest


async def test_adopting_needs_the_same_request_and_modality() -> None:
    replies = ScriptedReplySource(["One.", "Two.", "Three."])
    tasks: list[asyncio.Task[None]] = []

    def spawn(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        tasks.append(asyncio.create_task(coroutine))
        return tasks[-1]

    prepared = PreparedReplies(replies, ToneTTS(), spawn, first_piece_chars=24)

    def request(transcript: str) -> ReplyRequest:
        messages = with_user_turn(Conversation(), transcript).to_messages("")
        return ReplyRequest(messages, [], None, 300, None, "sess_1")

    prepared.prepare(request("what time is it"), speaks=True)
    assert prepared.adopt(request("what time is it now"), speaks=True) is None  # the final transcript differs
    prepared.prepare(request("what time is it"), speaks=True)
    assert prepared.adopt(request("what time is it"), speaks=False) is None  # text only now
    prepared.prepare(request("what time is it"), speaks=True)
    assert prepared.adopt(request("what time is it"), speaks=True) is not None
    assert prepared.pending is None
    assert prepared.wasted()["prepared_discarded"] == 2
    assert prepared.wasted()["prepared_discarded"] == 0  # counted once, for one turn's metrics
    await asyncio.gather(*tasks, return_exceptions=True)
