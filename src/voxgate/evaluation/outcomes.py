"""Per-query outcomes: for every prompt, each model's score and cost, and the TRAIN/TEST split.

An `OutcomeTable` is one slice of a dataset (e.g. `routerbench/arc_challenge`). Scores are in
[0, 1] with NaN for unknown cells (never read as 0); `costs_usd` is what that query cost (or an
estimate, see `costs_estimated`). Rows with `is_test` are for measuring only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatMatrix = NDArray[np.float64]
BoolVector = NDArray[np.bool_]


def is_test_prompt(prompt: str) -> bool:
    """The fixed split rule: TEST when the first hex digit of sha1(prompt) is 0-7."""
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()[0] in "01234567"


@dataclass(frozen=True)
class AnswerRecord:
    """One model's answer to one prompt: its text and, when recorded, per-token log-probs and margins."""

    text: str
    token_logprobs: tuple[float, ...] | None = None
    margins: tuple[float, ...] | None = None


AnswerGrid = tuple[tuple[AnswerRecord | None, ...], ...]  # (n_prompts, n_models)


@dataclass(frozen=True)
class OutcomeTable:
    """Outcomes of `models` on `prompts`; arrays are (n_prompts, n_models) or (n_prompts,)."""

    name: str
    prompts: list[str]
    models: tuple[str, ...]
    scores: FloatMatrix
    costs_usd: FloatMatrix
    is_test: BoolVector
    costs_estimated: bool = False
    notes: tuple[str, ...] = field(default=())
    answers: AnswerGrid | None = None

    def __post_init__(self) -> None:
        n, m = len(self.prompts), len(self.models)
        if self.scores.shape != (n, m) or self.costs_usd.shape != (n, m) or self.is_test.shape != (n,):
            raise ValueError(f"{self.name}: outcome arrays do not match {n} prompts x {m} models")
        if self.answers is not None and (len(self.answers) != n or any(len(row) != m for row in self.answers)):
            raise ValueError(f"{self.name}: answers do not match {n} prompts x {m} models")

    def subset(self, rows: BoolVector, suffix: str) -> OutcomeTable:
        index = np.flatnonzero(rows)
        return OutcomeTable(
            name=f"{self.name}:{suffix}",
            prompts=[self.prompts[i] for i in index],
            models=self.models,
            scores=self.scores[index],
            costs_usd=self.costs_usd[index],
            is_test=self.is_test[index],
            costs_estimated=self.costs_estimated,
            notes=self.notes,
            answers=None if self.answers is None else tuple(self.answers[i] for i in index),
        )

    def train(self) -> OutcomeTable:
        return self.subset(~self.is_test, "train")

    def test(self) -> OutcomeTable:
        return self.subset(self.is_test, "test")

    def filled_scores(self) -> FloatMatrix:
        """Scores with unknown cells replaced by that model's mean over the known ones."""
        known = ~np.isnan(self.scores)
        means = np.where(known, self.scores, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
        return np.where(known, self.scores, means[None, :])
