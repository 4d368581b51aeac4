"""`CountingEmbedder`: the hashing embedder, counting how often it was asked to embed."""

from __future__ import annotations

from voxgate.routing.learned.embedding import FloatArray, HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    """A `HashingEmbedder` (`dim` 8 unless told) whose `calls` counts its `embed` calls."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__(dim=dim)
        self.calls = 0

    def embed(self, texts: list[str]) -> FloatArray:
        self.calls += 1
        return super().embed(texts)
