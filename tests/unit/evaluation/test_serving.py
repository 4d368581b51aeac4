"""The learned predictor as the router's QualityPredictor: trained models vs catalog priors."""

from __future__ import annotations

import numpy as np

from voxgate.core.types import ModelCard
from voxgate.routing.features import extract_features
from voxgate.routing.learned.embedding import HashingEmbedder
from voxgate.routing.learned.predictor import TrainingConfig, train_predictor
from voxgate.routing.learned.serving import LearnedQualityPredictor


def test_known_models_get_learned_probabilities_unknown_get_their_prior() -> None:
    embedder = HashingEmbedder(dim=32)
    texts = [f"what is {i} plus {i}" for i in range(40)] + [f"write a poem about item {i}" for i in range(40)]
    rng = np.random.default_rng(0)
    scores = np.column_stack([
        np.r_[np.ones(40), rng.random(40) < 0.2].astype(float),
        np.r_[np.ones(40), np.ones(40)],
    ])
    embeddings = embedder.embed(texts).astype(np.float64)
    learned = train_predictor(
        embeddings, texts, scores, ["weak", "strong"], embedder.embedder_id, TrainingConfig(folds=3)
    )
    learned.embedder = embedder
    predictor = LearnedQualityPredictor(learned)
    cards = [ModelCard("weak"), ModelCard("strong"), ModelCard("newcomer", quality_hint=0.42)]
    prompt = "write a poem about the sea"
    estimates = predictor.predict(prompt, extract_features(prompt, 8, 1), cards)
    assert estimates["newcomer"].quality == 0.42
    assert "unknown to learned-" in estimates["newcomer"].source
    assert estimates["weak"].source == predictor.version == learned.version  # "learned-v1-…", said once
    assert not predictor.version.startswith("learned-learned")
    assert 0 <= estimates["weak"].quality < estimates["strong"].quality <= 1
