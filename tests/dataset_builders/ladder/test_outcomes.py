"""The ladder outcome generator's file handling: its reply cache, the split, the CSV it writes, its help."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_builders.ladder.outcomes import (
    Outcome,
    answers_file,
    build_parser,
    outcome_key,
    prompt_sha1,
    read_cache,
    split_of,
    token_records,
    write_outcomes,
)
from dataset_builders.ladder.questions import Question
from voxgate.config import default_models
from voxgate.evaluation.loaders import load_dataset, load_outcome_file


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


def test_token_log_probs_are_kept_compact_and_the_answers_file_replays_as_an_outcome_table(tmp_path: Path) -> None:
    raw = {"content": [
        {"token": "4", "logprob": -0.123456, "top_logprobs": [{"token": "4", "logprob": -0.123456},
                                                             {"token": "5", "logprob": -2.5}]},
        {"token": "2", "logprob": -0.5, "top_logprobs": []},
    ]}  # fmt: skip
    records = token_records(raw)
    assert records == [["4", -0.1235, [["4", -0.1235], ["5", -2.5]]], ["2", -0.5, []]]
    assert token_records(None) is None
    assert token_records({"content": None}) is None
    cards = default_models()
    question = Question("q-a", "arith-1", "What is 40 + 2?", "number", ("42",))
    done = {
        outcome_key(question, c.id): Outcome(question.id, c.id, 0.0, 10, 2, 0.1, "42" if i else "41",
                                             prompt_sha1(question.prompt), records if i else None)
        for i, c in enumerate(cards)
    }  # fmt: skip
    out = tmp_path / "ladder.csv"
    assert write_outcomes(out, [question], cards, done) == 1
    assert read_cache_roundtrip(tmp_path, done[outcome_key(question, cards[1].id)]).token_logprobs == records
    (table,) = load_dataset(answers_file(out), tmp_path)
    assert table.models == tuple(c.id for c in cards)
    assert table.scores.tolist() == [[0.0, 1.0, 1.0]]  # graded again from the replies
    assert table.answers is not None
    first, second = table.answers[0][0], table.answers[0][1]
    assert first is not None
    assert first.token_logprobs is None
    assert second is not None
    assert second.margins == pytest.approx((2.3765,))


def read_cache_roundtrip(tmp_path: Path, outcome: Outcome) -> Outcome:
    cache = tmp_path / "roundtrip.jsonl"
    cache.write_text(outcome.as_json() + "\n", encoding="utf-8")
    return next(iter(read_cache(cache).values()))
