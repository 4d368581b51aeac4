"""word_error_rate and corpus_word_error_rate: normalisation and edit distance."""

from __future__ import annotations

import pytest

from voxgate.voice.engines.wer import corpus_word_error_rate, normalize_words, spoken_number, word_error_rate


def test_normalisation() -> None:
    assert normalize_words("Mr. Dashwood, cold-hearted; ill-disposed!") == [
        "mister", "dashwood", "cold", "hearted", "ill", "disposed",
    ]  # fmt: skip
    assert normalize_words("It's 'quoted'") == ["it's", "quoted"]


def test_numbers_under_a_hundred_in_digits_read_as_words() -> None:
    assert normalize_words("booked for 7, 20 or 42") == ["booked", "for", "seven", "twenty", "or", "forty", "two"]
    assert normalize_words("in 1990, room 007 or 100") == ["in", "1990", "room", "007", "or", "100"]
    assert word_error_rate("booked for seven this evening", "booked for 7 this evening") == 0.0
    assert [spoken_number(n) for n in (0, 19, 20, 99)] == ["zero", "nineteen", "twenty", "ninety nine"]
    with pytest.raises(ValueError, match="0-99"):
        spoken_number(100)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("he was not an ill disposed young man", "He was not an ill-disposed young man.", 0.0),
        ("a b c d", "a x c d", 0.25),
        ("a b c d", "a c d", 0.25),
        ("a b c d", "a b c d e", 0.25),
        ("a b", "", 1.0),
        ("", "", 0.0),
        ("", "extra words", 2.0),
        ("one two three", "three two one", 2 / 3),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, expected: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


def test_corpus_word_error_rate_weighs_each_clip_by_its_length() -> None:
    pairs = [("a b c d e f g h", "a b c d e f g h"), ("one two", "one")]
    assert corpus_word_error_rate(pairs) == pytest.approx(1 / 10)  # not the mean of 0 and 0.5
    assert corpus_word_error_rate([]) == 0.0
    assert corpus_word_error_rate([("", "extra")]) == 1.0
