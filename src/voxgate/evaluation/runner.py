"""`run_evaluation`: the one entry point behind `voxgate eval DATASET`.

Loads the dataset, embeds every prompt once (cached under `cache_dir` by content hash), trains
voxgate's predictor on the TRAIN rows of all slices that share a model list and the baselines on
each slice's TRAIN rows; where slices carry answers, trains the answer checker on their TRAIN
answers (saved under `checkers/`) and replays the cascade routers too; replays everything on
each slice's TEST rows and writes the report directory. A progress bar shows each step.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from voxgate.evaluation.checker_training import AnswerFeatures, answer_features_of, train_answer_checker
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.report import plot_file_name, require_plotting, write_report
from voxgate.evaluation.slices import AnswerChecks, PooledTrain, SliceResult, evaluate_slice, pool_train_rows
from voxgate.routing.learned.answer_checker import AnswerChecker, checker_candidates, save_checker
from voxgate.routing.learned.embedders import make_embedder
from voxgate.routing.learned.embedding import CachedEmbedder, PromptEmbedder
from voxgate.routing.learned.selection import default_candidates
from voxgate.routing.learned.trained_predictor import train_predictor

FOLDS = 5


def _training_steps(pooled: PooledTrain) -> int:
    return len(default_candidates(pooled.embeddings.shape[1], len(pooled.prompts))) * FOLDS


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )


def run_evaluation(
    dataset: str | Path,
    data_root: Path,
    out_dir: Path,
    cache_dir: Path,
    *,
    embedder: PromptEmbedder | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Evaluate every router on `dataset` and write the report into `out_dir`.

    `dataset` is `routerbench`, `routellm`, `open7b`, one slice such as `routerbench/mbpp`, or a
    CSV/JSONL file in the generic outcome format (see `voxgate.evaluation.loaders`). Returns the
    content of `report.json`. `embedder` defaults to WordLlama (`embedders.DEFAULT_EMBEDDER`).
    Raises `MissingExtraError` at once when matplotlib (the `eval` extra) is missing.
    """
    require_plotting()
    tables = load_dataset(dataset, data_root)
    inner = embedder if embedder is not None else make_embedder()
    with progress_bar() as progress:
        progress.disable = not show_progress
        embeddings = []
        for table in tables:
            task = progress.add_task(f"embedding {table.name}", total=len(table.prompts))
            cached = CachedEmbedder(inner, cache_dir, progress=partial(progress.advance, task))
            embeddings.append(cached.embed(table.prompts).astype(np.float64))
        results: list[SliceResult] = []
        for models, members in _groups_by_models(tables).items():
            group = [tables[i] for i in members]
            pooled = pool_train_rows(group, [embeddings[i] for i in members])
            task = progress.add_task(f"training on {len(pooled.prompts)} rows", total=_training_steps(pooled))
            predictor = train_predictor(
                pooled.embeddings,
                pooled.prompts,
                pooled.scores,
                models,
                inner.embedder_id,
                on_step=partial(progress.advance, task),
            )
            checks = _answer_checks(group, progress, out_dir)
            results += [
                evaluate_slice(tables[i], embeddings[i], predictor, pooled, check)
                for i, check in zip(members, checks, strict=True)
            ]
    results.sort(key=lambda r: [t.name for t in tables].index(r.name))
    return write_report(results, out_dir, str(dataset))


def fit_answer_checker(
    tables: list[OutcomeTable], progress: Progress
) -> tuple[AnswerChecker, list[AnswerFeatures]]:
    """The answer checker trained on the TRAIN answers of `tables`, and each table's answer features."""
    features = []
    for table in tables:
        task = progress.add_task(f"answer features {table.name}", total=len(table.prompts))
        features.append(answer_features_of(table, on_row=partial(progress.advance, task)))
    task = progress.add_task("training the answer checker", total=len(checker_candidates(1)) * FOLDS)
    return train_answer_checker(tables, features, on_step=partial(progress.advance, task)), features


def _answer_checks(group: list[OutcomeTable], progress: Progress, out_dir: Path) -> list[AnswerChecks | None]:
    """Train the answer checker on the TRAIN answers of the group's slices that have answers."""
    with_answers = [t for t in group if t.answers is not None]
    if not with_answers:
        return [None] * len(group)
    checker, features = fit_answer_checker(with_answers, progress)
    save_checker(checker, out_dir / "checkers" / plot_file_name(with_answers[0].name).removesuffix(".png"))
    by_name = {t.name: AnswerChecks(checker, f) for t, f in zip(with_answers, features, strict=True)}
    return [by_name.get(t.name) for t in group]


def _groups_by_models(tables: list[OutcomeTable]) -> dict[tuple[str, ...], list[int]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, table in enumerate(tables):
        groups.setdefault(table.models, []).append(index)
    return groups
