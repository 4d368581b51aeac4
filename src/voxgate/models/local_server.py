"""Embedded models as child processes: one llama.cpp server per model, on 127.0.0.1.

`LocalModelServer` runs `python -m voxgate.models.llama_process` for one GGUF file on a free
loopback port, waits until `/health` answers 200 and stops the process by its own PID.
`start_local_models` assembles the weights of every embedded card, starts one server per card
concurrently, optionally measures each with one tiny request, and returns a `LocalFleet`:
the cards with `base_url` filled in, the measurements, and `stop()`.

Context: each server gets `context_tokens * parallel_slots` tokens of KV cache, so every one
of its `parallel_slots` concurrent requests can use the card's full `context_window` (which
`config` has already fitted: `local_context_tokens`, at most the weights' training context).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

import httpx

from voxgate.config import LocalRuntimeSettings
from voxgate.core.errors import ModelAssemblyError
from voxgate.core.types import LocalWeights, ModelCard
from voxgate.models.weights import assemble_weights

log = logging.getLogger("voxgate.models")

_HEALTH_POLL_INTERVAL_S = 0.1
_PORT_ATTEMPTS = 3
_PORT_TAKEN_MARKER = "couldn't bind"
_LOG_TAIL_BYTES = 4000
_WARMUP_MAX_TOKENS = 24
_WARMUP_PROMPT = "Count from one to twenty in words, separated by commas."


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_file_name(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", model_id) + ".log"


class _PortTakenError(Exception):
    """Another process took the port between our probe and the server's bind."""


class LocalModelServer:
    """One llama.cpp server process serving one GGUF file under the name `model_id`."""

    def __init__(
        self, model_id: str, model_path: Path, runtime: LocalRuntimeSettings, log_path: Path, *, context_tokens: int
    ) -> None:
        self.model_id = model_id
        self.model_path = model_path
        self.runtime = runtime
        self.context_tokens = context_tokens
        """Tokens each of the `runtime.parallel_slots` slots holds (the card's `context_window`)."""
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. "http://127.0.0.1:41234/v1"."""
        if self._port is None:
            raise RuntimeError(f"local model {self.model_id} is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def pid(self) -> int:
        """The server process's id."""
        if self._process is None:
            raise RuntimeError(f"local model {self.model_id} is not started")
        return self._process.pid

    @property
    def port(self) -> int | None:
        return self._port

    async def wait_exit(self) -> int:
        """Wait until the process ends; its exit status (negative: killed by that signal)."""
        if self._process is None:
            raise RuntimeError(f"local model {self.model_id} is not started")
        return await self._process.wait()

    @property
    def exit_status(self) -> int | None:
        """None while the process runs (or before it starts); its exit status after."""
        return None if self._process is None else self._process.returncode

    async def __aenter__(self) -> LocalModelServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self, preferred_port: int | None = None) -> None:
        """Start the process and wait until it serves; raise ModelAssemblyError with its log if not.

        `preferred_port` (a restart's old port) is tried first, so the base URL usually stays.
        """
        deadline_s = time.monotonic() + self.runtime.start_timeout_s
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(_PORT_ATTEMPTS):
            port = preferred_port if attempt == 0 and preferred_port else _free_loopback_port()
            await self._spawn(port)
            try:
                await self._wait_healthy(port, deadline_s)
            except _PortTakenError:
                await self._kill()
                continue
            except BaseException:
                await self._kill()
                raise
            self._port = port
            return
        raise ModelAssemblyError(f"local model {self.model_id}: no free loopback port after {_PORT_ATTEMPTS} tries")

    async def _spawn(self, port: int) -> None:
        runtime = self.runtime
        command = [
            sys.executable, "-m", "voxgate.models.llama_process",
            "--model", str(self.model_path), "--alias", self.model_id, "--port", str(port),
            "--threads", str(runtime.threads), "--parallel", str(runtime.parallel_slots),
            "--ctx", str(self.context_tokens * runtime.parallel_slots), "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        with self.log_path.open("wb") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the gateway, which stops us in order
            )

    async def _wait_healthy(self, port: int, deadline_s: float) -> None:
        url = f"http://127.0.0.1:{port}/health"
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                self._raise_if_exited()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                if time.monotonic() > deadline_s:
                    raise ModelAssemblyError(
                        f"local model {self.model_id} did not become healthy within "
                        f"{self.runtime.start_timeout_s:.0f} s; last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                await asyncio.sleep(_HEALTH_POLL_INTERVAL_S)

    def _raise_if_exited(self) -> None:
        if self._process is None or self._process.returncode is None:
            return
        tail = self.log_tail()
        if _PORT_TAKEN_MARKER in tail:
            raise _PortTakenError
        raise ModelAssemblyError(
            f"local model {self.model_id} exited with status {self._process.returncode} while starting; "
            f"last lines of {self.log_path}:\n{tail}"
        )

    def log_tail(self, max_lines: int = 20) -> str:
        """The last lines of the server's log (start-up diagnostics; prompts are not logged)."""
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(max(0, log_file.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-max_lines:])

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()

    async def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process by its PID, wait up to `grace_s`, then SIGKILL. Idempotent."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            log.warning("local model %s (pid %d) ignored SIGTERM for %.0f s; killing it", self.model_id,
                        process.pid, grace_s)  # fmt: skip
            await self._kill()


@dataclass
class LocalFleet:
    """Running embedded models: resolved cards, their servers and warm-up measurements."""

    cards: tuple[ModelCard, ...]
    servers: tuple[LocalModelServer, ...]
    warmup: dict[str, tuple[float, float]] = field(default_factory=dict)
    """model id -> (ttft_ms, tokens_per_s) measured with one tiny request at start-up."""

    async def stop(self) -> None:
        """Stop every server (concurrently)."""
        await _stop_all(self.servers)


async def _stop_all(servers: Sequence[LocalModelServer]) -> None:
    async with asyncio.TaskGroup() as tasks:
        for server in servers:
            tasks.create_task(server.stop())


async def _assemble_all(weights_by_id: dict[str, LocalWeights], cache_dir: Path) -> dict[str, Path]:
    """Assemble every model's weights in worker threads, concurrently (hashing is I/O and C code)."""
    tasks: dict[str, asyncio.Task[Path]] = {}
    async with asyncio.TaskGroup() as group:
        for model_id, weights in weights_by_id.items():
            tasks[model_id] = group.create_task(asyncio.to_thread(assemble_weights, weights, cache_dir))
    return {model_id: task.result() for model_id, task in tasks.items()}


async def start_local_models(cards: Sequence[ModelCard], cache_dir: Path, runtime: LocalRuntimeSettings) -> LocalFleet:
    """Assemble weights and start one server per embedded card (cards without weights are skipped).

    Returns the fleet with each card's `base_url` and `api_model` pointing at its server. On
    failure or cancellation every server already started is stopped; failures are reported as
    one ModelAssemblyError that names each model and quotes its log.
    """
    embedded = [card for card in cards if card.local_weights is not None]
    weights_by_id = {card.id: card.local_weights for card in cards if card.local_weights is not None}
    servers: list[LocalModelServer] = []
    try:
        paths = await _assemble_all(weights_by_id, cache_dir)
        servers = [
            LocalModelServer(card.id, paths[card.id], runtime, cache_dir / "logs" / _log_file_name(card.id),
                             context_tokens=card.context_window)
            for card in embedded
        ]
        started_s = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for server in servers:
                group.create_task(server.start())
        for server in servers:
            log.info("local model %s serving at %s (pid %d)", server.model_id, server.base_url, server.pid)
        log.info("%d local models started in %.1f s", len(servers), time.monotonic() - started_s)
        warmup = await measure_warmup(servers) if runtime.warmup else {}
    except BaseExceptionGroup as group:
        await _stop_all(servers)
        if all(isinstance(error, ModelAssemblyError) for error in group.exceptions):
            raise ModelAssemblyError("\n".join(str(error) for error in group.exceptions)) from group
        raise
    except BaseException:
        await _stop_all(servers)
        raise
    resolved = tuple(
        replace(card, base_url=server.base_url, api_model=card.id)
        for card, server in zip(embedded, servers, strict=True)
    )
    return LocalFleet(resolved, tuple(servers), warmup)


async def measure_warmup(servers: Sequence[LocalModelServer]) -> dict[str, tuple[float, float]]:
    """Send one tiny streamed request to each server, one at a time; return id -> (ttft_ms, tokens/s).

    A server whose warm-up fails is left out (and logged); it still serves.
    """
    results: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(timeout=60.0, trust_env=False) as client:
        for server in servers:
            try:
                results[server.model_id] = await _measure_one(client, server)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("warm-up of local model %s failed: %s", server.model_id, type(exc).__name__)
    return results


async def _measure_one(client: httpx.AsyncClient, server: LocalModelServer) -> tuple[float, float]:
    body = {
        "model": server.model_id,
        "messages": [{"role": "user", "content": _WARMUP_PROMPT}],
        "max_tokens": _WARMUP_MAX_TOKENS,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    sent_s = time.perf_counter()
    first_token_s: float | None = None
    content_chunks = 0
    usage_tokens: int | None = None
    async with client.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line.removeprefix("data: "))
            if chunk.get("usage"):
                usage_tokens = int(chunk["usage"]["completion_tokens"])
            if any(choice.get("delta", {}).get("content") for choice in chunk.get("choices", [])):
                first_token_s = first_token_s or time.perf_counter()
                content_chunks += 1
    done_s = time.perf_counter()
    if first_token_s is None:
        raise ValueError("no tokens")
    tokens = usage_tokens or content_chunks
    decode_s = done_s - first_token_s
    tokens_per_s = (tokens - 1) / decode_s if tokens > 1 and decode_s > 0 else tokens / (done_s - sent_s)
    return (first_token_s - sent_s) * 1000.0, tokens_per_s
