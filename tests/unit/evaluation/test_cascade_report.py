"""`voxgate eval` on outcomes with answers: the cascade routers join report.json in its usual shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from voxgate.evaluation.runner import run_evaluation
from voxgate.routing.learned.embedding import HashingEmbedder


def _pair_file(path: Path, rows: int = 120) -> Path:
    """A weak model whose arithmetic is wrong a third of the time (and says so), a strong one always right."""
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "weak", "strong", "weak|cost", "strong|cost", "weak|answer", "strong|answer"])
        for i in range(rows):
            a, b = int(rng.integers(10, 99)), int(rng.integers(10, 99))
            ok = bool(rng.random() < 0.66)
            weak_answer = f"{a} * {b} = {a * b if ok else a * b - 3}"
            strong_answer = f"{a} * {b} = {a * b}"
            writer.writerow([f"Compute {a} * {b} for case {i}", int(ok), 1, 0.001, 0.02, weak_answer, strong_answer])
    return path


def test_cascade_routers_are_reported_with_routerbench_judges_and_routellm_figures(tmp_path: Path) -> None:
    source = _pair_file(tmp_path / "pair.csv")
    report = run_evaluation(source, tmp_path, tmp_path / "report", tmp_path / "cache", embedder=HashingEmbedder(),
                            show_progress=False)  # fmt: skip
    routers = report["file/pair"]
    for name in ("voxgate-cascade", "routerbench-cascade-0.1", "routerbench-cascade-0.2", "voxgate", "mlp"):
        assert {"aiq", "apgr", "points"} <= set(routers[name]), name
    assert "agreement" not in routers  # two models: no pair cheaper than the strongest
    # the checker recomputes the weak model's arithmetic and escalates its wrong answers first; a perfect
    # ranking of 34 % wrong answers scores APGR 1 - 0.34 / 2 = 0.83, a prompt-only router about 0.5
    assert routers["voxgate-cascade"]["apgr"] > 0.75
    assert routers["voxgate-cascade"]["apgr"] > routers["voxgate"]["apgr"] + 0.15
    details = json.loads((tmp_path / "report" / "details.json").read_text())["file/pair"]
    assert details["cascade"]["checker"]["version"].startswith("checker-v1-")
    assert "agreement" in details["cascade"]
    assert (tmp_path / "report" / "checkers" / "file_pair" / "checker.json").is_file()
    assert "| voxgate-cascade |" in (tmp_path / "report" / "report.md").read_text()
