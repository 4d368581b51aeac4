"""Fuzz voxgate's HTTP API with schemathesis, generated from its own /openapi.json (the long run).

Run: flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.fuzz_http --cases 10000 [--workers 2]

Starts a scripted fake upstream (tests/fake_upstream: a fast OpenAI-compatible model server, so the
run exercises voxgate's input handling, not model speed) and `voxgate serve` on free loopback
ports, sends the cases from `--workers` processes (generation is the slow part), then checks the
server is alive and healthy and reads its own count of 5xx from /metrics. Prints a table and
appends it to bench/results/fuzz_http.md. The checks per case: tests/support/http_fuzz.py.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.fake_upstream import serve_in_thread
from tests.support.http_fuzz import FUZZ_ENV, auth_headers, fuzz_catalog, fuzz_http
from tests.support.processes import free_port, start_process, stop_process, wait_http_ok

RESULTS = Path(__file__).parent / "results" / "fuzz_http.md"


def _worker(args: tuple[str, int, int]) -> dict[str, Any]:
    base_url, cases, seed = args
    report = fuzz_http(base_url, cases, seed)
    return {"cases": report.cases, "by_operation": dict(report.by_operation), "statuses": dict(report.statuses),
            "server_errors": report.server_errors, "failures": report.failures,
            "failure_count": report.failure_count, "elapsed_s": report.elapsed_s}


def _server_5xx(metrics_text: str) -> int:
    pattern = re.compile(r'^voxgate_requests_total\{[^}]*status="5\d\d"[^}]*\} ([0-9.e+]+)$', re.MULTILINE)
    return int(sum(float(m) for m in pattern.findall(metrics_text)))


def _table(results: list[dict[str, Any]], health: dict[str, Any], args: argparse.Namespace) -> str:
    operations: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for result in results:
        operations.update(result["by_operation"])
        statuses.update({int(k): v for k, v in result["statuses"].items()})
    cases = sum(r["cases"] for r in results)
    failures = sum(r["failure_count"] for r in results)
    elapsed_s = max(r["elapsed_s"] for r in results)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now}, {platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} after",
        "",
        f"Command: `.venv/bin/python -m bench.fuzz_http --cases {args.cases} --workers {args.workers}`",
        "",
        "| cases sent | failed checks | 5xx seen by the client | 5xx counted by the server | server alive after "
        "| /healthz after | a chat request after | time |",
        "|---|---|---|---|---|---|---|---|",
        f"| {cases} | {failures} | {sum(r['server_errors'] for r in results)} | {health['server_5xx']} "
        f"| {health['alive']} | {health['healthz']} | {health['chat']} | {elapsed_s:.0f} s |",
        "",
        "| operation (generation mode) | cases |",
        "|---|---|",
        *[f"| {name} | {count} |" for name, count in sorted(operations.items())],
        "",
        "Statuses: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
        "",
    ]
    for result in results:
        lines += [f"    {failure}" for failure in result["failures"][:5]]
    return "\n".join(lines) + "\n"


def _health(base_url: str, process: Any) -> dict[str, Any]:
    alive = process.poll() is None
    healthz = httpx.get(f"{base_url}/healthz", timeout=10).status_code if alive else None
    body = {"model": "auto", "messages": [{"role": "user", "content": "still there?"}]}
    auth = auth_headers("/v1/chat/completions")
    chat = httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=auth, timeout=30).status_code \
        if alive else None
    server_5xx = _server_5xx(httpx.get(f"{base_url}/metrics", headers=auth, timeout=10).text) if alive else None
    return {"alive": alive, "healthz": healthz, "chat": chat, "server_5xx": server_5xx}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="requests to send in all (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="generator processes (default 2)")
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to bench/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread() as upstream:
        workdir = Path(tmp)
        (workdir / "voxgate.yaml").write_text(fuzz_catalog(upstream.base_url, voice=True))
        port = free_port()
        env = {**os.environ, "VOXGATE_DB": str(workdir / "decisions.db"), **FUZZ_ENV}
        command = [sys.executable, "-m", "voxgate.cli", "serve", "--port", str(port), "--config",
                   str(workdir / "voxgate.yaml"), "--log-level", "warning"]
        process = start_process(command, workdir / "voxgate.log", env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_http_ok(f"{base_url}/readyz", process, workdir / "voxgate.log")
            jobs = [(base_url, args.cases // args.workers, 100_003 * index) for index in range(args.workers)]
            with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
                results = pool.map(_worker, jobs)
            health = _health(base_url, process)
        finally:
            stop_process(process)
    table = _table(results, health, args)
    print(table)
    if not args.no_save:
        if not RESULTS.exists():
            RESULTS.write_text("# HTTP fuzzing (`bench/fuzz_http.py`)\n\n" + (__doc__ or "").split("\n\n")[2] + "\n\n")
        with RESULTS.open("a") as results_file:
            results_file.write(table + "\n")
    clean = all(r["failure_count"] == 0 and r["server_errors"] == 0 for r in results) and health["server_5xx"] == 0
    return 0 if clean and health["alive"] and health["healthz"] == 200 and health["chat"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
