"""Real processes on loopback: voxgate servers and separate llama.cpp servers playing remote
models. Each binds 127.0.0.1 on a free port and is stopped by its own PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from voxgate.config import default_cache_dir, default_models
from voxgate.models.weights import assemble_weights

START_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http_ok(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"{url} process exited early:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout_s} s:\n{log_path.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class RunningProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_llama(alias: str, workdir: Path) -> RunningProcess:
    """A separate llama.cpp server (SmolLM2) playing a remote OpenAI-compatible model."""
    smollm = default_models()[0]
    assert smollm.local_weights is not None
    model_path = assemble_weights(smollm.local_weights, default_cache_dir())
    port = free_port()
    log_path = workdir / f"{alias}.log"
    command = [
        sys.executable, "-m", "voxgate.models.llama_process", "--model", str(model_path), "--alias",
        alias, "--port", str(port), "--threads", "1", "--ctx", "2048", "--parallel", "1",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    running = RunningProcess(process, port, log_path)
    try:
        wait_http_ok(f"{running.base_url}/health", process, log_path, START_TIMEOUT_S)
    except BaseException:
        stop_process(process)
        raise
    return running


def start_voxgate(workdir: Path, catalog_yaml: str | None = None) -> RunningProcess:
    """`voxgate serve` on a free loopback port, optionally with a catalog file; waits for /readyz."""
    port = free_port()
    log_path = workdir / "voxgate.log"
    env = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db")}
    command = [sys.executable, "-m", "voxgate.cli", "serve", "--port", str(port)]
    if catalog_yaml is not None:
        (workdir / "voxgate.yaml").write_text(catalog_yaml)
        command += ["--config", str(workdir / "voxgate.yaml")]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = RunningProcess(process, port, log_path)
    try:
        wait_http_ok(f"{running.base_url}/readyz", process, log_path, START_TIMEOUT_S)
    except BaseException:
        stop_process(process)
        raise
    return running


@pytest.fixture(scope="session")
def voxgate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """The README's main job: `voxgate serve` with the bundled local ladder, no keys."""
    running = start_voxgate(tmp_path_factory.mktemp("voxgate"))
    try:
        yield running
    finally:
        stop_process(running.process)
