"""The answer checker's rows: every (prompt, model answer, score) cell an outcome table knows.

A cell counts when the model's answer text and its score are both known. The prior beside each
answer is the model's mean TRAIN score on that table (`model_priors`): what a router knows
about the model before reading its answer, and the same for TRAIN and TEST rows, so nothing
of a TEST row leaks into it. `train_answer_checker` fits on TRAIN cells only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxgate.evaluation import metrics
from voxgate.evaluation.outcomes import BoolVector, OutcomeTable
from voxgate.routing.learned.answer_checker import (
    CHECKER_FEATURE_NAMES,
    AnswerChecker,
    CheckedAnswer,
    checker_features,
    train_checker,
)
from voxgate.routing.learned.heads import Array

StepFn = Callable[[], None]


def model_priors(table: OutcomeTable) -> Array:
    """Each model's mean TRAIN score (unknown cells left out)."""
    train = table.train().scores
    known = ~np.isnan(train)
    return np.asarray(np.where(known, train, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1), dtype=np.float64)


def answer_feature_cube(table: OutcomeTable, on_row: StepFn | None = None) -> Array:
    """(n_prompts, n_models, n_features) checker features; NaN where the answer is unknown."""
    n, m = len(table.prompts), len(table.models)
    cube = np.full((n, m, len(CHECKER_FEATURE_NAMES)), np.nan)
    if table.answers is None:
        return cube
    priors = model_priors(table)
    for i, (prompt, row) in enumerate(zip(table.prompts, table.answers, strict=True)):
        for j, answer in enumerate(row):
            if answer is not None:
                item = CheckedAnswer(prompt, answer.text, answer.token_logprobs, answer.margins, float(priors[j]))
                cube[i, j] = checker_features(item)
        if on_row is not None:
            on_row()
    return cube


def training_cells(
    tables: Sequence[OutcomeTable], cubes: Sequence[Array]
) -> tuple[Array, Array, list[BoolVector]]:
    """Features and scores of every TRAIN cell with a known answer and a known score, and per
    table the (TRAIN rows, models) mask of the cells used, in that order."""
    xs, ys, masks = [], [], []
    for table, cube in zip(tables, cubes, strict=True):
        rows = ~table.is_test
        x, y = cube[rows], table.scores[rows]
        usable = ~np.isnan(y) & ~np.isnan(x).any(axis=2)
        xs.append(x[usable])
        ys.append(y[usable])
        masks.append(usable)
    width = len(CHECKER_FEATURE_NAMES)
    return np.vstack(xs) if xs else np.zeros((0, width)), np.concatenate(ys) if ys else np.zeros(0), masks


@dataclass
class TrainedChecker:
    """The checker, and per table the out-of-fold P(good) of its TRAIN cells (NaN where unused)."""

    checker: AnswerChecker
    train_oof: list[Array]


def train_answer_checker(
    tables: Sequence[OutcomeTable], cubes: Sequence[Array], on_step: StepFn | None = None
) -> TrainedChecker:
    """Fit the checker on the TRAIN cells of `tables`; its report gains the out-of-fold AUC."""
    x, y, masks = training_cells(tables, cubes)
    checker = train_checker(x, y, on_step=on_step)
    oof = checker.oof_p_good if checker.oof_p_good is not None else np.full(len(y), np.nan)
    checker.report["auc_oof"] = metrics.auc_per_model(oof[:, None], y[:, None])[0]
    per_table, start = [], 0
    for mask in masks:
        out = np.full(mask.shape, np.nan)
        out[mask] = oof[start : start + int(mask.sum())]
        start += int(mask.sum())
        per_table.append(out)
    return TrainedChecker(checker, per_table)


def p_good_matrix(checker: AnswerChecker, cube: Array) -> Array:
    """(n_prompts, n_models) P(good) of each known answer, NaN elsewhere."""
    n, m, width = cube.shape
    flat = cube.reshape(n * m, width)
    known = ~np.isnan(flat).any(axis=1)
    out = np.full(n * m, np.nan)
    if known.any():
        out[known] = checker.predict_features(flat[known])
    return out.reshape(n, m)
