"""`voxgate eval ladder` on a small synthetic outcome file, and the generator's file handling."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from voxgate.config import default_models
from voxgate.core.types import ModelCard
from voxgate.evaluation.ladder_check import check_ladder, ladder_markdown
from voxgate.evaluation.ladder_outcomes import (
    Outcome,
    build_parser,
    outcome_key,
    prompt_sha1,
    read_cache,
    split_of,
    write_outcomes,
)
from voxgate.evaluation.ladder_questions import Question
from voxgate.evaluation.loaders import load_outcome_file
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


def test_outcomes_are_cached_resumed_and_written_in_the_eval_format(tmp_path: Path) -> None:
    cards = default_models()
    questions = [
        Question("q-a", "arith-1", "What is 2 + 2?", "number", ("4",)),
        Question("q-b", "fact-capital", "What is the capital of Peru?", "words", ("Lima",)),
    ]
    cache = tmp_path / "cache.jsonl"
    replies = {"q-a": "4", "q-b": "Lima"}
    lines = [Outcome(q.id, c.id, 0.0, 10, 2, 0.1, replies[q.id] if c is cards[2] else "no idea",
                     prompt_sha1(q.prompt)).as_json()
             for q in questions for c in cards]  # fmt: skip
    stale = Outcome("q-a", cards[0].id, 1.0, 10, 2, 0.1, "4", prompt_sha1("What is 3 + 3?")).as_json()
    cache.write_text("\n".join([stale, *lines[:-1]]) + "\n" + '{"torn": ', encoding="utf-8")
    done = read_cache(cache)
    assert len(done) == 6  # the torn line is ignored, its pair is asked again
    out = tmp_path / "ladder.csv"
    assert write_outcomes(out, questions, cards, done) == 1  # q-b lacks one model
    done[outcome_key(questions[1], cards[2].id)] = Outcome("q-b", cards[2].id, 0.0, 10, 2, 0.1, "Lima")
    assert write_outcomes(out, questions, cards, done) == 2
    table = load_outcome_file(out)
    assert table.models == tuple(c.id for c in cards)
    assert table.scores.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]  # graded again from the replies
    assert table.costs_usd[0, 2] == pytest.approx(cards[2].price.cost_usd(10, 2), rel=1e-3)
    assert table.is_test.tolist() == [split_of("q-a") == "test", split_of("q-b") == "test"]
    meta = (tmp_path / "ladder.questions.csv").read_text().splitlines()
    assert meta[0] == "id,category,split,prompt_sha1"
    assert meta[1].startswith("q-a,arith-1,")


def test_split_is_fixed_by_the_question_id() -> None:
    ids = [f"question-{i}" for i in range(400)]
    splits = [split_of(i) for i in ids]
    assert splits == [split_of(i) for i in ids]
    assert 0.25 < splits.count("test") / len(ids) < 0.5


def test_generator_help_teaches_the_workflow() -> None:
    text = build_parser().format_help()
    assert "requirements/ladder.txt" in text
    assert "voxgate train" in text
    assert "--limit" in text


def test_a_cached_reply_counts_only_for_the_prompt_it_answered(tmp_path: Path) -> None:
    """Another --seed or --per-level gives an id a new prompt: its old reply must be asked again."""
    cards = default_models()
    old = Question("arith2-003", "arith-2", "What is 12 + 30?", "number", ("42",))
    new = Question("arith2-003", "arith-2", "What is 55 - 17?", "number", ("38",))
    cache = tmp_path / "cache.jsonl"
    cache.write_text(Outcome(old.id, cards[0].id, 1.0, 10, 2, 0.1, "42", prompt_sha1(old.prompt)).as_json() + "\n")
    done = read_cache(cache)
    assert outcome_key(old, cards[0].id) in done
    assert outcome_key(new, cards[0].id) not in done
    legacy = Outcome(old.id, cards[0].id, 1.0, 10, 2, 0.1, "42").as_json()  # a cache line from before the hash
    cache.write_text(legacy + "\n")
    assert outcome_key(old, cards[0].id) not in read_cache(cache)
