"""The live ladder evaluation's pure parts: routers, summaries, the resumable answer file."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from voxgate import learning_cli
from voxgate.core.errors import VoxgateError
from voxgate.evaluation import ladder_live
from voxgate.evaluation.ladder_live import (
    GATEWAY_EACH,
    LiveAnswer,
    LiveQuestion,
    LiveRouter,
    asking_order,
    live_markdown,
    load_answers,
    routers_for,
    run_live,
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


def _questions(count: int) -> list[LiveQuestion]:
    return [LiveQuestion(f"q{i}", "arith-1", "test", f"What is {i} + 1?", 8, lambda _: 1.0) for i in range(count)]


def test_with_a_gateway_per_router_the_routers_take_turns_question_by_question() -> None:
    questions = _questions(4)
    auto, always = routers_for("big", ["auto", "always-big"])
    order = [(q.id, r.name) for q, r in asking_order(questions, [auto, always], interleaved=True)]
    assert order == [("q0", "auto"), ("q0", "always-big"), ("q1", "always-big"), ("q1", "auto"),
                     ("q2", "auto"), ("q2", "always-big"), ("q3", "always-big"), ("q3", "auto")]


def test_each_router_is_asked_through_its_own_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, str]] = []

    def fake_ask(client: object, url: str, question: LiveQuestion, router: LiveRouter, logprobs: bool) -> LiveAnswer:
        asked.append((url, question.id, router.name))
        return LiveAnswer(question.id, question.category, "test", router.name, 1.0, "big", 10.0, "")

    monkeypatch.setattr(ladder_live, "ask", fake_ask)
    routers = routers_for("big", ["auto", "always-big"])
    urls = {"auto": "http://127.0.0.1:1", "always-big": "http://127.0.0.1:2"}
    answers = run_live("http://unused", _questions(2), routers, tmp_path / "a.jsonl", router_urls=urls,
                       show_progress=False)
    assert asked == [("http://127.0.0.1:1", "q0", "auto"), ("http://127.0.0.1:2", "q0", "always-big"),
                     ("http://127.0.0.1:2", "q1", "always-big"), ("http://127.0.0.1:1", "q1", "auto")]
    assert len(answers) == 4
    asked.clear()
    run_live("http://shared", _questions(2), routers, tmp_path / "b.jsonl", router_urls={"auto": urls["auto"]},
             show_progress=False)  # not every router has its own: router by router, the rest through --url
    assert asked == [("http://127.0.0.1:1", "q0", "auto"), ("http://127.0.0.1:1", "q1", "auto"),
                     ("http://shared", "q0", "always-big"), ("http://shared", "q1", "always-big")]
    asked.clear()
    same = {"auto": urls["auto"], "always-big": urls["auto"]}  # one gateway named twice: its cache is shared
    run_live("http://unused", _questions(2), routers, tmp_path / "c.jsonl", router_urls=same, show_progress=False)
    assert [(q, r) for _, q, r in asked] == [("q0", "auto"), ("q1", "auto"), ("q0", "always-big"), ("q1", "always-big")]


def test_router_urls_name_a_router_and_a_gateway_or_say_how_to() -> None:
    routers = ["auto", "always-big"]
    assert learning_cli._router_urls(["auto=http://127.0.0.1:8081"], routers) == {"auto": "http://127.0.0.1:8081"}
    for bad in ("predict=http://127.0.0.1:8081", "auto", "auto=127.0.0.1:8081"):
        with pytest.raises(VoxgateError, match="ROUTER=URL"):
            learning_cli._router_urls([bad], routers)


def test_the_report_says_how_the_questions_were_asked() -> None:
    summaries = summarise([_answer("auto", 1.0, DEAREST, 10.0)], DEAREST)
    assert "prompt cache" in live_markdown("t", summaries, DEAREST)
    assert GATEWAY_EACH in live_markdown("t", summaries, DEAREST, GATEWAY_EACH)
