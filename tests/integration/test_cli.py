"""`voxgate route` and `voxgate models` against the running server, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration


def _voxgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxgate.cli", *args], capture_output=True, text=True, timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_route_prints_a_readable_table(voxgate_server: RunningProcess) -> None:
    prompt = "Write a Python function that reverses a string."
    result = _voxgate("route", prompt, "--mode", "quality", "--url", voxgate_server.base_url)
    assert result.returncode == 0, result.stderr
    assert "chosen qwen2.5-coder-1.5b" in result.stdout
    assert "why: quality" in result.stdout
    for model in ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        assert model in result.stdout
    assert "lower predicted quality" in result.stdout
    assert "quality from: " in result.stdout


def test_route_says_when_a_prompt_is_unlike_the_predictors_training_data(voxgate_server: RunningProcess) -> None:
    result = _voxgate("route", "Tell me a joke about cats", "--url", voxgate_server.base_url)
    assert result.returncode == 0, result.stderr
    assert "quality from: heuristic-v1: prompt unlike the training data of learned-" in " ".join(result.stdout.split())


def test_route_json_and_constraints(voxgate_server: RunningProcess) -> None:
    result = _voxgate("route", "hi", "--require", "tools", "--json", "--url", voxgate_server.base_url)
    decision = json.loads(result.stdout)
    assert decision["chosen"] in {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    smollm = next(c for c in decision["candidates"] if c["model"] == "smollm2-135m")
    assert smollm["reason"] == "lacks required capability: tools"


def test_route_impossible_constraint_exits_non_zero_with_reasons(voxgate_server: RunningProcess) -> None:
    result = _voxgate("route", "hi", "--max-latency-ms", "1", "--url", voxgate_server.base_url)
    assert result.returncode == 1
    assert "max_latency_ms" in result.stderr


def test_models_lists_catalog_with_health(voxgate_server: RunningProcess) -> None:
    result = _voxgate("models", "--url", voxgate_server.base_url)
    assert result.returncode == 0, result.stderr
    assert "qwen2.5-coder-1.5b" in result.stdout
    assert "auto:quality" in result.stdout
    assert " ok " in result.stdout


def test_unreachable_server_says_how_to_fix() -> None:
    result = _voxgate("models", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "voxgate serve" in result.stderr


def test_help_teaches() -> None:
    result = _voxgate("--help")
    assert "examples:" in result.stdout
    assert "voxgate route" in result.stdout
