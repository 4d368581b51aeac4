"""semantic_vad: finished-sounding turns end after a short pause, a short unpunctuated one ("Stop") after
the hesitant pause, trailing-off ones wait for the eagerness's longest pause; the pure judgement, the
timings and the session behaviour."""

from __future__ import annotations

import pytest

from tests.unit.voice.realtime.realtime_harness import running_session, silence_pcm16, tone_pcm16
from voxgate.core.errors import InvalidRequestError
from voxgate.voice.engines.testing import FixedEndOfTurn
from voxgate.voice.realtime.end_of_turn import SemanticTimings, TextVerdict, judge_text, looks_finished, turn_is_over
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session_config import SessionConfig, apply_session_update


@pytest.mark.parametrize("text", ["What time is it?", "Turn off the lights.", "Yes!", "Book it for 7 pm.",
                                  "Where are you from?", "Thank you.", "I think so.", "See you then.",
                                  "Had he married a more amiable woman he might have been more than he was?"])
def test_punctuated_complete_sentences_look_finished(text: str) -> None:
    assert looks_finished(text)


@pytest.mark.parametrize(
    "text", ["", "I'd like to book a table for", "I want to go to the...", "So, um.", "Call my sister and.",
             "the weather in", "Well,", "Let me think -", "Put it in the.", "I'd like a"])
def test_trailing_off_does_not_look_finished(text: str) -> None:
    assert not looks_finished(text)
    assert judge_text(text) is TextVerdict.TRAILING  # waits for the eagerness's longest pause


@pytest.mark.parametrize("text", ["Stop", "Bye-bye", "yes", "Thank you", "  Okay  "])
def test_one_or_two_words_without_punctuation_are_unsure(text: str) -> None:
    # Whisper base leaves some short commands open: "Stop." came back "Stop", "Call mom." "Come on" (2026-12-06 bench)
    assert judge_text(text) is TextVerdict.UNSURE


@pytest.mark.parametrize("text", ["Can you please", "What is the weather going to be", "the"])
def test_longer_unpunctuated_text_or_a_continuation_word_still_trails_off(text: str) -> None:
    assert judge_text(text) is TextVerdict.TRAILING


def test_eagerness_sets_the_pauses() -> None:
    high, medium, low = (SemanticTimings.for_eagerness(e) for e in ("high", "medium", "low"))
    assert SemanticTimings.for_eagerness("auto") == medium
    assert (high.max_silence_ms, medium.max_silence_ms, low.max_silence_ms) == (2_000, 4_000, 8_000)  # OpenAI's
    assert high.finished_silence_ms < medium.finished_silence_ms < low.finished_silence_ms
    with pytest.raises(ValueError, match="eagerness"):
        SemanticTimings.for_eagerness("eager")


def _semantic(eagerness: str) -> SessionConfig:
    return apply_session_update(SessionConfig(), {"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "semantic_vad", "eagerness": eagerness, "silence_duration_ms": 100}}}})


def test_semantic_vad_waits_the_eagerness_s_longest_pause_and_renders_it() -> None:
    detection = _semantic("low").turn_detection
    assert detection is not None
    assert detection.silence_duration_ms == 8_000  # a client's silence_duration_ms does not apply
    assert detection.as_json()["eagerness"] == "low"
    with pytest.raises(InvalidRequestError, match="eagerness"):
        _semantic("sometimes")


async def _stop_ms(transcript: str, pause_ms: int, turn_model: FixedEndOfTurn | None = None) -> int | None:
    """Speak 400 ms, pause `pause_ms` in 100 ms steps; when the turn ended, at which audio ms."""
    async with running_session(ScriptedReplySource(["OK."]), [transcript], turn_model=turn_model) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": {"type": "semantic_vad", "eagerness": "auto"}}}}})
        transport.append_audio(tone_pcm16(400))
        for _ in range(pause_ms // 100):
            transport.append_audio(silence_pcm16(100))
            await transport.handled()  # the speculative transcription of the pause runs before more audio
        stopped = transport.of_type("input_audio_buffer.speech_stopped")
        return int(stopped[0]["audio_end_ms"]) if stopped else None


async def test_a_finished_sentence_ends_the_turn_after_a_short_pause() -> None:
    stop_ms = await _stop_ms("What time is it?", pause_ms=1_000)
    assert stop_ms is not None
    assert stop_ms <= 400 + 600  # spoke 400 ms; ended within the first 600 ms of the pause, not at 4 s


async def test_a_one_word_command_without_punctuation_ends_after_the_hesitant_pause() -> None:
    assert await _stop_ms("Stop", pause_ms=800) is None  # not at the 300 ms of a finished sentence
    stop_ms = await _stop_ms("Stop", pause_ms=2_000)
    assert stop_ms is not None
    assert 400 + 1_000 <= stop_ms <= 400 + 1_200  # medium's hesitant 1 s, not its longest 4 s


async def test_a_trailing_off_turn_waits_for_the_longest_pause() -> None:
    assert await _stop_ms("I'd like to book a table for", pause_ms=3_000) is None
    stop_ms = await _stop_ms("I'd like to book a table for", pause_ms=4_500)
    assert stop_ms is not None
    assert stop_ms >= 400 + 4_000


async def test_the_turn_ends_when_the_transcript_is_ready_even_without_more_audio() -> None:
    async with running_session(ScriptedReplySource(["OK."]), ["What time is it?"]) as (_, transport):
        transport.push({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}}})
        transport.append_audio(tone_pcm16(400) + silence_pcm16(300))  # then the client sends nothing
        stopped = await transport.wait_for("input_audio_buffer.speech_stopped")
        await transport.wait_for("response.done")
    # judged when the transcript was ready, at the ~300 ms of pause received (the VAD counts whole frames)
    assert 600 <= stopped["audio_end_ms"] <= 700


MEDIUM = SemanticTimings.for_eagerness("medium")


FINISHED, UNSURE, TRAILING = TextVerdict.FINISHED, TextVerdict.UNSURE, TextVerdict.TRAILING


@pytest.mark.parametrize(("silence_ms", "text", "sound", "over"), [
    (200, None, 0.9, True),         # sounds finished for sure: 200 ms, before the transcript is ready
    (150, None, 0.9, False),
    (200, TRAILING, 0.9, False),    # ... unless the words trail off ("book a table for")
    (200, UNSURE, 0.9, True),       # "Stop" that sounds finished for sure
    (200, FINISHED, 0.6, False),    # finished words, a sound that only leans finished: the text's 300 ms
    (300, FINISHED, 0.6, True),
    (300, FINISHED, None, True),    # no audio model: semantic_vad as before
    (300, None, None, False),
    (300, FINISHED, 0.1, False),    # finished words, unfinished sound: wait longer (a mid-sentence pause)
    (1_000, FINISHED, 0.1, True),
    (900, UNSURE, None, False),     # "Stop": the hesitant pause, with or without an audio model
    (1_000, UNSURE, None, True),
    (1_000, UNSURE, 0.6, True),
    (3_000, TRAILING, 0.1, False),  # trailing off: only the VAD's longest pause ends it
    (3_000, TRAILING, None, False),
])
def test_the_audio_model_and_the_text_check_combined(silence_ms: int, text: TextVerdict | None,
                                                      sound: float | None, over: bool) -> None:
    assert turn_is_over(silence_ms, text, sound, MEDIUM) is over


async def test_a_turn_that_sounds_finished_ends_sooner() -> None:
    model = FixedEndOfTurn(0.95)
    stop_ms = await _stop_ms("What time is it?", pause_ms=1_000, turn_model=model)
    assert stop_ms is not None
    assert stop_ms <= 400 + 400  # within 400 ms of the pause (the text alone: 600)
    assert model.calls  # the model heard the turn


async def test_finished_words_that_sound_unfinished_wait_past_a_mid_sentence_pause() -> None:
    model = FixedEndOfTurn(0.05)
    assert await _stop_ms("I'd like to book a table.", pause_ms=800, turn_model=model) is None
    stop_ms = await _stop_ms("I'd like to book a table.", pause_ms=1_600, turn_model=model)
    assert stop_ms is not None
    assert stop_ms >= 400 + 1_000
