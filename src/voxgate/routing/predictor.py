"""Quality prediction: the probability that a model answers a request well.

`QualityPredictor` is the protocol; `HeuristicPredictor` is v1: the catalog's `quality`
hint (the probability of a good answer on a typical prompt) shifted on the logit scale by
the prompt's difficulty, with weaker models losing more on hard prompts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from voxgate.core.types import ModelCard
from voxgate.routing.features import PromptFeatures


@dataclass(frozen=True)
class QualityEstimate:
    quality: float
    source: str


class QualityPredictor(Protocol):
    """`version` is recorded in every decision; `cpu_heavy` True means `predict` does enough CPU
    work (a prompt embedding) that async callers run it in a worker thread, off the event loop."""

    version: str
    cpu_heavy: bool

    def predict(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard]
    ) -> Mapping[str, QualityEstimate]: ...


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class HeuristicPredictor:
    """v1: prior from the catalog, adjusted by prompt difficulty."""

    version = "heuristic-v1"
    cpu_heavy = False  # microseconds: cheaper inline than a thread hop

    def predict(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard]
    ) -> Mapping[str, QualityEstimate]:
        difficulty = features.difficulty
        estimates: dict[str, QualityEstimate] = {}
        for card in cards:
            sensitivity = 1.6 - card.quality_hint
            quality = _sigmoid(_logit(card.quality_hint) - difficulty * sensitivity)
            source = f"{self.version}: catalog prior x prompt difficulty"
            estimates[card.id] = QualityEstimate(round(quality, 4), source)
        return estimates
