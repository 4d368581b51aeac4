"""Cheap prompt features that sit beside the embedding: size, code and maths markers, turns.

Every feature is a float computed from the text alone in microseconds; `CHEAP_FEATURE_NAMES`
lists them in column order. Large counts are log-scaled so one huge prompt cannot dominate.
"""

from __future__ import annotations

import math
import re

import numpy as np
from numpy.typing import NDArray

CHEAP_FEATURE_NAMES = (
    "log_tokens",
    "code_markers",
    "math_markers",
    "question_marks",
    "turns",
    "digit_share",
    "line_count_log",
)

_CODE_RE = re.compile(
    r"```|\bdef \w+\(|\bclass \w+|\bfunction\b|\bimport \w+|#include|\bSELECT\b|=>|\breturn\b|"
    r"\bassert\b|[{};]\s*$|\b(python|javascript|typescript|rust|java|c\+\+|sql|regex|bash|code|"
    r"implement|compile|refactor)\b",
    re.IGNORECASE | re.MULTILINE,
)
_MATH_RE = re.compile(
    r"\d+\s*[-+*/^=\u00d7\u00f7]\s*\d+|\\frac|\\sqrt|\$[^$]+\$|\b(solve|equation|integral|derivative|"
    r"prove|probability|sum of|how many|how much|calculate|compute|percent|theorem|remainder)\b",
    re.IGNORECASE,
)
WINDOW_EDGE_CHARS = 4_096  # 8 KiB read whole: longer than every prompt in the training data (4.9k max)
_TURN_RE = re.compile(r"^\s*(user|human|assistant|### user|### assistant)\s*:", re.IGNORECASE | re.MULTILINE)


def estimate_tokens(text: str) -> int:
    """About four characters per token for English; never zero for non-empty text."""
    return (len(text) + 3) // 4


def feature_window(text: str, edge_chars: int = WINDOW_EDGE_CHARS) -> tuple[str, float]:
    """The text the pattern counts read, and the factor that scales its counts to the whole text.

    A prompt longer than twice `edge_chars` is read at its start and end only, so a 4 MB body
    costs milliseconds, not a second of regex work; shorter prompts (every prompt in the
    training data) are read whole.
    """
    if len(text) <= 2 * edge_chars:
        return text, 1.0
    sample = text[:edge_chars] + "\n" + text[-edge_chars:]
    return sample, len(text) / len(sample)


def cheap_features(text: str) -> list[float]:
    """The features of one prompt, in `CHEAP_FEATURE_NAMES` order."""
    tokens = estimate_tokens(text)
    sample, scale = feature_window(text)
    digits = sum(map(str.isdigit, sample))
    return [
        math.log1p(tokens),
        math.log1p(len(_CODE_RE.findall(sample)) * scale),
        math.log1p(len(_MATH_RE.findall(sample)) * scale),
        math.log1p(text.count("?")),
        math.log1p(max(1.0, len(_TURN_RE.findall(sample)) * scale)),
        digits / max(1, len(sample)),
        math.log1p(text.count("\n") + 1),
    ]


def cheap_feature_matrix(texts: list[str]) -> NDArray[np.float32]:
    """Features of many prompts as a (n, len(CHEAP_FEATURE_NAMES)) array."""
    rows = [cheap_features(t) for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(CHEAP_FEATURE_NAMES))
