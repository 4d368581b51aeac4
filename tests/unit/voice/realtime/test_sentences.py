"""SentenceChunker: sentence ends, abbreviations, decimals, line breaks, over-long runs, end of stream,
and independence from how the text is split into deltas."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.voice.realtime.sentences import SentenceChunker, SpeechChunker


def chunk(text: str, delta_chars: int = 1, max_chars: int = 250) -> list[str]:
    chunker = SentenceChunker(max_chars=max_chars)
    sentences = []
    for start in range(0, len(text), delta_chars):
        sentences.extend(chunker.push(text[start : start + delta_chars]))
    return sentences + chunker.flush()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there! How are you? Fine.", ["Hello there!", "How are you?", "Fine."]),
        ("Dr. Smith met Mrs. Jones. They talked.", ["Dr. Smith met Mrs. Jones.", "They talked."]),
        ("Pi is 3.14 roughly. Yes.", ["Pi is 3.14 roughly.", "Yes."]),
        ("It costs $1,299.99 today. Buy.", ["It costs $1,299.99 today.", "Buy."]),
        ("Use e.g. this one. Or not.", ["Use e.g. this one.", "Or not."]),
        ("J. R. R. Tolkien wrote it. Done.", ["J. R. R. Tolkien wrote it.", "Done."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("**Sure.** It is *done.* Next", ["**Sure.**", "It is *done.*", "Next"]),
        ("Wait... what?! Really.", ["Wait...", "what?!", "Really."]),
        ("Steps:\n1. Open it.\n2. Close it", ["Steps:", "1. Open it.", "2. Close it"]),
        ("Visit example.com today. Bye.", ["Visit example.com today.", "Bye."]),
        ("trailing words without a stop", ["trailing words without a stop"]),
        ("   ", []),
        ("", []),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert chunk(text) == expected
    assert chunk(text, delta_chars=len(text) or 1) == expected


def test_sentence_is_released_when_the_next_delta_starts() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Hello there.") == []  # could still be "Hello there.com"
    assert chunker.push(" How") == ["Hello there."]
    assert chunker.flush() == ["How"]
    assert chunker.flush() == []


def test_decimal_split_across_deltas_waits() -> None:
    chunker = SentenceChunker()
    assert chunker.push("The value is 3.") == []
    assert chunker.push("14 exactly. ") == ["The value is 3.14 exactly."]


def test_flush_keeps_a_bare_number_reply() -> None:
    assert chunk("42.") == ["42."]


def test_over_long_run_is_cut_at_a_comma_or_space() -> None:
    text = "one two three, four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    pieces = chunk(text, delta_chars=5, max_chars=40)
    assert pieces[0] == "one two three,"
    assert all(len(piece) <= 40 for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_max_chars_has_a_floor() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        SentenceChunker(max_chars=5)


texts = st.lists(
    st.sampled_from(
        ["Hello", "Dr.", "3.14", "world.", "e.g.", "Yes!", "why?", "\n", "a,", "J.", "ok", "..."]
    ),
    max_size=40,
).map(" ".join)


@given(text=texts, delta_chars=st.integers(min_value=1, max_value=30))
def test_split_points_do_not_matter_and_no_word_is_lost(text: str, delta_chars: int) -> None:
    sentences = chunk(text, delta_chars, max_chars=10_000)
    assert sentences == chunk(text, len(text) or 1, max_chars=10_000)
    assert _words(" ".join(sentences)) == _words(text)  # only a wordless tail ("...") may be dropped
    assert all(sentence == sentence.strip() and sentence for sentence in sentences)


def _words(text: str) -> list[str]:
    return [token for token in text.split() if re.search(r"\w", token)]


# --- SpeechChunker: a short first piece, then pieces growing to whole sentences ------------------

LONG_REPLY = (
    "The capital of France is Paris, which sits on the river Seine in the north of the country. "
    "It is famous for the Eiffel Tower, the Louvre and its cafes, and millions of people visit it every "
    "year to see the museums, walk along the river and eat in its restaurants. Would you like to know more?"
)


def speech_pieces(text: str, delta_chars: int) -> list[str]:
    chunker = SpeechChunker()
    pieces = []
    for start in range(0, len(text), delta_chars):
        pieces.extend(chunker.push(text[start : start + delta_chars]))
    return pieces + chunker.flush()


@pytest.mark.parametrize("delta_chars", [1, 4, 17, 1000])
def test_speech_starts_with_a_few_words_and_grows_to_sentences(delta_chars: int) -> None:
    pieces = speech_pieces(LONG_REPLY, delta_chars)
    assert " ".join(pieces) == LONG_REPLY
    assert pieces[0] == "The capital of France"  # cut at a space within 24 characters
    before = list(itertools.accumulate(len(piece) for piece in pieces))
    assert all(len(piece) <= max(24, 3 * spoken) for spoken, piece in zip(before, pieces[1:], strict=False))
    assert pieces[-1] == "Would you like to know more?"
    assert any(len(piece) > 80 for piece in pieces)  # whole sentences once the reply is under way


def test_a_short_first_sentence_is_spoken_whole() -> None:
    pieces = speech_pieces("Sure. Paris is the capital of France.", 1)
    assert pieces == ["Sure.", "Paris is the capital of", "France."]


@given(st.text(alphabet="abc ,.!?\n", max_size=400), st.integers(min_value=1, max_value=50))
def test_speech_pieces_lose_no_words(text: str, delta_chars: int) -> None:
    assert re.findall(r"\w+", " ".join(speech_pieces(text, delta_chars))) == re.findall(r"\w+", text)


def test_a_run_without_spaces_is_cut_at_a_word_edge_not_inside_a_word() -> None:
    # Hypothesis found it: 23 question marks then "aa" overflowed the 24-character first piece and
    # the hard cut split "aa" in two, so the voice would have said "a a".
    assert speech_pieces("?" * 23 + "aa", 1) == ["?" * 23, "aa"]
    assert speech_pieces("b" * 30, 1) == ["b" * 24, "b" * 6]  # one word longer than the piece: cut inside


def test_speech_chunker_rejects_a_bad_schedule() -> None:
    with pytest.raises(ValueError, match="first_chars"):
        SpeechChunker(first_chars=9)
    with pytest.raises(ValueError, match="first_chars"):
        SpeechChunker(first_chars=300, max_chars=250)


def test_a_smaller_first_piece_starts_speech_after_two_or_three_words() -> None:
    chunker = SpeechChunker(first_chars=12)
    pieces = [piece for character in LONG_REPLY for piece in chunker.push(character)] + chunker.flush()
    assert pieces[0] == "The capital"
    assert " ".join(pieces) == LONG_REPLY
