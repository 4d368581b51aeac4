"""The answer checker's rows: every (prompt, model answer, score) cell an outcome table knows.

A cell counts when the model's answer text and its score are both known. The prior beside each
answer is the model's mean TRAIN score on that table (`model_priors`): what a router knows
about the model before reading its answer, the same for TRAIN and TEST rows, so nothing of a
TEST row leaks into it. The peers of a TRAIN cell are a random half (seeded) of the models
cheaper than it on that prompt: what a cascade, cheapest first, may have asked before it.
`train_answer_checker` fits on TRAIN cells only. `StageScorer` gives the replay P(good) of a
stage's answer given the stages tried before it (their answers are its peers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voxgate.evaluation import metrics
from voxgate.evaluation.outcomes import BoolVector, OutcomeTable
from voxgate.routing.learned.answer_checker import (
    BASE_FEATURE_NAMES,
    CHECKER_FEATURE_NAMES,
    AnswerChecker,
    CheckedAnswer,
    base_features,
    peer_features,
    train_checker,
)
from voxgate.routing.learned.answer_text import final_answer
from voxgate.routing.learned.heads import Array

StepFn = Callable[[], None]
PEER_SEED = 0
PEER_SHARE = 0.5


def model_priors(table: OutcomeTable) -> Array:
    """Each model's mean TRAIN score (unknown cells left out)."""
    train = table.train().scores
    known = ~np.isnan(train)
    return np.asarray(np.where(known, train, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1), dtype=np.float64)


@dataclass(frozen=True)
class AnswerFeatures:
    """Per (prompt, model): the base features (NaN where the answer is unknown) and the final answer."""

    base: Array
    finals: list[list[str | None]]
    known: Array = field(repr=False)

    def subset(self, rows: BoolVector) -> AnswerFeatures:
        index = np.flatnonzero(rows)
        return AnswerFeatures(self.base[index], [self.finals[i] for i in index], self.known[index])


def answer_features_of(table: OutcomeTable, on_row: StepFn | None = None) -> AnswerFeatures:
    """Base features and final answers of every known answer in `table`."""
    n, m = len(table.prompts), len(table.models)
    base = np.full((n, m, len(BASE_FEATURE_NAMES)), np.nan)
    finals: list[list[str | None]] = [[None] * m for _ in range(n)]
    known = np.zeros((n, m), dtype=bool)
    priors = model_priors(table)
    for i, row in enumerate(table.answers or ()):
        for j, answer in enumerate(row):
            if answer is not None:
                prompt, prior = table.prompts[i], float(priors[j])
                item = CheckedAnswer(prompt, answer.text, answer.token_logprobs, answer.margins, prior)
                base[i, j] = base_features(item)
                finals[i][j] = final_answer(answer.text)
                known[i, j] = True
        if on_row is not None:
            on_row()
    return AnswerFeatures(base, finals, known)


def cost_order(table: OutcomeTable) -> list[int]:
    """Model indices from the cheapest to the dearest by mean TRAIN cost."""
    return [int(j) for j in np.argsort(table.train().costs_usd.mean(axis=0), kind="stable")]


def training_cells(tables: Sequence[OutcomeTable], features: Sequence[AnswerFeatures]) -> tuple[Array, Array]:
    """Features (with sampled peers) and scores of every TRAIN cell with a known answer and score."""
    rng = np.random.default_rng(PEER_SEED)
    xs, ys = [], []
    for table, feats in zip(tables, features, strict=True):
        order = cost_order(table)
        for i in np.flatnonzero(~table.is_test):
            for position, j in enumerate(order):
                if not feats.known[i, j] or np.isnan(table.scores[i, j]):
                    continue
                cheaper = [k for k in order[:position] if feats.known[i, k] and rng.random() < PEER_SHARE]
                peers = peer_features(feats.finals[i][j], [feats.finals[i][k] for k in cheaper])
                xs.append([*feats.base[i, j], *peers])
                ys.append(float(table.scores[i, j]))
    return np.array(xs, dtype=np.float64).reshape(-1, len(CHECKER_FEATURE_NAMES)), np.array(ys)


def train_answer_checker(
    tables: Sequence[OutcomeTable], features: Sequence[AnswerFeatures], on_step: StepFn | None = None
) -> AnswerChecker:
    """Fit the checker on the TRAIN cells of `tables`; its report gains the out-of-fold and in-sample AUC."""
    x, y = training_cells(tables, features)
    checker = train_checker(x, y, on_step=on_step)
    oof = checker.oof_p_good if checker.oof_p_good is not None else np.full(len(y), np.nan)
    checker.report["auc_oof"] = metrics.auc_per_model(oof[:, None], y[:, None])[0]
    checker.report["auc_in_sample"] = metrics.auc_per_model(checker.predict_features(x)[:, None], y[:, None])[0]
    return checker


class StageScorer:
    """P(good) of model j's answer to prompt i, given the models tried before it (their answers are
    its peers); NaN when the answer is unknown. Memoised: a sweep asks the same stages many times."""

    def __init__(self, checker: AnswerChecker, features: AnswerFeatures) -> None:
        self._checker = checker
        self._features = features
        self._memo: dict[tuple[int, int, tuple[int, ...]], float] = {}

    def __call__(self, i: int, j: int, before: tuple[int, ...] = ()) -> float:
        key = (i, j, before)
        if key not in self._memo:
            self._memo[key] = self._score(i, j, before)
        return self._memo[key]

    def _score(self, i: int, j: int, before: tuple[int, ...]) -> float:
        feats = self._features
        if not feats.known[i, j]:
            return float("nan")
        peers = [feats.finals[i][k] for k in before if feats.known[i, k]]
        row = np.array([[*feats.base[i, j], *peer_features(feats.finals[i][j], peers)]])
        return float(self._checker.predict_features(row)[0])
