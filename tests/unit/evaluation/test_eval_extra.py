"""`voxgate eval` without the `eval` extra (matplotlib): a message naming the extra, before any work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from voxgate import cli


def test_eval_without_matplotlib_names_the_extra_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("prompt,small,big\nhello,1,1\n", encoding="utf-8")
    report = tmp_path / "report"
    assert cli.main(["eval", str(outcomes), "--out", str(report)]) == 1
    message = capsys.readouterr().err
    assert "matplotlib" in message
    assert "pip install 'voxgate[eval]'" in message
    assert not report.exists()


def test_eval_ladder_needs_no_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert cli.main(["eval", "ladder", "--out", str(tmp_path / "ladder")]) == 0
    assert (tmp_path / "ladder" / "ladder.json").exists()
    assert "| balanced |" in capsys.readouterr().out
