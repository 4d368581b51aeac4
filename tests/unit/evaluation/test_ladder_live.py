"""The live ladder evaluation's pure parts: routers, summaries, the resumable answer file."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from voxgate.evaluation.ladder_live import (
    LiveAnswer,
    LiveQuestion,
    asking_order,
    live_markdown,
    load_answers,
    routers_for,
    summarise,
)

DEAREST = "qwen2.5-coder-1.5b"


def _answer(router: str, score: float, model: str, latency_ms: float) -> LiveAnswer:
    return LiveAnswer("q", "arith-1", "test", router, score, model, latency_ms, "")


def test_routers_ask_the_gateway_as_a_client_would() -> None:
    predict, cascade, always = routers_for(DEAREST, ["predict", "cascade", f"always-{DEAREST}"])
    assert (predict.model, predict.routing) == ("auto", {"strategy": "predict"})
    assert (cascade.model, cascade.routing) == ("auto:cascade", None)
    assert always.model == DEAREST
    with pytest.raises(ValueError, match="unknown routers"):
        routers_for(DEAREST, ["magic"])


def test_summary_counts_accuracy_smaller_share_and_latency() -> None:
    answers = [
        _answer("cascade", 1.0, "smollm2-135m", 100.0),
        _answer("cascade", 0.0, DEAREST, 300.0),
        _answer("cascade", 1.0, DEAREST, 500.0),
        _answer("predict", 1.0, DEAREST, 200.0),
    ]
    cascade, predict = summarise(answers, DEAREST)
    assert cascade.accuracy == pytest.approx(2 / 3)
    assert cascade.smaller_share == pytest.approx(1 / 3)
    assert cascade.mean_latency_ms == pytest.approx(300.0)
    assert 300.0 < cascade.p95_latency_ms <= 500.0
    assert predict.questions == 1
    assert "| cascade | 3 | 0.667 | 33% |" in live_markdown("t", [cascade, predict], DEAREST)


def test_answers_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    answers = [_answer("cascade", 1.0, "smollm2-135m", 10.0), _answer("predict", 0.0, DEAREST, 20.0)]
    path.write_text("".join(json.dumps(asdict(a)) + "\n" for a in answers), encoding="utf-8")
    assert load_answers(path) == answers
    assert load_answers(tmp_path / "missing.jsonl") == []


def test_routers_ask_in_turn_so_no_request_follows_the_same_prompt() -> None:
    """A model server keeps the last prompt's cache: question by question, a later router started warm."""
    questions = [LiveQuestion(f"q{i}", "arith-1", "test", f"What is {i} + 1?", 8, lambda _: 1.0) for i in range(6)]
    routers = routers_for("big", ["auto", "predict", "always-big"])
    order = asking_order(questions, routers)
    assert sorted((q.id, r.name) for q, r in order) == sorted((q.id, r.name) for q in questions for r in routers)
    prompts = [q.prompt for q, _ in order]
    assert all(earlier != later for earlier, later in itertools.pairwise(prompts))


def test_a_run_cut_short_is_summarised_over_the_questions_every_router_answered() -> None:
    answers = [
        LiveAnswer("q1", "arith-1", "test", "cascade", 1.0, DEAREST, 100.0, ""),
        LiveAnswer("q2", "arith-1", "test", "cascade", 0.0, DEAREST, 900.0, ""),
        LiveAnswer("q1", "arith-1", "test", "predict", 0.0, DEAREST, 200.0, ""),
    ]
    cascade, predict = summarise(answers, DEAREST)
    assert (cascade.questions, cascade.accuracy, cascade.mean_latency_ms) == (1, 1.0, 100.0)
    assert (predict.questions, predict.accuracy) == (1, 0.0)
