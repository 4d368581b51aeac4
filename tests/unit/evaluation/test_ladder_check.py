"""`voxgate eval ladder` on a small synthetic outcome file."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from voxgate.config import default_models
from voxgate.core.types import ModelCard
from voxgate.evaluation.ladder_check import check_ladder, ladder_markdown
from voxgate.routing.features import PromptFeatures
from voxgate.routing.predictor import QualityEstimate

SMALL, MEDIUM, LARGE = (card.id for card in default_models())


class TablePredictor:
    """Predicts from a fixed table: prompt -> {model: quality}."""

    version = "table-v1"
    cpu_heavy = False

    def __init__(self, table: Mapping[str, Mapping[str, float]]) -> None:
        self._table = table

    def predict(
        self, prompt_text: str, features: PromptFeatures, cards: Sequence[ModelCard]
    ) -> Mapping[str, QualityEstimate]:
        return {c.id: QualityEstimate(self._table[prompt_text][c.id], self.version) for c in cards}


def _write_outcomes(path: Path, rows: list[tuple[str, tuple[float, float, float], str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", SMALL, MEDIUM, LARGE, f"{SMALL}|cost", f"{MEDIUM}|cost", f"{LARGE}|cost", "split"])
        for prompt, scores, split in rows:
            writer.writerow([prompt, *scores, 1e-6, 3e-6, 9e-6, split])


def test_check_replays_each_mode_through_the_router(tmp_path: Path) -> None:
    # Easy prompts: every model right, predictor says so -> balanced picks the smallest.
    # Hard prompts: only the large model right, predictor says so -> balanced picks it.
    rows = [(f"easy {i}", (1.0, 1.0, 1.0), "test") for i in range(4)]
    rows += [(f"hard {i}", (0.0, 0.0, 1.0), "test") for i in range(4)]
    rows += [("train row", (0.0, 0.0, 0.0), "train")]
    outcomes = tmp_path / "outcomes.csv"
    _write_outcomes(outcomes, rows)
    table = {f"easy {i}": {SMALL: 0.9, MEDIUM: 0.92, LARGE: 0.93} for i in range(4)}
    table |= {f"hard {i}": {SMALL: 0.1, MEDIUM: 0.3, LARGE: 0.8} for i in range(4)}
    check = check_ladder(outcomes, default_models(), TablePredictor(table), tmp_path / "report")
    results = {r.router: r for r in check.results}
    assert check.test_rows == 8
    assert check.reference == LARGE
    assert results["quality"].shares[LARGE] == 1.0
    assert results["balanced"].accuracy == 1.0
    assert results["balanced"].shares == {SMALL: 0.5, MEDIUM: 0.0, LARGE: 0.5}
    assert results[f"always-{SMALL}"].accuracy == 0.5
    assert results["oracle"].cost_usd == pytest.approx(4 * 1e-6 + 4 * 9e-6)
    assert check.target_met
    assert "target met" in check.verdict
    assert (check.answerable_rows, check.balanced_smaller_share_answerable) == (8, 0.5)
    saved = json.loads((tmp_path / "report" / "ladder.json").read_text())
    assert saved["results"][1]["router"] == "balanced"
    assert "| balanced | 1.000 | +0.0 pts | 56% | 50% | 0% | 50% |" in ladder_markdown(check)


def test_check_reports_a_miss(tmp_path: Path) -> None:
    rows = [(f"q {i}", (0.0, 0.0, 1.0), "test") for i in range(4)]
    outcomes = tmp_path / "outcomes.csv"
    _write_outcomes(outcomes, rows)
    fooled = {f"q {i}": {SMALL: 0.9, MEDIUM: 0.9, LARGE: 0.9} for i in range(4)}
    check = check_ladder(outcomes, default_models(), TablePredictor(fooled))
    assert not check.target_met
    assert "-100.0 points" in check.verdict
