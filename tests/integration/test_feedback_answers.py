"""Teach the gateway your traffic, end to end, as a user does it with the bundled models:

1. `voxgate serve` with `log_content: true` and `record_answers: true`; ask through the openai SDK;
2. score each answer with `POST /v1/decisions/{id}/feedback` (by checking the sum: a user's own grading);
3. `voxgate outcomes --out mine.csv`, then `voxgate train mine.csv --out trained --min-answers 10`;
4. serve again with `answer_checker: trained` (and `predictor: trained`): a cascade runs the
   learned check and its decision names the checker's version.

Sizes: 12 questions, so training needs `--min-answers 10` (the default, 100, is refused with the
fix), and every question is a TRAIN prompt by the sha1 rule (`is_test_prompt`), so all 12 scored
answers train the checker. Hard products go straight to SmolLM2-135M (it gets them wrong), easy
sums through a cascade: the feedback has good and bad answers.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.support.processes import RunningProcess, start_voxgate, stop_process
from voxgate.evaluation.outcomes import is_test_prompt

pytestmark = pytest.mark.integration
QUESTIONS = 12
CASCADE = {"strategy": "cascade", "cascade": {"models": ["smollm2-135m", "qwen2.5-coder-0.5b"]}}
SERVE_OPTIONS = "log_content: true\nrecord_answers: true\nvoice: {enabled: false}\n"


def _voxgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voxgate.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def _questions() -> list[tuple[str, int, str]]:
    """(question, its answer, the model asked): TRAIN prompts only, half hard products for the 135M."""
    questions: list[tuple[str, int, str]] = []
    for i in range(200):
        hard = len(questions) % 2 == 0
        a, b = (4817 + i, 293 + i) if hard else (2 + i % 7, 3 + i % 5)
        question = f"What is {a} {'*' if hard else '+'} {b}? Answer with only the number."
        if not is_test_prompt(question) and len(questions) < QUESTIONS:
            questions.append((question, a * b if hard else a + b, "smollm2-135m" if hard else "auto"))
    return questions


def _ask_and_score(server: RunningProcess) -> list[dict[str, Any]]:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
    decisions = []
    for question, expected, model in _questions():
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": question}], max_tokens=16, temperature=0,
            extra_body={"routing": CASCADE} if model == "auto" else None,
        )
        text = raw.parse().choices[0].message.content or ""
        score = 1.0 if str(expected) in text.replace(",", "") else 0.0
        decision_id = raw.headers["x-voxgate-decision-id"]
        reply = httpx.post(f"{server.base_url}/v1/decisions/{decision_id}/feedback", json={"score": score}, timeout=10)
        assert reply.status_code == 201, reply.text
        decisions.append(httpx.get(f"{server.base_url}/v1/decisions/{decision_id}", timeout=10).json())
    return decisions


def _assert_bad_feedback_is_refused_in_openais_shape(server: RunningProcess, decision_id: str) -> None:
    unknown = httpx.post(f"{server.base_url}/v1/decisions/dec_nope/feedback", json={"score": 1}, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "decision_not_found"
    assert "x-voxgate-decision-id" in unknown.json()["error"]["message"]
    for body, param in (({"score": "good"}, "score"), ({"score": 2}, "score"), ({"score": 1, "note": "x"}, "note")):
        bad = httpx.post(f"{server.base_url}/v1/decisions/{decision_id}/feedback", json=body, timeout=10)
        assert bad.status_code == 400, bad.text
        error = bad.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", param)
    not_json = httpx.post(f"{server.base_url}/v1/decisions/{decision_id}/feedback", content=b"{score:",
                          headers={"content-type": "application/json"}, timeout=10)
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_request_error"


def _assert_answers_recorded_not_logged(decisions: list[dict[str, Any]], log_path: Path) -> None:
    server_log = log_path.read_text(errors="replace")
    cascaded = [d for d in decisions if d["strategy"] == "cascade"]
    assert cascaded
    for decision in decisions:
        content = decision["content"]
        assert [a["model"] for a in content["answers"]][-1] == decision["answered_by"]
        assert content["answer"] == content["answers"][-1]["text"]
        for answer in content["answers"]:
            if len(answer["text"].strip()) >= 8:  # long enough not to occur by chance
                assert answer["text"] not in server_log
    for decision in cascaded:  # a cascade asks for log-probs: the checker's signals are kept
        stages = [s["model"] for s in decision["cascade"]["stages"]]
        assert [a["model"] for a in decision["content"]["answers"]] == stages
        assert all(a["token_logprobs"] for a in decision["content"]["answers"])


def _export_and_train(workdir: Path) -> str:
    exported = _voxgate("outcomes", "--database", str(workdir / "decisions.db"), "--out", "mine.csv", cwd=workdir)
    assert exported.returncode == 0, exported.stderr
    assert f"{QUESTIONS} scored answers for the answer checker" in exported.stdout
    refused = _voxgate("train", "mine.csv", "--out", "trained", cwd=workdir)
    assert refused.returncode == 1
    assert f"needs at least 100 scored answers in TRAIN rows, the sources have {QUESTIONS}" in refused.stderr
    assert "record_answers: true" in refused.stderr
    assert "--min-answers" in refused.stderr
    trained = _voxgate("train", "mine.csv", "--out", "trained", "--min-answers", "10", cwd=workdir)
    assert trained.returncode == 0, trained.stderr
    assert "trained answer checker" in trained.stdout
    assert "answer_checker: trained/answer_checker" in " ".join(trained.stdout.split())
    version = json.loads((workdir / "trained" / "answer_checker" / "checker.json").read_text())["version"]
    assert re.fullmatch(r"checker-v1-[0-9a-f]{12}", version)
    return str(version)


def _assert_an_export_without_answers_says_how_to_get_them(workdir: Path) -> None:
    with (workdir / "mine.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (workdir / "plain.csv").open("w", newline="") as handle:
        columns = [c for c in rows[0] if "|" not in c or c.endswith("|cost")]
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    plain = _voxgate("train", "plain.csv", "--out", "plain", cwd=workdir)
    assert plain.returncode == 0, plain.stderr
    said = " ".join(plain.stdout.split())
    assert "answer checker not trained: no source has answer texts" in said
    assert "record_answers: true" in said


@pytest.mark.timeout(900)  # two gateways start (the bundled ladder each time), and `voxgate train` runs twice
def test_feedback_on_your_traffic_trains_the_checker_a_cascade_then_runs(tmp_path: Path) -> None:
    first = start_voxgate(tmp_path, SERVE_OPTIONS, name="recording")
    try:
        decisions = _ask_and_score(first)
        _assert_bad_feedback_is_refused_in_openais_shape(first, decisions[0]["id"])
    finally:
        stop_process(first.process)
    _assert_answers_recorded_not_logged(decisions, first.log_path)
    version = _export_and_train(tmp_path)
    _assert_an_export_without_answers_says_how_to_get_them(tmp_path)
    checked = start_voxgate(tmp_path, SERVE_OPTIONS + "answer_checker: trained\npredictor: trained\n", name="checked")
    try:
        client = openai.OpenAI(base_url=f"{checked.base_url}/v1", api_key="unused", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "What is 5 + 6? Answer with only the number."}],
            max_tokens=16, temperature=0, extra_body={"routing": CASCADE},
        )
        decision = httpx.get(f"{checked.base_url}/v1/decisions/{raw.headers['x-voxgate-decision-id']}").json()
    finally:
        stop_process(checked.process)
    assert decision["strategy"] == "cascade"
    assert decision["checker_version"] == version
    first_stage = decision["cascade"]["stages"][0]
    learned = next(c for c in first_stage["checks"] if c["check"] == "learned")
    assert learned["status"] == "scored"
    assert version in learned["reason"]
    predictor = json.loads((tmp_path / "trained" / "predictor.json").read_text())
    assert decision["predictor_version"] == predictor["version"]  # the predictor trained on the same feedback
    assert f"cascade: learned answer checker {version}" in checked.log_path.read_text()
