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
    assert not looks_degenerate(sentence, tokens=20, cap=60)
    assert looks_degenerate(" ".join([sentence] * 6), tokens=50, cap=60)


def test_one_phrase_said_over_and_over_is_a_loop() -> None:
    assert is_one_phrase_repeated("Yes. Yes.")
    assert is_one_phrase_repeated("What time is it? What time is it? What")
    assert not is_one_phrase_repeated("Yes.")
    assert not is_one_phrase_repeated("")
    assert not is_one_phrase_repeated("He was not an ill-disposed young man.")
    assert not is_one_phrase_repeated("no no I said the other one")
    assert looks_degenerate("Yes. Yes.", tokens=4, cap=20)


def test_hitting_the_token_cap_is_not_trusted() -> None:
    assert looks_degenerate("a perfectly normal sentence", tokens=36, cap=36)


def test_no_speech_needs_both_a_silence_probability_and_low_confidence() -> None:
    assert is_no_speech(0.9, cumulative_logprob=-3.0, tokens=1)  # "You" out of silence
    assert not is_no_speech(0.9, cumulative_logprob=-0.5, tokens=4)  # confident words
    assert not is_no_speech(0.2, cumulative_logprob=-9.0, tokens=1)  # unsure, but speech is likely
    assert compression_ratio("") == 0.0
