"""Word error rate, for tests and benchmarks of speech recognition.

    word_error_rate(reference, hypothesis) = (substitutions + deletions + insertions) / len(reference words)
    corpus_word_error_rate(pairs)          = all the pairs' edits / all their reference words
    spoken_number(42)                      = "forty two" (0-99)

Both sides are normalised first: lower case, hyphens split words ("cold-hearted" -> "cold hearted"),
other punctuation dropped, a few spoken forms unified ("mr" -> "mister"), and whole numbers under 100
written in digits spelled out ("7" -> "seven", "42" -> "forty two"): Whisper writes a spoken number
either way, and neither is a recognition error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPOKEN_FORMS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}
_NOT_WORD = re.compile(r"[^\w\s']")
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def normalize_words(text: str) -> list[str]:
    """Lower-case words with punctuation removed, common abbreviations and numbers under 100 spelled out."""
    spaced = _NOT_WORD.sub(" ", text.lower().replace("-", " "))
    words = [word.strip("'") for word in spaced.split()]
    return [spoken for word in words if word for spoken in _spoken(word)]


def _spoken(word: str) -> list[str]:
    """A word as spoken: abbreviations spelled out, a number under 100 in words."""
    if not (word.isascii() and word.isdigit()) or int(word) >= 100 or (len(word) > 1 and word[0] == "0"):
        return [_SPOKEN_FORMS.get(word, word)]
    return spoken_number(int(word)).split()


def spoken_number(number: int) -> str:
    """A whole number from 0 to 99 in words: 7 -> "seven", 42 -> "forty two"."""
    if not 0 <= number < 100:
        raise ValueError(f"spoken_number takes 0-99, not {number}")
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens - 2] + (f" {_ONES[ones]}" if ones else "")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length (1.0 per extra word if the reference is empty)."""
    ref = normalize_words(reference)
    edits = _edit_distance(ref, normalize_words(hypothesis))
    return edits / len(ref) if ref else float(edits)


def corpus_word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """WER over a corpus of (reference, hypothesis) pairs: long references weigh more than short ones."""
    edits = words = 0
    for reference, hypothesis in pairs:
        ref = normalize_words(reference)
        edits += _edit_distance(ref, normalize_words(hypothesis))
        words += len(ref)
    return edits / words if words else float(edits)


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            substitution = previous[j - 1] + (ref_word != hyp_word)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        previous = current
    return previous[-1]
