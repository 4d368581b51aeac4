"""`voxgate train`: fit the learned predictor and the answer checker on outcome data, save them for serving.

Sources are outcome files (the generic format, `voxgate outcomes` exports, ladder answers files)
or dataset names (`routerbench`, `routellm/gsm8k`, ...; see `loaders.load_dataset`). Only TRAIN
rows are used (the file's `split` column, or the sha1 rule, or the dataset's own split):

- the quality predictor, when every source has the same models (it predicts per model): saved
  into `out_dir`, what `predictor: path` in the catalog points at;
- the answer checker, from every TRAIN cell with an answer text (it does not depend on which
  models there are, so RouterBench's eleven and GSM8K's two pool): saved into
  `out_dir/answer_checker`. It needs `min_answers` labelled TRAIN answers (a score and an answer
  text), good ones and bad ones; with fewer, training stops before fitting anything and says how
  to get more. A model whose column has no TRAIN score (in a feedback export: a cascade stage
  that always escalated) is left out of the predictor, its answers still train the checker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.runner import fit_answer_checker, progress_bar
from voxgate.routing.learned.answer_checker import AnswerChecker, save_checker
from voxgate.routing.learned.embedders import make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder, PromptEmbedder
from voxgate.routing.learned.trained_predictor import LearnedPredictor, save_predictor, train_predictor

CHECKER_DIR = "answer_checker"
DEFAULT_MIN_ANSWERS = 100
GOOD_SCORE = 0.5
HOW_TO_GET_ANSWERS = (
    "set `log_content: true` and `record_answers: true` in the catalog, restart `voxgate serve`, score answers "
    "with POST /v1/decisions/{id}/feedback, then export again with `voxgate outcomes --out mine.csv`"
)


@dataclass
class Trained:
    """What `train_from_sources` fitted, and why it left something out."""

    predictor: LearnedPredictor | None
    checker: AnswerChecker | None
    checker_dir: Path | None = None
    notes: list[str] = field(default_factory=list)


def _train_predictor(
    tables: Sequence[OutcomeTable], out_dir: Path, cache_dir: Path, embedder: PromptEmbedder | None
) -> LearnedPredictor:
    prompts = [p for t in tables for p in t.train().prompts]
    scores = np.vstack([t.train().scores for t in tables])
    scored = [j for j in range(scores.shape[1]) if not np.isnan(scores[:, j]).all()]
    if not scored:
        raise ValueError("no TRAIN row has a score: the predictor has nothing to learn")
    models = tuple(tables[0].models[j] for j in scored)
    scores = scores[:, scored]
    inner = embedder if embedder is not None else make_embedder()
    with progress_bar() as progress:
        task = progress.add_task(f"embedding {len(prompts)} prompts", total=len(prompts))
        cached = CachedEmbedder(inner, cache_dir, progress=partial(progress.advance, task))
        embeddings = cached.embed(prompts).astype(np.float64)
        # unknown cells stay NaN: each head learns from the rows that scored its model
        predictor = train_predictor(embeddings, prompts, scores, models, inner.embedder_id)
    save_predictor(predictor, out_dir)
    return predictor


def labelled_answers(tables: Sequence[OutcomeTable]) -> tuple[int, int]:
    """(good, bad) TRAIN answers with a score: what the answer checker learns from."""
    good = bad = 0
    for table in tables:
        for i in np.flatnonzero(~table.is_test):
            for j, answer in enumerate((table.answers or ())[i]):
                score = table.scores[i, j]
                if answer is not None and not np.isnan(score):
                    good, bad = (good + 1, bad) if score >= GOOD_SCORE else (good, bad + 1)
    return good, bad


def require_answers(tables: Sequence[OutcomeTable], min_answers: int) -> None:
    """Raise, saying how many are needed and how to get them, unless the checker has enough to learn from."""
    good, bad = labelled_answers(tables)
    if good + bad < min_answers:
        raise ValueError(
            f"the answer checker needs at least {min_answers} scored answers in TRAIN rows, the sources have "
            f"{good + bad} (rows are TRAIN by their `split` column, else for about half of the prompts by the "
            f"sha1 rule); to get more: {HOW_TO_GET_ANSWERS}; or lower the bar with --min-answers N"
        )
    if not good or not bad:
        kind = "good (score >= 0.5)" if not good else "bad (score < 0.5)"
        raise ValueError(f"the answer checker needs {kind} answers too: all {good + bad} scored TRAIN answers "
                         f"are {'bad' if not good else 'good'}; send feedback on more kinds of answers")


def _train_checker(tables: list[OutcomeTable], out_dir: Path) -> AnswerChecker:
    with progress_bar() as progress:
        checker, _ = fit_answer_checker(tables, progress)
    save_checker(checker, out_dir / CHECKER_DIR)
    return checker


def train_from_sources(
    sources: Sequence[str | Path], data_root: Path, out_dir: Path, cache_dir: Path,
    embedder: PromptEmbedder | None = None, min_answers: int = DEFAULT_MIN_ANSWERS,
) -> Trained:
    """Train on the sources' TRAIN rows and save into `out_dir` (see the module docstring)."""
    tables = [table for source in sources for table in load_dataset(source, data_root)]
    if not any(t.train().prompts for t in tables):
        raise ValueError(f"{', '.join(map(str, sources))}: no TRAIN rows; mark some with a `split` column set to train")
    with_answers = [t for t in tables if t.answers is not None]
    if with_answers:
        require_answers(with_answers, min_answers)
    trained = Trained(None, None)
    if len({t.models for t in tables}) == 1:
        trained.predictor = _train_predictor(tables, out_dir, cache_dir, embedder)
    else:
        trained.notes.append("predictor not trained: the sources have different models (train it per source)")
    if with_answers:
        trained.checker = _train_checker(with_answers, out_dir)
        trained.checker_dir = out_dir / CHECKER_DIR
    else:
        trained.notes.append(f"answer checker not trained: no source has answer texts (`<model>|answer` columns); "
                             f"for your own traffic: {HOW_TO_GET_ANSWERS}")
    return trained
