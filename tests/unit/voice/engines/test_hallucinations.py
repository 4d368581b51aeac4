"""The rules that tell words invented from non-speech from words someone said (`hallucinations`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.voice.engines.hallucinations import (
    KNOWN_HALLUCINATIONS,
    MIN_VOICED_S,
    SpeechShare,
    hallucination_reasons,
    is_known_hallucination,
    normalize_phrase,
)
from voxgate.voice.engines.protocols import DecodeSignals

CONFIDENT = DecodeSignals(no_speech_probability=0.05, average_logprob=-0.3, compression_ratio=0.6)
UNSURE = DecodeSignals(no_speech_probability=0.55, average_logprob=-1.9, compression_ratio=0.8)
SPOKEN = SpeechShare(voiced_s=0.5, duration_s=1.3)  # a short word with the session's padding
QUIET = SpeechShare(voiced_s=0.0, duration_s=2.0)


@pytest.mark.parametrize("text", ["you", "Thank you.", "Thanks for watching!", "Bye.", "You. You.",
                                  "Subtitles by the Amara.org community", "Transcribed by ESO, translated by —"])
def test_known_hallucinations_are_recognised(text: str) -> None:
    assert is_known_hallucination(text)


@pytest.mark.parametrize("text", ["Thank you for the help.", "You said six.", "Bye for now, Anna.", "Subscribe me."])
def test_sentences_that_merely_contain_those_words_are_not(text: str) -> None:
    assert not is_known_hallucination(text)


def test_every_listed_phrase_is_stored_normalised() -> None:
    assert all(normalize_phrase(phrase) == phrase for phrase in KNOWN_HALLUCINATIONS)


@pytest.mark.parametrize("text", ["you", "Thank you.", "Bye.", "Okay.", "Thanks for watching!"])
def test_a_clearly_spoken_short_phrase_survives(text: str) -> None:
    assert hallucination_reasons(text, CONFIDENT, SPOKEN) == ()


@pytest.mark.parametrize("text", ["you", "Thank you.", "Bye.", "Thanks for watching!"])
def test_a_known_phrase_over_audio_without_speech_is_withheld_however_sure_whisper_is(text: str) -> None:
    assert "vad_heard_nothing" in hallucination_reasons(text, CONFIDENT, QUIET)


def test_a_known_phrase_whisper_doubts_is_withheld_even_when_the_vad_fired() -> None:
    assert hallucination_reasons("you", UNSURE, SPOKEN) == ("known_phrase",)


@pytest.mark.parametrize("text", [".", "...", "?!", " - "])
def test_lone_punctuation_is_no_words(text: str) -> None:
    assert "no_words" in hallucination_reasons(text, CONFIDENT, SPOKEN)


def test_whisper_s_own_no_speech_test_applies() -> None:
    signals = DecodeSignals(no_speech_probability=0.7, average_logprob=-1.3, compression_ratio=0.8)
    assert "whisper_no_speech" in hallucination_reasons("I'm not sure if I can get the right one.", signals, SPOKEN)


def test_an_unsure_sentence_over_audio_without_speech_is_withheld() -> None:
    reasons = hallucination_reasons("I'm not sure if I can get the right one.", UNSURE, QUIET)
    assert "vad_heard_nothing" in reasons


def test_a_looping_decode_over_audio_without_speech_is_withheld() -> None:
    looping = DecodeSignals(no_speech_probability=0.1, average_logprob=-0.3, compression_ratio=3.1)
    assert hallucination_reasons("Beep Beep Beep Beep Beep Beep Beep", looping, QUIET) == ("vad_heard_nothing",)


def test_a_confident_sentence_the_vad_missed_survives() -> None:
    assert hallucination_reasons("Turn the lights off in the kitchen.", CONFIDENT, QUIET) == ()


def test_without_signals_the_vad_decides_and_without_a_vad_the_signals_do() -> None:
    assert hallucination_reasons("what time is it", None, QUIET) == ("vad_heard_nothing",)
    assert hallucination_reasons("what time is it", None, SPOKEN) == ()
    assert hallucination_reasons("you", UNSURE, None) == ("known_phrase",)
    assert hallucination_reasons("what time is it", None, None) == ()


def test_an_empty_transcript_needs_no_reason() -> None:
    assert hallucination_reasons("", UNSURE, QUIET) == ()


confident_signals = st.builds(DecodeSignals, st.floats(0.0, 0.2), st.floats(-0.7, 0.0), st.floats(0.0, 2.4))
heard_speech = st.builds(SpeechShare, st.floats(MIN_VOICED_S, 30.0), st.just(30.0))


@given(text=st.text(min_size=1), signals=confident_signals, speech=heard_speech)
def test_a_confident_decode_of_audio_with_speech_is_never_withheld_unless_it_has_no_words(
    text: str, signals: DecodeSignals, speech: SpeechShare
) -> None:
    assert set(hallucination_reasons(text, signals, speech)) <= {"no_words"}


@given(text=st.text(min_size=1), signals=st.builds(DecodeSignals, st.floats(0.0, 1.0), st.floats(-10.0, 0.0),
                                                   st.floats(0.0, 10.0)),
       voiced_s=st.floats(0.0, 30.0))
def test_less_speech_never_brings_withheld_words_back(text: str, signals: DecodeSignals, voiced_s: float) -> None:
    louder = hallucination_reasons(text, signals, SpeechShare(voiced_s, 30.0))
    quieter = hallucination_reasons(text, signals, SpeechShare(voiced_s / 2, 30.0))
    assert set(louder) <= set(quieter)
