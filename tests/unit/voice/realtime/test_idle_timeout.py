"""`turn_detection.idle_timeout_ms`: a user silent for that long after a response is prompted again."""

from __future__ import annotations

import pytest

from tests.unit.voice.realtime.realtime_harness import running_session, silence_pcm16, tone_pcm16
from voxgate.voice.realtime.idle_timeout import IdleWatch, playback_end_ms
from voxgate.voice.realtime.reply import ScriptedReplySource

TEXT_ITEM = {"type": "conversation.item.create",
             "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}}


def _idle_update(idle_timeout_ms: int, *, create_response: bool = True) -> dict[str, object]:
    detection = {"type": "server_vad", "idle_timeout_ms": idle_timeout_ms, "create_response": create_response}
    return {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief.",
                                                  "audio": {"input": {"turn_detection": detection}}}}


def test_the_watch_fires_once_the_silence_lasts_the_timeout() -> None:
    watch = IdleWatch()
    assert watch.expired(10_000, 1_000) is None  # not armed: no response has ended
    watch.arm(500)
    assert watch.expired(1_499, 1_000) is None
    assert watch.expired(1_500, 1_000) == (500, 1_500)
    assert watch.expired(9_000, None) is None  # idle_timeout_ms not set
    watch.disarm()
    assert watch.expired(9_000, 1_000) is None


def test_the_timer_starts_when_the_reply_has_finished_playing() -> None:
    # 3 s of reply audio whose first delta went out 1 s ago: 2 s still playing at real-time speed.
    assert playback_end_ms(5_000, 3_000.0, first_audio_s=10.0, now_s=11.0) == 7_000
    assert playback_end_ms(5_000, 3_000.0, first_audio_s=10.0, now_s=20.0) == 5_000  # played already
    assert playback_end_ms(5_000, 0.0, first_audio_s=None, now_s=20.0) == 5_000  # text-only reply


async def test_silence_after_a_reply_commits_an_empty_turn_and_prompts_the_user() -> None:
    replies = ScriptedReplySource(["Hello.", "Are you still there?"])
    async with running_session(replies) as (_, transport):
        transport.push(_idle_update(1_000))
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("voxgate.turn.metrics")
        transport.append_audio(silence_pcm16(1_500))
        triggered = await transport.wait_for("input_audio_buffer.timeout_triggered")
        committed = await transport.wait_for("input_audio_buffer.committed")
        done = await transport.wait_for("response.done", 2)
    [added] = [e for e in transport.of_type("conversation.item.added") if e["item"]["id"] == committed["item_id"]]
    assert triggered["item_id"] == committed["item_id"]
    assert triggered["audio_end_ms"] - triggered["audio_start_ms"] >= 1_000
    assert 0 <= triggered["audio_start_ms"] < 200
    assert triggered["audio_end_ms"] <= 1_200
    assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert done["response"]["status"] == "completed"
    types = transport.types()
    assert types.index("input_audio_buffer.timeout_triggered") < types.index("input_audio_buffer.committed")
    assert "conversation.item.input_audio_transcription.completed" not in types  # nothing was said
    prompt = replies.requests[1].messages[0]
    assert prompt["role"] == "system"
    assert prompt["content"].startswith("Be brief.")
    assert "said nothing for 1 seconds" in prompt["content"]
    assert len(transport.of_type("input_audio_buffer.timeout_triggered")) == 1  # the second reply re-arms it


async def test_speech_stops_the_timer_until_the_next_reply_ends() -> None:
    replies = ScriptedReplySource(["Hello."])
    async with running_session(replies, [""]) as (_, transport):  # the user's turn is noise: no reply
        transport.push(_idle_update(1_000))
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("voxgate.turn.metrics")
        transport.append_audio(tone_pcm16(400) + silence_pcm16(900))
        await transport.wait_for("conversation.item.input_audio_transcription.completed")
        transport.append_audio(silence_pcm16(600))
        await transport.handled()
    assert "input_audio_buffer.timeout_triggered" not in transport.types()
    assert len(replies.requests) == 1


@pytest.mark.parametrize("detection", [{"type": "server_vad"}, {"type": "semantic_vad", "idle_timeout_ms": 500}])
async def test_no_timeout_without_idle_timeout_ms_or_with_semantic_vad(detection: dict[str, object]) -> None:
    replies = ScriptedReplySource(["Hello."])
    async with running_session(replies) as (_, transport):
        transport.push({"type": "session.update", "session": {"audio": {"input": {"turn_detection": detection}}}})
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("voxgate.turn.metrics")
        transport.append_audio(silence_pcm16(1_500))
        await transport.handled()
    assert "input_audio_buffer.timeout_triggered" not in transport.types()


async def test_without_create_response_the_silence_is_committed_but_not_answered() -> None:
    replies = ScriptedReplySource(["Hello."])
    async with running_session(replies) as (_, transport):
        transport.push(_idle_update(500, create_response=False))
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("voxgate.turn.metrics")
        transport.append_audio(silence_pcm16(1_000))
        await transport.wait_for("input_audio_buffer.timeout_triggered")
        await transport.wait_for("input_audio_buffer.committed")
        await transport.handled()
    assert len(transport.of_type("response.created")) == 1
    assert len(replies.requests) == 1
