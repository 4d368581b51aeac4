"""Child processes on loopback for tests and benchmarks: each binds 127.0.0.1 on a free port,
logs to its own file, is waited for until an HTTP URL answers 200 and is stopped by its own PID.

    server = start_voxgate(workdir)                 # `voxgate serve`, ready (/readyz)
    try:
        httpx.get(f"{server.base_url}/v1/models")
    finally:
        stop_process(server.process)

Also Debian's `redis-server` (`start_redis`) and PostgreSQL (`start_postgres`, run as the
`postgres` user; `stop_postgres`), waited for until they answer.
A process that exits or is not ready in time raises `RuntimeError` with the end of its log.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from voxgate.config import default_cache_dir, default_models
from voxgate.models.weights import assemble_weights

START_TIMEOUT_S = 300.0
STOP_GRACE_S = 15.0
POLL_INTERVAL_S = 0.3
LOG_TAIL_CHARS = 3000


@dataclass(frozen=True)
class RunningProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_process(
    command: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` with stdout and stderr into `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, env=None if env is None else dict(env)
        )


def wait_http_ok(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = START_TIMEOUT_S
) -> None:
    """Return once `url` answers 200; raise if `process` exits first or `timeout_s` passes."""
    wait_ready(url, lambda: _http_answers(url), process, log_path, timeout_s)


def _http_answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_process(process: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM by PID, SIGKILL after `grace_s`; nothing if it has already exited."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def start_ready(
    command: Sequence[str], ready_path: str, port: int, log_path: Path, env: Mapping[str, str] | None = None
) -> RunningProcess:
    """Start `command` (which serves on `port`) and wait for `ready_path`; stopped again if that fails."""
    url = f"http://127.0.0.1:{port}{ready_path}"
    return start_probed(command, port, log_path, url, lambda: _http_answers(url), env)


def start_probed(
    command: Sequence[str], port: int, log_path: Path, what: str, probe: Callable[[], bool],
    env: Mapping[str, str] | None = None,
) -> RunningProcess:
    """Start `command` (which serves on `port`) and wait until `probe()`; stopped again if that fails."""
    running = RunningProcess(start_process(command, log_path, env), port, log_path)
    try:
        wait_ready(what, probe, running.process, log_path)
    except BaseException:
        stop_process(running.process)
        raise
    return running


def start_voxgate(
    workdir: Path,
    catalog_yaml: str | None = None,
    *,
    name: str = "voxgate",
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> RunningProcess:
    """`voxgate serve` on a free port, optionally with a catalog file, ready (/readyz).

    Logs to `<workdir>/<name>.log`; the decision log is `<workdir>/decisions.db` unless `env`
    sets `VOXGATE_DB`; `env` adds to this process's environment, `args` to the command line.
    """
    port = free_port()
    command = [sys.executable, "-m", "voxgate.cli", "serve", "--port", str(port), *args]
    if catalog_yaml is not None:
        (workdir / f"{name}.yaml").write_text(catalog_yaml, encoding="utf-8")
        command += ["--config", str(workdir / f"{name}.yaml")]
    environment = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db"), **(env or {})}
    return start_ready(command, "/readyz", port, workdir / f"{name}.log", environment)


def wait_ready(what: str, probe: Callable[[], bool], process: subprocess.Popen[bytes], log_path: Path,
               timeout_s: float = START_TIMEOUT_S) -> None:
    """Return once `probe()` is true (a probe that raises OSError counts as not yet); raise if
    `process` exits first or `timeout_s` passes, with the end of its log."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited early:\n{_log_tail(log_path)}")
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(POLL_INTERVAL_S)
    raise RuntimeError(f"{what} not ready after {timeout_s} s:\n{_log_tail(log_path)}")


def _redis_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def start_redis(workdir: Path, port: int | None = None) -> RunningProcess:
    """Debian's `redis-server` on loopback, persisting to `workdir` (append-only file), so a
    restart on the same `port` finds its counters again."""
    port = port or free_port()
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
               "--appendonly", "yes", "--save", "", "--protected-mode", "yes"]
    log_path = workdir / f"redis-{port}.log"
    return start_probed(command, port, log_path, f"redis on {port}", lambda: _redis_answers(port))


def _as_postgres_user(command: Sequence[str]) -> list[str]:
    """Postgres refuses to run as root: drop to Debian's `postgres` user (setpriv execs, so the
    PID stays the server's own and `stop_process` reaches it)."""
    if os.geteuid() != 0:
        return list(command)
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]


def postgres_data_dir(workdir: Path) -> Path:
    """The cluster of `workdir`'s Postgres: under the system temp dir, since the `postgres` user
    cannot enter pytest's private folders. Remove it with `shutil.rmtree` when done."""
    digest = hashlib.sha256(str(workdir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"voxgate-pg-{digest}"


def start_postgres(workdir: Path, port: int | None = None) -> RunningProcess:
    """Debian's PostgreSQL on loopback with a fresh cluster (or the one already there for
    `workdir`: a restart on the same `port` keeps the data). `postgres_url(running)` connects to it."""
    port = port or free_port()
    data = postgres_data_dir(workdir)
    log_path = workdir / f"postgres-{port}.log"
    if not data.exists():
        data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres")
        subprocess.run(_as_postgres_user([_pg_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "voxgate"]),
                       check=True, capture_output=True)
    command = _as_postgres_user([_pg_binary("postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
                                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
    return start_probed(command, port, log_path, f"postgres on {port}", lambda: _postgres_answers(port))


def stop_postgres(process: subprocess.Popen[bytes]) -> None:
    """Postgres's fast shutdown (SIGINT): SIGTERM would wait for every client to disconnect."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
    stop_process(process)


def postgres_url(running: RunningProcess) -> str:
    return f"postgresql://voxgate@127.0.0.1:{running.port}/postgres"


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: apt-get install postgresql")
    return str(found)


def _postgres_answers(port: int) -> bool:
    import psycopg

    try:
        psycopg.connect(f"postgresql://voxgate@127.0.0.1:{port}/postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def start_llama(alias: str, workdir: Path) -> RunningProcess:
    """A separate llama.cpp server (the bundled SmolLM2) playing a remote OpenAI-compatible model."""
    smollm = default_models()[0]
    assert smollm.local_weights is not None
    model_path = assemble_weights(smollm.local_weights, default_cache_dir())
    port = free_port()
    command = [
        sys.executable, "-m", "voxgate.models.llama_process", "--model", str(model_path), "--alias", alias,
        "--port", str(port), "--threads", "1", "--ctx", "2048", "--parallel", "1",
    ]  # fmt: skip
    return start_ready(command, "/health", port, workdir / f"{alias}.log")


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
