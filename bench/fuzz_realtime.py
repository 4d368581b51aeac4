"""Fuzz the realtime WebSocket API with hypothesis-generated sessions (the long run).

Run: flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.fuzz_realtime --frames 5000

Starts the scripted fake upstream (replies come fast; the target is voxgate's input handling) and
`voxgate serve` with real speech engines (Silero VAD, Whisper tiny.en, espeak-ng), sends the
frames (tests/support/realtime_fuzz.py says what they are and what passes), then checks the
server: alive, /healthz, a fresh session opens, no traceback in its log. Prints a table and
appends it to bench/results/fuzz_realtime.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.fake_upstream import serve_in_thread
from tests.support.http_fuzz import fuzz_catalog
from tests.support.processes import free_port, start_process, stop_process, wait_http_ok
from tests.support.realtime_fuzz import RealtimeFuzzReport, fuzz_realtime, server_log_problems

RESULTS = Path(__file__).parent / "results" / "fuzz_realtime.md"


async def _fresh_session_opens(url: str) -> bool:
    async with connect(url, open_timeout=30) as socket:
        return bool(json.loads(await socket.recv())["type"] == "session.created")


def _table(report: RealtimeFuzzReport, health: dict[str, object], frames: int) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now}, {platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} after",
        "",
        f"Command: `.venv/bin/python -m bench.fuzz_realtime --frames {frames}`",
        "",
        "| sessions | frames sent | failed sessions | server closes | server alive after | /healthz after "
        "| a fresh session opens | tracebacks in the server log | time |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {report.sessions} | {report.frames} | {report.failure_count} | {dict(report.closes) or 0} "
        f"| {health['alive']} | {health['healthz']} | {health['fresh_session']} | {health['log_problems']} "
        f"| {report.elapsed_s:.0f} s |",
        "",
        "Frames by kind: " + ", ".join(f"{k} {v}" for k, v in report.frames_by_kind.most_common()),
        "",
        "Error codes answered: " + ", ".join(f"{k} {v}" for k, v in report.error_codes.most_common()),
        "",
        "Server events: " + ", ".join(f"{k} {v}" for k, v in report.server_events.most_common()),
        "",
        *[f"    {failure}" for failure in report.failures[:5]],
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=5_000, help="frames to send in all (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to bench/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread() as upstream:
        workdir = Path(tmp)
        (workdir / "voxgate.yaml").write_text(fuzz_catalog(upstream.base_url, voice=True))
        port = free_port()
        env = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db")}
        command = [sys.executable, "-m", "voxgate.cli", "serve", "--port", str(port), "--config",
                   str(workdir / "voxgate.yaml")]
        process = start_process(command, workdir / "voxgate.log", env)
        base_url = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        try:
            wait_http_ok(f"{base_url}/readyz", process, workdir / "voxgate.log", timeout_s=300)
            report = fuzz_realtime(url, args.frames, args.seed)
            alive = process.poll() is None
            health: dict[str, object] = {
                "alive": alive,
                "healthz": httpx.get(f"{base_url}/healthz", timeout=10).status_code if alive else None,
                "fresh_session": asyncio.run(_fresh_session_opens(url)) if alive else False,
            }
        finally:
            stop_process(process)
        health["log_problems"] = len(server_log_problems((workdir / "voxgate.log").read_text(errors="replace")))
    table = _table(report, health, args.frames)
    print(table)
    if not args.no_save:
        if not RESULTS.exists():
            RESULTS.write_text("# Realtime fuzzing (`bench/fuzz_realtime.py`)\n\n" + (__doc__ or "").split("\n\n")[2]
                               + "\n\n")
        with RESULTS.open("a") as results_file:
            results_file.write(table + "\n")
    clean = report.failure_count == 0 and health["log_problems"] == 0 and health["fresh_session"]
    return 0 if clean and health["healthz"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
