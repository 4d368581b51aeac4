"""`voxgate outcomes`: decisions with feedback in a real SQLite decision log -> an outcome file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from voxgate.core.types import JSONObject
from voxgate.evaluation.feedback_export import export_feedback_outcomes
from voxgate.evaluation.loaders import load_outcome_file
from voxgate.store.sqlite import SQLiteDecisionLog


def _decision(decision_id: str, prompt: str | None, model: str | None, cost_usd: float | None) -> JSONObject:
    decision: JSONObject = {"id": decision_id, "created_at": float(len(decision_id)), "chosen": model,
                            "answered_by": model, "outcome": "ok" if model else "error", "cost_usd": cost_usd}
    if prompt is not None:
        decision["content"] = {"prompt": prompt}
    return decision


async def _log(path: Path, rows: list[tuple[JSONObject, list[float]]]) -> None:
    log = SQLiteDecisionLog(path)
    await log.open()
    try:
        for decision, scores in rows:
            log.record(decision)
            for i, score in enumerate(scores):
                assert await log.add_feedback(str(decision["id"]), 100.0 + i, score, None)
    finally:
        await log.close()


async def test_feedback_becomes_one_row_per_prompt_with_unknown_cells_empty(tmp_path: Path) -> None:
    database = tmp_path / "decisions.db"
    await _log(database, [
        (_decision("d1", "What is 17 * 23?", "small", 0.001), [0.0, 0.5]),    # two scores: mean 0.25
        (_decision("d2", "What is 17 * 23?", "big", 0.01), [1.0]),            # same prompt, other model
        (_decision("d3", "Say hello", "small", 0.001), [1.0]),
        (_decision("d4", None, "big", 0.01), [1.0]),                          # log_content was off
        (_decision("d5", "Fails", None, None), [0.0]),                        # no model answered
        (_decision("d6", "No feedback", "big", 0.01), []),
    ])
    export = export_feedback_outcomes(database, tmp_path / "out" / "outcomes.csv")
    assert (export.rows, export.models, export.decisions_used) == (2, ("big", "small"), 3)
    assert (export.without_prompt, export.unanswered) == (1, 1)
    table = load_outcome_file(tmp_path / "out" / "outcomes.csv")
    assert table.prompts == ["What is 17 * 23?", "Say hello"]
    assert table.models == ("big", "small")
    assert table.scores[0].tolist() == [1.0, 0.25]
    assert math.isnan(table.scores[1, 0])  # unknown, not 0
    assert table.scores[1, 1] == 1.0
    assert table.costs_usd[0].tolist() == [0.01, 0.001]
    assert table.costs_usd[1, 0] == 0.01  # an unknown cost takes the model's mean known cost
    assert any(note.startswith("25% of the score cells are unknown") for note in table.notes)


async def test_a_log_without_usable_feedback_says_how_to_get_some(tmp_path: Path) -> None:
    database = tmp_path / "decisions.db"
    await _log(database, [(_decision("d1", None, "big", 0.01), [1.0])])
    with pytest.raises(ValueError, match="set `log_content: true`"):
        export_feedback_outcomes(database, tmp_path / "outcomes.csv")
    assert not (tmp_path / "outcomes.csv").exists()
    with pytest.raises(ValueError, match=r"no decision log at .*missing\.db; pass --database"):
        export_feedback_outcomes(tmp_path / "missing.db", tmp_path / "outcomes.csv")
    (tmp_path / "notes.txt").write_text("not a database, just notes\n" * 100)
    with pytest.raises(ValueError, match=r"notes\.txt is not a voxgate decision log"):
        export_feedback_outcomes(tmp_path / "notes.txt", tmp_path / "outcomes.csv")


async def test_logged_answers_become_answer_columns_the_checker_trains_on(tmp_path: Path) -> None:
    database = tmp_path / "decisions.db"
    first = _decision("d1", "What is 17 * 23?", "small", 0.001)
    first["content"] = {"prompt": "What is 17 * 23?", "answer": "17 * 23 equals 411."}
    later = _decision("d22", "What is 17 * 23?", "small", 0.001)
    later["content"] = {"prompt": "What is 17 * 23?", "answer": "17 * 23 = 391"}
    big = _decision("d333", "What is 17 * 23?", "big", 0.01)  # logged before answers were: no answer
    await _log(database, [(first, [0.0]), (later, [1.0]), (big, [1.0])])
    export_feedback_outcomes(database, tmp_path / "outcomes.csv")
    table = load_outcome_file(tmp_path / "outcomes.csv")
    assert table.models == ("big", "small")
    assert table.answers is not None
    assert table.answers[0][0] is None
    assert table.answers[0][1] is not None
    assert table.answers[0][1].text == "17 * 23 = 391"
    assert table.scores[0].tolist() == [1.0, 0.5]


async def test_recorded_answers_export_with_their_signals_and_the_escalated_stages_as_peers(tmp_path: Path) -> None:
    database = tmp_path / "decisions.db"
    cascaded = _decision("d1", "What is 17 * 23?", "big", 0.011)
    cascaded["content"] = {"prompt": "What is 17 * 23?", "answer": "391", "answers": [
        {"model": "small", "text": "411", "token_logprobs": [-1.12], "margins": [0.04]},
        {"model": "big", "text": "391", "token_logprobs": [-0.01], "margins": [6.5]},
    ]}
    direct = _decision("d22", "Say hello", "small", 0.001)  # predict path, no log-probs upstream
    direct["content"] = {"prompt": "Say hello", "answer": "Hello!", "answers": [{"model": "small", "text": "Hello!"}]}
    await _log(database, [(cascaded, [1.0]), (direct, [1.0])])
    export = export_feedback_outcomes(database, tmp_path / "outcomes.csv")
    assert export.scored_answers == 2  # the escalated stage's answer has no score of its own
    table = load_outcome_file(tmp_path / "outcomes.csv")
    assert table.models == ("big", "small")
    assert table.answers is not None
    big, small = table.answers[0]
    assert big is not None
    assert small is not None
    assert (big.text, big.token_logprobs, big.margins) == ("391", (-0.01,), (6.5,))
    assert (small.text, small.token_logprobs, small.margins) == ("411", (-1.12,), (0.04,))
    assert table.scores[0, 0] == 1.0
    assert math.isnan(table.scores[0, 1])  # the user scored the answer they got, not the stage's
    hello = table.answers[1][1]
    assert hello is not None
    assert (hello.text, hello.token_logprobs, hello.margins) == ("Hello!", None, None)


async def test_recorded_answers_go_with_their_decisions_under_the_retention(tmp_path: Path) -> None:
    database, day_s = tmp_path / "decisions.db", 86_400.0
    log = SQLiteDecisionLog(database, retention_days=32)
    await log.open()
    try:
        for decision_id, created_at, answer in (("old", 0.0, "secret old answer"), ("new", 40 * day_s, "fresh")):
            decision = {**_decision(decision_id, f"prompt {decision_id}", "small", 0.001), "created_at": created_at}
            decision["content"] = {"prompt": f"prompt {decision_id}", "answer": answer,
                                   "answers": [{"model": "small", "text": answer}]}
            log.record(decision)
            await log.flush()
            assert await log.add_feedback(decision_id, created_at + 1, 1.0, None)
    finally:
        await log.close()
    export_feedback_outcomes(database, tmp_path / "outcomes.csv")
    text = (tmp_path / "outcomes.csv").read_text()
    assert "fresh" in text
    assert "secret old answer" not in text
