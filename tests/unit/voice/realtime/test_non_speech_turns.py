"""Words invented from noise never become a user turn or start a response, with server VAD and
in push-to-talk sessions: the session on a guarded fake recogniser that "hears" Whisper's favourites."""

from __future__ import annotations

from tests.unit.voice.realtime.realtime_harness import running_session, silence_pcm16, tone_pcm16
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.protocols import DecodeSignals
from voxgate.voice.engines.speech_guard import GuardedSTT
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.realtime.reply import ScriptedReplySource

DOUBTED = DecodeSignals(no_speech_probability=0.5, average_logprob=-1.5, compression_ratio=0.5)
PUSH_TO_TALK = {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}}
TEXT_ITEM = {"type": "conversation.item.create",
             "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]}}


def _guarded_engines(*invented: str) -> VoiceEngines:
    stt = GuardedSTT(ScriptedSTT(invented, signals=DOUBTED), new_vad=EnergyVAD)
    return VoiceEngines(stt=stt, tts=ToneTTS(tone_ms_per_char=10), new_vad=EnergyVAD)


async def test_a_noise_burst_past_the_vad_is_no_turn_and_gets_no_response() -> None:
    replies = ScriptedReplySource(["Answered the text."])
    engines = _guarded_engines("you", "Thank you.")
    try:
        async with running_session(replies, engines=engines) as (_, transport):
            for burst in range(1, 3):
                transport.append_audio(tone_pcm16(400) + silence_pcm16(900))
                # this burst's own transcript (count): the first one's alone raced the second turn
                await transport.wait_for("conversation.item.input_audio_transcription.completed", count=burst)
            await transport.handled()
            assert "response.created" not in transport.types()
            transport.push(TEXT_ITEM)  # the session still answers what was said
            transport.push({"type": "response.create"})
            await transport.wait_for("response.done")
    finally:
        engines.close()
    transcripts = transport.of_type("conversation.item.input_audio_transcription.completed")
    assert [t["transcript"] for t in transcripts] == ["", ""]
    assert len(transport.of_type("response.created")) == 1
    assert replies.requests[0].messages[-1] == {"role": "user", "content": "Hi there"}
    assert [e for e in transport.of_type("error") if e["error"]["code"] != "item_not_found"] == []  # no refusal:
    # nobody asked for those responses


async def test_push_to_talk_noise_committed_with_a_response_request_is_refused_not_answered() -> None:
    replies = ScriptedReplySource(["Never said."])
    engines = _guarded_engines("Thanks for watching!")
    try:
        async with running_session(replies, engines=engines) as (_, transport):
            transport.push(PUSH_TO_TALK)
            await transport.wait_for("session.updated")
            transport.append_audio(silence_pcm16(600))
            transport.push({"type": "input_audio_buffer.commit"})
            transport.push({"type": "response.create", "event_id": "ask_1"})
            transcript = await transport.wait_for("conversation.item.input_audio_transcription.completed")
            await transport.wait_until(lambda e: e["type"] == "error"
                                       and e["error"]["code"] == "input_audio_without_speech")
            transport.push({"type": "response.create", "event_id": "ask_2"})  # asked again, after the transcript
            await transport.wait_until(lambda e: e["type"] == "error" and e["error"]["event_id"] == "ask_2")
            await transport.handled()
    finally:
        engines.close()
    assert transcript["transcript"] == ""
    refusals = [e["error"] for e in transport.of_type("error") if e["error"]["code"] == "input_audio_without_speech"]
    assert [r["event_id"] for r in refusals] == [None, "ask_2"]
    assert "response.created" not in transport.types()
    assert replies.requests == []
