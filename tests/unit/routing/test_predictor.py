from __future__ import annotations

import math

from voxgate.config import default_models
from voxgate.routing.features import extract_features
from voxgate.routing.predictor import HeuristicPredictor


def _predict(prompt: str) -> dict[str, float]:
    features = extract_features(prompt, len(prompt) // 4, 1)
    estimates = HeuristicPredictor().predict(prompt, features, default_models())
    return {model: e.quality for model, e in estimates.items()}


def test_qualities_are_probabilities_ordered_by_model_strength() -> None:
    for prompt in ["hi", "What is the capital of France?", "Write a Python function to parse CSV files"]:
        q = _predict(prompt)
        assert all(0 < v < 1 for v in q.values())
        assert q["smollm2-135m"] < q["qwen2.5-coder-0.5b"] < q["qwen2.5-coder-1.5b"]


def test_harder_prompts_get_lower_quality_and_weak_models_lose_more() -> None:
    easy = _predict("hello there")
    hard = _predict("Prove step by step that the integral of x^2 from 0 to 3 equals 9, then explain why")
    for model in easy:
        assert hard[model] < easy[model]
    def logit_drop(model: str) -> float:
        return math.log(easy[model] / (1 - easy[model])) - math.log(hard[model] / (1 - hard[model]))

    assert logit_drop("smollm2-135m") > logit_drop("qwen2.5-coder-0.5b") > logit_drop("qwen2.5-coder-1.5b")


def test_typical_prompt_matches_catalog_prior() -> None:
    q = _predict("Tell me about the history of the Roman empire in a few paragraphs")
    for card in default_models():
        assert abs(q[card.id] - card.quality_hint) < 1e-3


def test_features_detect_code_and_math() -> None:
    code = extract_features("def foo(x): return x", 5, 1)
    math = extract_features("What is 17 * 23?", 5, 1)
    chat = extract_features("hello!", 2, 1)
    assert code.has_code
    assert not code.has_math
    assert math.has_math
    assert chat.is_chitchat
    assert chat.difficulty < 0
