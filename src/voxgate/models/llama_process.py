"""Process entry point: one llama.cpp server (via xllamacpp) for one model, on 127.0.0.1 only.

    python -m voxgate.models.llama_process --model PATH --alias ID --port PORT \\
        --threads N --ctx N --parallel N [--parent-pid PID]

Each model runs in its own process so a crash cannot take down the gateway and a test can stop
one by its PID. The server speaks OpenAI's HTTP API (/v1/chat/completions, /v1/models) and
/health. The process exits on SIGTERM or SIGINT, and on its own when its parent dies, so a
crashed gateway leaves no orphans (pass `--parent-pid` so a parent that dies before this
process has started is noticed too). Exit status 3 means the server could not start (bad model
file, or the port is taken); the log says which.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, NoReturn

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_PARENT_CHECK_INTERVAL_S = 1.0
EXIT_START_FAILED = 3


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m voxgate.models.llama_process")
    parser.add_argument("--model", required=True, help="path of the GGUF file")
    parser.add_argument("--alias", required=True, help="model id the server answers to")
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for generation")
    parser.add_argument("--ctx", type=int, default=4096, help="total context tokens, shared by all slots")
    parser.add_argument("--parallel", type=int, default=1, help="requests served at once (slots)")
    parser.add_argument(
        "--parent-pid", type=int, default=None, help="exit when this process is no longer our parent (default: ours)"
    )
    return parser.parse_args(argv)


def _start_server(args: argparse.Namespace) -> Any:
    import xllamacpp  # imported here: loading llama.cpp is this process's job, not the importer's

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}  # a set: a plain string would be split into characters
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.use_jinja = True
    params.ui = False
    params.endpoint_slots = False  # /slots would expose prompts in flight
    params.cors_origins = ""  # no browser page may read the answers
    params.offline = True
    params.cache_ram_mib = 256
    return xllamacpp.Server(params)


def _wait_for_stop(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        if signal.sigtimedwait(_STOP_SIGNALS, _PARENT_CHECK_INTERVAL_S) is not None:
            return


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT or until the parent process exits; return the exit status."""
    args = _parse_args(argv)
    parent_pid = args.parent_pid if args.parent_pid is not None else os.getppid()
    # Block the stop signals before llama.cpp starts its threads, so they inherit the mask
    # and only this thread receives the signals, in sigtimedwait.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        server = _start_server(args)
    except RuntimeError as exc:
        print(f"llama_process: {exc}", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    print(f"llama_process: serving {args.alias} on {server.listening_address}", flush=True)
    _wait_for_stop(parent_pid)
    _exit_while_serving(server)


def _exit_while_serving(server: Any) -> NoReturn:
    """End the process with the server still alive, so llama.cpp's destructor never runs.

    That destructor can wait forever for the server's main loop (seen in about one stop in
    three, right after start-up: "~Server: waiting for main loop exit"). Nothing on disk needs
    flushing; the OS reclaims memory and sockets.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if server is not None else 1)


if __name__ == "__main__":
    sys.exit(main())
