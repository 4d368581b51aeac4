"""The live ladder evaluation's pure parts: routers, summaries, the resumable answer file."""

from __future__ import annotations

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
    answers = [_answer("cascade", 1.0, "smollm2-135m", 100.0), _answer("cascade", 0.0, DEAREST, 300.0),
               _answer("cascade", 1.0, DEAREST, 500.0), _answer("predict", 1.0, DEAREST, 200.0)]
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


def test_every_router_goes_first_equally_often_and_questions_stay_paired() -> None:
    """A model server keeps the last prompt's cache: a fixed order would start later routers warm."""
    questions = [LiveQuestion(f"q{i}", "arith-1", "test", f"What is {i} + 1?", 8, lambda _: 1.0) for i in range(6)]
    routers = routers_for("big", ["auto", "predict", "always-big"])
    order = asking_order(questions, routers)
    assert len(order) == 18
    for start in range(0, 18, 3):  # question by question, each asked of every router once
        block = order[start : start + 3]
        assert len({q.id for q, _ in block}) == 1
        assert {r.name for _, r in block} == {r.name for r in routers}
    firsts = [order[start][1].name for start in range(0, 18, 3)]
    assert {name: firsts.count(name) for name in firsts} == {"auto": 2, "predict": 2, "always-big": 2}
