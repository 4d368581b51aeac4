"""Cheap prompt features that sit beside the embedding: size, code and maths markers, turns.

Every feature is a float computed from the text alone in microseconds; `CHEAP_FEATURE_NAMES`
lists them in column order. Large counts are log-scaled so one huge prompt cannot dominate.
"""

from __future__ import annotations

import math
import re

import numpy as np
from numpy.typing import NDArray

from voxgate.routing.features import CODE_PATTERN, MATH_PATTERN, estimate_tokens, feature_window

CHEAP_FEATURE_NAMES = (
    "log_tokens",
    "code_markers",
    "math_markers",
    "question_marks",
    "turns",
    "digit_share",
    "line_count_log",
)

_TURN_RE = re.compile(r"^\s*(user|human|assistant|### user|### assistant)\s*:", re.IGNORECASE | re.MULTILINE)


def cheap_features(text: str) -> list[float]:
    """The features of one prompt, in `CHEAP_FEATURE_NAMES` order."""
    tokens = estimate_tokens(text)
    sample, scale = feature_window(text)
    digits = sum(map(str.isdigit, sample))
    return [
        math.log1p(tokens),
        math.log1p(len(CODE_PATTERN.findall(sample)) * scale),
        math.log1p(len(MATH_PATTERN.findall(sample)) * scale),
        math.log1p(text.count("?")),
        math.log1p(max(1.0, len(_TURN_RE.findall(sample)) * scale)),
        digits / max(1, len(sample)),
        math.log1p(text.count("\n") + 1),
    ]


def cheap_feature_matrix(texts: list[str]) -> NDArray[np.float32]:
    """Features of many prompts as a (n, len(CHEAP_FEATURE_NAMES)) array."""
    rows = [cheap_features(t) for t in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), len(CHEAP_FEATURE_NAMES))
