"""The short-window guards of `voice.engines.whisper_window`: padding, token cap, loop and silence tests."""

from __future__ import annotations

import numpy as np

from voxgate.voice.engines.whisper_window import (
    FULL_WINDOW_FRAMES,
    MIN_WINDOW_FRAMES,
    PAD_FRAMES,
    compression_ratio,
    fits_utterance_window,
    is_no_speech,
    is_one_phrase_repeated,
    is_said_repeat,
    looks_degenerate,
    pad_features,
    token_cap,
)


def test_features_are_padded_with_silence_and_keep_the_speech() -> None:
    features = np.ones((80, 900), dtype=np.float32)
    padded = pad_features(features)
    assert padded.shape == (1, 80, 900 + PAD_FRAMES)
    assert np.all(padded[0, :, :900] == 1.0)
    assert np.all(padded[0, :, 900:] == 0.0)


def test_a_short_turn_gets_the_minimum_window() -> None:
    padded = pad_features(np.ones((80, 60), dtype=np.float32))
    assert padded.shape == (1, 80, MIN_WINDOW_FRAMES)
    assert np.all(padded[0, :, 60:] == 0.0)


def test_padding_never_goes_past_whisper_s_30_s_window() -> None:
    padded = pad_features(np.ones((80, 2_900), dtype=np.float32))
    assert padded.shape == (1, 80, FULL_WINDOW_FRAMES)
    assert np.all(padded[0, :, :2_900] == 1.0)


def test_only_turns_that_fit_with_their_padding_use_the_short_window() -> None:
    assert fits_utterance_window(16_000 * 27, 16_000)
    assert not fits_utterance_window(16_000 * 27 + 1, 16_000)
    assert not fits_utterance_window(16_000 * 60, 16_000)


def test_token_cap_grows_with_the_turn() -> None:
    assert token_cap(0.0) == 12
    assert token_cap(3.0) == 36
    assert token_cap(10.0) > token_cap(5.0)


def test_a_looping_transcript_is_not_trusted() -> None:
    sentence = "Unless to be rather cold-hearted and rather selfish is to be ill-disposed,"
    assert compression_ratio(sentence) < 2.4
    assert not looks_degenerate(sentence, tokens=20, cap=60, duration_s=4.0)
    assert looks_degenerate(" ".join([sentence] * 6), tokens=50, cap=60, duration_s=4.0)


def test_one_phrase_said_over_and_over_is_a_loop() -> None:
    assert is_one_phrase_repeated("Yes. Yes.")
    assert is_one_phrase_repeated("What time is it? What time is it? What")
    assert not is_one_phrase_repeated("Yes.")
    assert not is_one_phrase_repeated("")
    assert not is_one_phrase_repeated("He was not an ill-disposed young man.")
    assert not is_one_phrase_repeated("no no I said the other one")
    assert looks_degenerate("What time is it? What time is it? What", tokens=12, cap=22, duration_s=1.2)
    assert looks_degenerate("Yes. Yes.", tokens=4, cap=20, duration_s=0.5)  # faster than anyone speaks


def test_a_short_repeat_at_speaking_pace_is_what_was_said() -> None:
    # issue 14: a 1.5 s "five five" fell back to the 30 s window (1.9 s of STT)
    for text, duration_s in [("Five five.", 1.5), ("No, no, no.", 1.2), ("Thank you. Thank you.", 1.6)]:
        assert is_one_phrase_repeated(text)
        assert is_said_repeat(text, duration_s)
        assert not looks_degenerate(text, tokens=6, cap=24, duration_s=duration_s)
    assert not is_said_repeat("no no no no no", 10.0)  # longer than a said repeat: a loop
    assert not is_said_repeat("no no no", 0.6)  # faster than speech
    assert looks_degenerate("Five five.", tokens=24, cap=24, duration_s=1.5)  # the token cap still holds


def test_hitting_the_token_cap_is_not_trusted() -> None:
    assert looks_degenerate("a perfectly normal sentence", tokens=36, cap=36, duration_s=3.0)


def test_no_speech_needs_both_a_silence_probability_and_low_confidence() -> None:
    assert is_no_speech(0.9, cumulative_logprob=-3.0, tokens=1)  # "You" out of silence
    assert not is_no_speech(0.9, cumulative_logprob=-0.5, tokens=4)  # confident words
    assert not is_no_speech(0.2, cumulative_logprob=-9.0, tokens=1)  # unsure, but speech is likely
    assert compression_ratio("") == 0.0
