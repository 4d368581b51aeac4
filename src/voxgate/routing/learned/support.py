"""Where the predictor has seen prompts: its training prompts' embeddings and a similarity floor.

A prompt whose nearest training prompt is less similar than `threshold` is unlike anything the
predictor learned from (chit-chat for a predictor trained on maths and facts, a chat message for
one trained on few-shot benchmark prompts); serving then falls back to the heuristic predictor
and says so in the decision. The floor is a low quantile of the training prompts' own
nearest-neighbour similarities (each left out of its own neighbours), so it comes from TRAIN rows
only and adapts to how varied they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from voxgate.routing.learned.embedding import unit_rows
from voxgate.routing.learned.heads import Array

Float32Array = NDArray[np.float32]

SUPPORT_MAX_ROWS = 4000
SUPPORT_QUANTILE = 0.02
_CHUNK_ROWS = 512


@dataclass(frozen=True)
class Support:
    embeddings: Float32Array  # (rows, dim), unit rows
    threshold: float

    def nearest_similarity(self, embeddings: Array) -> Array:
        """Cosine similarity of each row of `embeddings` to its nearest training prompt."""
        queries = unit_rows(embeddings)
        return np.asarray((queries @ self.embeddings.T).max(axis=1), dtype=np.float64)


def build_support(embeddings: Array, seed: int = 0) -> Support:
    """Up to `SUPPORT_MAX_ROWS` training prompts (a fixed random subset) and their similarity floor."""
    rows = np.arange(embeddings.shape[0])
    if rows.size > SUPPORT_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, SUPPORT_MAX_ROWS, replace=False))
    kept = unit_rows(embeddings[rows])
    if kept.shape[0] < 2:
        return Support(kept, -1.0)
    nearest = np.empty(kept.shape[0])
    for start in range(0, kept.shape[0], _CHUNK_ROWS):
        sims = kept[start : start + _CHUNK_ROWS] @ kept.T
        for offset in range(sims.shape[0]):
            sims[offset, start + offset] = -1.0  # not its own neighbour
        nearest[start : start + _CHUNK_ROWS] = sims.max(axis=1)
    return Support(kept, float(np.quantile(nearest, SUPPORT_QUANTILE)))
