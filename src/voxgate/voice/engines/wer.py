"""Word error rate, for tests and benchmarks of speech recognition.

    word_error_rate(reference, hypothesis) = (substitutions + deletions + insertions) / len(reference words)

Both sides are normalised first: lower case, hyphens split words ("cold-hearted" -> "cold hearted"),
other punctuation dropped, a few spoken forms unified ("mr" -> "mister").
"""

from __future__ import annotations

import re

_SPOKEN_FORMS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}
_NOT_WORD = re.compile(r"[^\w\s']")


def normalize_words(text: str) -> list[str]:
    """Lower-case words with punctuation removed and common abbreviations spelled out."""
    spaced = _NOT_WORD.sub(" ", text.lower().replace("-", " "))
    words = [word.strip("'") for word in spaced.split()]
    return [_SPOKEN_FORMS.get(word, word) for word in words if word]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length (1.0 per extra word if the reference is empty)."""
    ref = normalize_words(reference)
    hyp = normalize_words(hypothesis)
    if not ref:
        return float(len(hyp))
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            substitution = previous[j - 1] + (ref_word != hyp_word)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        previous = current
    return previous[-1] / len(ref)
