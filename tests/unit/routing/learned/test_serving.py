"""The learned predictor as the router's QualityPredictor: trained models vs catalog priors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxgate.core.types import ModelCard
from voxgate.routing.features import RequestKind, extract_features
from voxgate.routing.learned.embedding import HashingEmbedder
from voxgate.routing.learned.serving import LearnedQualityPredictor
from voxgate.routing.learned.support import SUPPORT_QUANTILE, build_support
from voxgate.routing.learned.trained_predictor import TrainingConfig, load_predictor, save_predictor, train_predictor
from voxgate.routing.predictor import HeuristicPredictor


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


def _trained(texts: list[str], embedder: HashingEmbedder) -> LearnedQualityPredictor:
    rng = np.random.default_rng(1)
    scores = (rng.random((len(texts), 2)) < 0.6).astype(float)
    learned = train_predictor(
        embedder.embed(texts).astype(np.float64), texts, scores, ["weak", "strong"], embedder.embedder_id,
        TrainingConfig(folds=3),
    )
    learned.embedder = embedder
    return LearnedQualityPredictor(learned)


def test_a_prompt_unlike_the_training_prompts_gets_the_heuristic_and_says_why() -> None:
    embedder = HashingEmbedder(dim=64)
    texts = [f"what is {i} plus {i + 1}" for i in range(60)]
    predictor = _trained(texts, embedder)
    cards = [ModelCard("weak", quality_hint=0.5), ModelCard("strong", quality_hint=0.9)]
    familiar = predictor.predict("what is 3 plus 4", extract_features("what is 3 plus 4", 5, 1), cards)
    assert {e.source for e in familiar.values()} == {predictor.version}
    odd = "tell me a joke about cats"
    unfamiliar = predictor.predict(odd, extract_features(odd, 6, 1), cards)
    heuristic = HeuristicPredictor().predict(odd, extract_features(odd, 6, 1), cards)
    assert {m: e.quality for m, e in unfamiliar.items()} == {m: e.quality for m, e in heuristic.items()}
    (source,) = {e.source for e in unfamiliar.values()}
    assert source.startswith(f"heuristic-v1: prompt unlike the training data of {predictor.version}")
    assert "nearest similarity" in source


def test_a_tool_turn_gets_the_heuristic_and_says_why() -> None:
    predictor = _trained([f"what is {i} plus {i + 1}" for i in range(60)], HashingEmbedder(dim=64))
    cards = [ModelCard("weak", quality_hint=0.5), ModelCard("strong", quality_hint=0.9)]
    prompt = "what is 3 plus 4"
    features = extract_features(prompt, 5, 1, RequestKind.TOOL_CALL, tool_count=2)
    estimates = predictor.predict(prompt, features, cards)
    heuristic = HeuristicPredictor().predict(prompt, features, cards)
    assert {m: e.quality for m, e in estimates.items()} == {m: e.quality for m, e in heuristic.items()}
    assert {e.source for e in estimates.values()} == {f"heuristic-v1: a tool_call turn; {predictor.version} "
                                                      "knows chat turns only"}


def test_support_survives_saving_and_older_predictors_never_fall_back(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dim=64)
    texts = [f"what is {i} plus {i + 1}" for i in range(60)]
    learned = _trained(texts, embedder)._learned
    assert learned.support is not None
    save_predictor(learned, tmp_path / "p")
    loaded = load_predictor(tmp_path / "p", embedder)
    assert loaded.support is not None
    assert loaded.support.threshold == pytest.approx(learned.support.threshold)
    query = embedder.embed(["what is 3 plus 4", "tell me a joke"]).astype(np.float64)
    np.testing.assert_allclose(
        loaded.support.nearest_similarity(query), learned.support.nearest_similarity(query), atol=2e-3
    )
    loaded.support = None  # as a predictor saved before support existed
    old = LearnedQualityPredictor(loaded)
    odd = "tell me a joke about cats"
    estimates = old.predict(odd, extract_features(odd, 6, 1), [ModelCard("weak"), ModelCard("strong")])
    assert {e.source for e in estimates.values()} == {old.version}


def test_the_similarity_floor_is_a_low_quantile_of_leave_one_out_neighbours() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 8))
    support = build_support(points)
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -1.0)
    assert support.threshold == pytest.approx(np.quantile(sims.max(axis=1), SUPPORT_QUANTILE), abs=1e-5)
    assert support.nearest_similarity(points[:5]) == pytest.approx(np.ones(5), abs=1e-5)  # itself
