"""The realtime session end to end on fake engines (EnergyVAD, ScriptedSTT, ToneTTS) and a
scripted reply source: every turn shape the protocol allows, without sockets or models."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from tests.unit.voice.realtime.realtime_harness import FakeTransport, running_session, silence_pcm16, tone_pcm16
from voxgate.core.errors import SessionExpiredError, SlowClientError
from voxgate.voice.audio.codecs import decode_ulaw, encode_ulaw
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

TEXT_ITEM = {"type": "conversation.item.create",
             "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}}


def _audio_bytes(events: list[dict[str, object]]) -> bytes:
    return b"".join(base64.b64decode(str(e["delta"])) for e in events)


async def test_text_input_gets_a_spoken_reply_with_the_ga_event_sequence() -> None:
    replies = ScriptedReplySource(["Hello there. How are you today?"])
    async with running_session(replies) as (_, transport):
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        done = await transport.wait_for("response.done")
        metrics = await transport.wait_for("voxgate.turn.metrics")
    response = done["response"]
    assert response["status"] == "completed"
    assert response["metadata"]["voxgate_decision_id"] == "dec-1"
    assert response["usage"]["output_tokens"] > 0
    assert response["output"][0]["content"][0] == {"type": "output_audio",
                                                   "transcript": "Hello there. How are you today?"}
    types = transport.types()
    for kind in ("conversation.item.added", "response.created", "response.output_item.added",
                 "response.content_part.added", "response.output_audio_transcript.delta",
                 "response.output_audio.delta", "response.output_audio.done",
                 "response.output_audio_transcript.done", "response.content_part.done",
                 "response.output_item.done", "response.done"):
        assert kind in types, kind
    assert types.index("response.created") < types.index("response.output_audio.delta") < types.index(
        "response.done")
    audio = np.frombuffer(_audio_bytes(transport.of_type("response.output_audio.delta")), dtype="<i2")
    assert audio.size > 24_000 * 0.2
    assert np.abs(audio).max() > 1_000
    assert metrics["decision_id"] == "dec-1"
    assert metrics["latency"]["first_audio_ms"] is not None
    assert replies.requests[0].messages == [{"role": "user", "content": "Hi there"}]


async def test_server_vad_turn_commits_transcribes_and_answers() -> None:
    replies = ScriptedReplySource(["Sure."])
    async with running_session(replies, ["what time is it"]) as (_, transport):
        transport.append_audio(silence_pcm16(300) + tone_pcm16(800) + silence_pcm16(900))
        started = await transport.wait_for("input_audio_buffer.speech_started")
        stopped = await transport.wait_for("input_audio_buffer.speech_stopped")
        committed = await transport.wait_for("input_audio_buffer.committed")
        transcript = await transport.wait_for("conversation.item.input_audio_transcription.completed")
        await transport.wait_for("response.done")
    assert started["item_id"] == stopped["item_id"] == committed["item_id"] == transcript["item_id"]
    assert 0 <= started["audio_start_ms"] < 300 < stopped["audio_end_ms"]
    assert transcript["transcript"] == "what time is it"
    assert replies.requests[0].messages[-1] == {"role": "user", "content": "what time is it"}


async def test_speech_during_a_response_cancels_it_at_once() -> None:
    replies = ScriptedReplySource(["One two three four five six seven. " * 20], delay_s=0.01)
    async with running_session(replies, limits=SessionLimits(backchannels=False)) as (session, transport):
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("response.output_audio.delta")
        transport.append_audio(tone_pcm16(300))
        await transport.wait_for("input_audio_buffer.speech_started")
        done = await transport.wait_for("response.done")
        assert isinstance(session.engines.tts, ToneTTS)
    assert done["response"]["status"] == "cancelled"
    assert replies.closed_early == 1


LONG_REPLY = "One two three four five six seven. " * 40


async def _talk_over_the_reply(transport: FakeTransport, pcm16: bytes) -> None:
    """Ask for a (long) reply and speak `pcm16` once its audio has started."""
    transport.push(TEXT_ITEM)
    transport.push({"type": "response.create"})
    await transport.wait_for("response.output_audio.delta")
    transport.append_audio(pcm16)


async def test_a_backchannel_over_the_reply_does_not_cancel_it() -> None:
    replies = ScriptedReplySource([LONG_REPLY], delay_s=0.01)
    async with running_session(replies, ["Mm-hmm."]) as (_, transport):
        await _talk_over_the_reply(transport, tone_pcm16(400) + silence_pcm16(700))
        await transport.wait_for("conversation.item.input_audio_transcription.completed")
        done = await transport.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert replies.closed_early == 0
    assert len(replies.requests) == 1  # an acknowledgement asks for no answer


async def test_speech_longer_than_a_backchannel_interrupts_before_it_ends() -> None:
    replies = ScriptedReplySource([LONG_REPLY, "Ok."], delay_s=0.01)
    async with running_session(replies, ["Wait, tell me about the weather instead."]) as (_, transport):
        await _talk_over_the_reply(transport, tone_pcm16(1_200))
        done = await transport.wait_for("response.done")
        assert "input_audio_buffer.speech_stopped" not in transport.types()  # cancelled while still speaking
    assert done["response"]["status"] == "cancelled"
    assert replies.closed_early == 1


async def test_a_short_interruption_that_is_no_backchannel_cancels_and_is_answered() -> None:
    replies = ScriptedReplySource([LONG_REPLY, "Stopped."], delay_s=0.01)
    async with running_session(replies, ["Stop."]) as (_, transport):
        await _talk_over_the_reply(transport, tone_pcm16(400) + silence_pcm16(700))
        first = await transport.wait_for("response.done")
        second = await transport.wait_for("response.done", 2)
    assert first["response"]["status"] == "cancelled"
    assert second["response"]["status"] == "completed"
    assert replies.requests[1].messages[-1] == {"role": "user", "content": "Stop."}


async def test_truncate_drops_what_the_user_never_heard() -> None:
    replies = ScriptedReplySource(["First sentence here. Second sentence is long and never heard.", "Ok."])
    async with running_session(replies) as (session, transport):
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        done = await transport.wait_for("response.done")
        item_id = done["response"]["output"][0]["id"]
        transport.push({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                        "audio_end_ms": 200})
        truncated = await transport.wait_for("conversation.item.truncated")
        transport.push({"type": "conversation.item.truncate", "item_id": item_id, "audio_end_ms": 99_999,
                        "event_id": "too-far"})
        error = await transport.wait_for("error")
        heard = session.items.conversation.get(item_id).item["content"][0]["transcript"]
    assert truncated["audio_end_ms"] == 200
    assert heard == "First sentence here."
    assert error["error"]["event_id"] == "too-far"
    assert error["error"]["param"] == "audio_end_ms"


async def test_manual_turns_commit_and_respond_on_request() -> None:
    replies = ScriptedReplySource(["Fine."])
    async with running_session(replies, ["manual words"]) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime",
                                                              "audio": {"input": {"turn_detection": None}}}})
        updated = await transport.wait_for("session.updated")
        transport.append_audio(tone_pcm16(500) + silence_pcm16(800))
        transport.push({"type": "input_audio_buffer.commit"})
        await transport.wait_for("conversation.item.input_audio_transcription.completed")
        transport.push({"type": "response.create"})
        await transport.wait_for("response.done")
    assert updated["session"]["audio"]["input"]["turn_detection"] is None
    assert "input_audio_buffer.speech_started" not in transport.types()
    assert replies.requests[0].messages[-1]["content"] == "manual words"


async def test_text_only_output_sends_no_audio() -> None:
    replies = ScriptedReplySource(["Just text."])
    async with running_session(replies) as (_, transport):
        transport.push({"type": "session.update", "session": {"output_modalities": ["text"]}})
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        done = await transport.wait_for("response.done")
    assert "response.output_audio.delta" not in transport.types()
    assert "".join(e["delta"] for e in transport.of_type("response.output_text.delta")) == "Just text."
    assert done["response"]["output"][0]["content"][0] == {"type": "output_text", "text": "Just text."}


async def test_response_cancel_and_clear() -> None:
    replies = ScriptedReplySource(["Long answer. " * 50], delay_s=0.01)
    async with running_session(replies) as (_, transport):
        transport.push({"type": "response.cancel", "event_id": "nothing-to-cancel"})
        rejected = await transport.wait_for("error")
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("response.created")
        transport.push({"type": "response.create", "event_id": "second"})
        busy = await transport.wait_for("error", 2)
        transport.push({"type": "response.cancel"})
        done = await transport.wait_for("response.done")
        transport.push({"type": "input_audio_buffer.clear"})
        await transport.wait_for("input_audio_buffer.cleared")
    assert rejected["error"]["code"] == "response_cancel_not_active"
    assert busy["error"] == {"type": "invalid_request_error", "code": "conversation_already_has_active_response",
                             "message": busy["error"]["message"], "param": None, "event_id": "second"}
    assert done["response"]["status"] == "cancelled"


async def test_function_call_round_trip() -> None:
    replies = ScriptedReplySource([[("get_weather", '{"city": "Paris"}')], "It is sunny in Paris."])
    tools = [{"type": "function", "name": "get_weather", "description": "Weather for a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    async with running_session(replies) as (_, transport):
        transport.push({"type": "session.update", "session": {"tools": tools, "tool_choice": "auto"}})
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        done = await transport.wait_for("response.done")
        arguments = await transport.wait_for("response.function_call_arguments.done")
        call = done["response"]["output"][0]
        transport.push({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "sunny"}'}})
        transport.push({"type": "response.create"})
        await transport.wait_for("response.done", 2)
    assert call["type"] == "function_call"
    assert call["name"] == "get_weather"
    assert arguments["arguments"] == '{"city": "Paris"}'
    assert "".join(e["delta"] for e in transport.of_type("response.function_call_arguments.delta")) == (
        '{"city": "Paris"}')
    assert replies.requests[0].tools[0]["function"]["name"] == "get_weather"
    second = replies.requests[1].messages
    assert second[-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert second[-1] == {"role": "tool", "tool_call_id": call["call_id"], "content": '{"sky": "sunny"}'}


async def test_g711_ulaw_both_ways_with_the_beta_shape() -> None:
    replies = ScriptedReplySource(["Copy that."])
    async with running_session(replies, ["over"], beta=True) as (_, transport):
        transport.push({"type": "session.update", "session": {"input_audio_format": "g711_ulaw",
                                                              "output_audio_format": "g711_ulaw"}})
        updated = await transport.wait_for("session.updated")
        transport.append_audio(encode_ulaw(silence_pcm16(200, 8_000) + tone_pcm16(600, 8_000)
                                           + silence_pcm16(900, 8_000)), chunk_bytes=800)
        await transport.wait_for("response.done")
    assert updated["session"]["input_audio_format"] == "g711_ulaw"
    assert "conversation.item.created" in transport.types()
    deltas = transport.of_type("response.audio.delta")
    assert deltas
    assert "response.audio_transcript.delta" in transport.types()
    pcm = np.frombuffer(decode_ulaw(_audio_bytes(deltas)), dtype="<i2")
    assert np.abs(pcm).max() > 1_000
    assert len(_audio_bytes(deltas)) == pytest.approx(8_000 * 10 * len("Copy that.") / 1000, rel=0.1)


async def test_session_expires_after_its_maximum_length() -> None:
    session = RealtimeSession(
        _engines(), ScriptedReplySource([]), SessionLimits(max_session_s=0.05), beta=False)
    with pytest.raises(SessionExpiredError):
        await session.run(FakeTransport())


async def test_a_client_that_stops_reading_is_dropped() -> None:
    session = RealtimeSession(_engines(), ScriptedReplySource([]), SessionLimits(send_queue_events=4), beta=False)
    transport = FakeTransport(stalled=True)
    for _ in range(6):
        transport.push({"type": "input_audio_buffer.clear"})
    with pytest.raises(SlowClientError):
        async with asyncio.timeout(5):
            await session.run(transport)


def _engines() -> VoiceEngines:
    return VoiceEngines(stt=ScriptedSTT(), tts=ToneTTS(), new_vad=EnergyVAD)


async def test_a_vad_turn_with_an_empty_transcript_gets_no_reply() -> None:
    replies = ScriptedReplySource(["Never said."])
    async with running_session(replies, [""]) as (_, transport):
        transport.append_audio(tone_pcm16(400) + silence_pcm16(900))
        await transport.wait_for("conversation.item.input_audio_transcription.completed")
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("response.done")
    assert len(transport.of_type("response.created")) == 1
    assert len(replies.requests) == 1


async def test_transcription_starts_during_the_silence_and_restarts_if_speech_resumes() -> None:
    replies = ScriptedReplySource(["Ok."])
    async with running_session(replies, ["half a thought", "the whole thought"]) as (session, transport):
        transport.append_audio(tone_pcm16(400) + silence_pcm16(300))
        await transport.handled()  # the speculative transcription of the pause has run
        transport.append_audio(tone_pcm16(400) + silence_pcm16(900))
        transcript = await transport.wait_for("conversation.item.input_audio_transcription.completed")
        await transport.wait_for("response.done")
        stt = session.engines.stt
    assert transcript["transcript"] == "the whole thought"
    assert isinstance(stt, ScriptedSTT)
    assert len(stt.received) == 2  # the pause's speculative run, then the turn's: no third run after commit
    assert len(transport.of_type("input_audio_buffer.committed")) == 1
