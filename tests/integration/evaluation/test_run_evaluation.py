"""End to end: a user's outcome file -> trained routers -> report directory with every figure."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from voxgate.evaluation import run_evaluation
from voxgate.routing.learned import HashingEmbedder

ROUTERS = {"voxgate", "random", "oracle", "knn-5", "knn-10", "knn-40", "mlp", "small", "big"}


def _write_outcomes(path: Path, rows: int) -> None:
    """'small' fails the maths prompts and passes the chat ones; 'big' passes almost all, at 20x the price."""
    rng = random.Random(0)
    topics = ["weather", "music", "travel", "cooking", "films", "sport"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "small", "big", "small|cost", "big|cost"])
        for i in range(rows):
            hard = i % 3 == 0
            topic = rng.choice(topics)
            prompt = (
                f"solve the integral equation {i} step by step" if hard else f"chat about {topic} please {i}"
            )
            small = 0 if hard else int(rng.random() < 0.9)
            big = int(rng.random() < 0.92)
            writer.writerow([prompt, small, big, 0.0001, 0.002])


def test_run_evaluation_on_a_user_file_writes_the_whole_report(tmp_path: Path) -> None:
    data = tmp_path / "outcomes.csv"
    _write_outcomes(data, 420)
    out_dir = tmp_path / "report"
    figures = run_evaluation(
        data, tmp_path, out_dir, tmp_path / "cache", embedder=HashingEmbedder(dim=64), show_progress=False
    )

    on_disk = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert on_disk == figures
    assert set(figures) == {"file/outcomes"}
    routers = figures["file/outcomes"]
    assert set(routers) == ROUTERS
    for name, entry in routers.items():
        assert set(entry) <= {"aiq", "apgr", "cpt50", "cpt80", "points"}, name
        assert all(len(point) == 2 for point in entry["points"])
    voxgate, rand = routers["voxgate"], routers["random"]
    assert voxgate["apgr"] > 0.75
    assert 0.3 < rand["apgr"] < 0.7
    assert voxgate["cpt50"] < 40.0
    assert voxgate["aiq"] > rand["aiq"]
    assert "| voxgate |" in (out_dir / "report.md").read_text(encoding="utf-8")
    assert (out_dir / "file_outcomes.png").stat().st_size > 10_000
    details = json.loads((out_dir / "details.json").read_text(encoding="utf-8"))
    assert details["file/outcomes"]["best_single_model"] == "big"
