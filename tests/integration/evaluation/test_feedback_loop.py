"""Feedback to a trained predictor, as a user runs it: serve with `log_content: true`, answer
through the OpenAI SDK, score answers with `POST /v1/decisions/{id}/feedback`, then
`voxgate outcomes` and `voxgate train` on the real decision log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.fake_upstream import serve_in_thread
from tests.support.processes import start_voxgate, stop_process
from voxgate.routing.learned.static_embedding import WordLlamaEmbedder
from voxgate.routing.learned.trained_predictor import load_predictor

pytestmark = pytest.mark.integration


def _voxgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voxgate.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _ask_and_score(base_url: str) -> int:
    """Maths only the big model gets right, greetings both get right; returns the feedback count."""
    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    sent = 0
    for i in range(30):
        for prompt, small_score in ((f"Compute {i * 37} times {i + 13} and explain each step", 0.0),
                                    (f"Say hello to my friend number {i}", 1.0)):
            for model, score in (("small", small_score), ("big", 1.0)):
                raw = client.chat.completions.with_raw_response.create(
                    model=model, messages=[{"role": "user", "content": prompt}]
                )
                decision_id = raw.headers["x-voxgate-decision-id"]
                reply = httpx.post(f"{base_url}/v1/decisions/{decision_id}/feedback", json={"score": score}, timeout=10)
                assert reply.status_code == 201, reply.text
                sent += 1
    return sent


def test_feedback_exports_to_outcomes_that_train_a_predictor(tmp_path: Path) -> None:
    with serve_in_thread() as upstream:
        catalog = (
            f"models:\n  - id: small\n    base_url: {upstream.base_url}\n"
            "    price: {input_per_mtok: 1, output_per_mtok: 1}\n"
            f"  - id: big\n    base_url: {upstream.base_url}\n    price: {{input_per_mtok: 10, output_per_mtok: 10}}\n"
            "include_default_models: false\nlog_content: true\nvoice: {enabled: false}\n"
        )
        server = start_voxgate(tmp_path, catalog)
        try:
            sent = _ask_and_score(server.base_url)
        finally:
            stop_process(server.process)
    exported = _voxgate("outcomes", "--database", str(tmp_path / "decisions.db"), "--out", "mine.csv", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"wrote 60 prompts x 2 models (big, small) from {sent} decisions" in exported.stdout
    trained = _voxgate("train", "mine.csv", "--out", "predictor", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    predictor = load_predictor(tmp_path / "predictor", WordLlamaEmbedder())
    predicted = predictor.predict(["Compute 999 times 41 and explain each step", "Say hello to my friend number 77"])
    assert predicted["small"][0] < 0.5 < predicted["small"][1]
    assert predicted["big"][0] > 0.5


def test_outcomes_without_a_log_or_prompts_says_what_to_do(tmp_path: Path) -> None:
    missing = _voxgate("outcomes", "--database", str(tmp_path / "none.db"), "--out", "x.csv", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no decision log at" in missing.stderr
    assert "pass --database" in missing.stderr
