"""The bundled ladder's predictor is the default predictor when the ladder is in the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxgate import config
from voxgate.bundled_ladder import bundled_outcomes_file, bundled_predictor_dir
from voxgate.config import load_settings


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "shipped"
    directory.mkdir()
    (directory / "predictor.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(config, "bundled_predictor_dir", lambda: directory)
    return directory


def _settings(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "voxgate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def test_the_shipped_predictor_is_the_default_for_the_bundled_ladder(tmp_path: Path, shipped: Path) -> None:
    assert load_settings(None, env={}).predictor_path == shipped
    assert _settings(tmp_path, "predictor: heuristic\n").predictor_path is None
    remote = (
        "include_default_models: false\nmodels:\n  - id: mine\n    base_url: http://127.0.0.1:9/v1\n"
    )
    assert _settings(tmp_path, remote).predictor_path is None  # it knows none of these models


def test_no_shipped_predictor_means_the_heuristic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "bundled_predictor_dir", lambda: tmp_path / "missing")
    assert load_settings(None, env={}).predictor_path is None


def test_the_ladder_data_ships_inside_the_package() -> None:
    package = Path(config.__file__).parent
    assert bundled_predictor_dir().is_relative_to(package)
    assert bundled_outcomes_file().is_relative_to(package)
    if bundled_predictor_dir().exists():  # a source checkout before the first generation has none
        assert (bundled_predictor_dir() / "predictor.json").is_file()
        assert (bundled_predictor_dir() / "weights.npz").is_file()
        assert bundled_outcomes_file().is_file()
