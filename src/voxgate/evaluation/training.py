"""`voxgate train`: fit the learned predictor on an outcome file and save it for serving.

Only TRAIN rows are used (the file's `split` column, or the sha1 rule); the saved directory
is what `predictor: path` in the catalog points at.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from voxgate.evaluation.loaders import load_outcome_file
from voxgate.evaluation.runner import progress_bar
from voxgate.routing.learned.embedders import make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder, PromptEmbedder
from voxgate.routing.learned.trained_predictor import LearnedPredictor, save_predictor, train_predictor


def train_from_file(
    outcome_file: Path, out_dir: Path, cache_dir: Path, embedder: PromptEmbedder | None = None
) -> LearnedPredictor:
    """Train on the file's TRAIN rows, save to `out_dir`, and return the predictor."""
    table = load_outcome_file(outcome_file).train()
    if not table.prompts:
        raise ValueError(f"{outcome_file} has no TRAIN rows; mark some with a `split` column set to train")
    unscored = [m for j, m in enumerate(table.models) if np.isnan(table.scores[:, j]).all()]
    if unscored:
        raise ValueError(f"{outcome_file}: no TRAIN row has a score for {', '.join(unscored)}; drop the column")
    inner = embedder if embedder is not None else make_embedder()
    with progress_bar() as progress:
        task = progress.add_task(f"embedding {len(table.prompts)} prompts", total=len(table.prompts))
        cached = CachedEmbedder(inner, cache_dir, progress=partial(progress.advance, task))
        embeddings = cached.embed(table.prompts).astype(np.float64)
        # unknown cells stay NaN: each head learns from the rows that scored its model
        predictor = train_predictor(embeddings, table.prompts, table.scores, table.models, inner.embedder_id)
    save_predictor(predictor, out_dir)
    return predictor
