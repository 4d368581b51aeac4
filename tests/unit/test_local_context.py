"""The bundled models' context: each card's `context_window` is what its llama.cpp server gives a slot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from voxgate.bundled_ladder import default_models
from voxgate.config import LocalRuntimeSettings, load_settings
from voxgate.core.errors import ConfigError
from voxgate.core.types import LocalWeights, ModelCard
from voxgate.models.local_server import LocalModelServer
from voxgate.runtime_settings import fitted_context_window


def _contexts(tmp_path: Path, text: str = "") -> dict[str, int]:
    path = tmp_path / "voxgate.yaml"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path, env={"HOME": str(tmp_path)})
    return {card.id: card.context_window for card in settings.models if card.is_embedded}


def test_each_bundled_model_gets_its_own_default_within_its_training_context(tmp_path: Path) -> None:
    assert _contexts(tmp_path) == {"smollm2-135m": 8192, "qwen2.5-coder-0.5b": 8192, "qwen2.5-coder-1.5b": 8192}
    for card in default_models():
        assert card.local_weights is not None
        assert card.local_weights.trained_context_tokens is not None
        assert card.context_window <= card.local_weights.trained_context_tokens


def test_local_context_tokens_sets_every_bundled_model_capped_at_its_training_context(tmp_path: Path) -> None:
    assert set(_contexts(tmp_path, "local_context_tokens: 4096\n").values()) == {4096}
    assert _contexts(tmp_path, "local_context_tokens: 32768\n") == {
        "smollm2-135m": 8192, "qwen2.5-coder-0.5b": 32768, "qwen2.5-coder-1.5b": 32768,
    }


def test_local_context_tokens_must_be_a_sensible_number(tmp_path: Path) -> None:
    for bad in ("100", "0", "many", "1000000"):
        with pytest.raises(ConfigError, match="local_context_tokens"):
            _contexts(tmp_path, f"local_context_tokens: {bad}\n")


def test_remote_cards_keep_their_declared_context(tmp_path: Path) -> None:
    text = (
        "local_context_tokens: 2048\nmodels:\n  - id: far\n    base_url: http://127.0.0.1:9/v1\n"
        "    context_window: 100000\n"
    )
    path = tmp_path / "voxgate.yaml"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path, env={"HOME": str(tmp_path)})
    far = settings.model("far")
    assert far is not None
    assert far.context_window == 100000
    assert all(card.context_window == 2048 for card in settings.models if card.is_embedded)


def test_a_model_without_a_known_training_context_is_not_capped() -> None:
    card = ModelCard("m", context_window=4096, local_weights=LocalWeights("m.gguf", ()))
    assert fitted_context_window(card, LocalRuntimeSettings()) == 4096
    assert fitted_context_window(card, LocalRuntimeSettings(context_tokens=65536)) == 65536


def test_the_server_gets_the_cards_context_for_every_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[tuple[Any, ...]] = []

    async def fake_exec(*command: Any, **_: Any) -> object:
        commands.append(command)
        return object()

    monkeypatch.setattr(asyncio, "create_subprocess_exec", fake_exec)
    runtime = LocalRuntimeSettings(parallel_slots=3)
    server = LocalModelServer("m", tmp_path / "m.gguf", runtime, tmp_path / "m.log", context_tokens=8192)
    asyncio.run(server._spawn(41234))
    (command,) = commands
    assert command[command.index("--ctx") + 1] == str(8192 * 3)
    assert command[command.index("--parallel") + 1] == "3"
