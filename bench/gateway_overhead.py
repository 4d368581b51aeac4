"""Gateway overhead: the fixed upstream called directly, through voxgate, through voxgate with a
virtual key (keys, budgets and rate limits on: a key with a day budget, RPM and TPM it never
reaches), the same with its counters in Redis (cluster mode: Debian's redis-server on loopback),
and through LiteLLM's proxy, in the same run, at 1, 8 and 32 concurrent keep-alive clients.

Run: .venv/bin/python -m bench.gateway_overhead [--duration-s 8] [--rounds 3] [--skip-litellm]
         [--variant main:PYTHONPATH=/path/to/main/src ...]

Each `--variant LABEL:NAME=VALUE,...` adds one more keyed voxgate (`voxgate+keys@LABEL`) started with
those environment variables: another checkout's code (`PYTHONPATH`) measured in the same run. `{redis}`
in a value is the bench's Redis URL, so `main-redis:PYTHONPATH=/work/main/src,VOXGATE_REDIS_URL={redis}`
is main's code in cluster mode.

LiteLLM lives in its own virtual environment (~/.cache/voxgate-bench/litellm-venv), never in
voxgate's dependencies; this script creates it with the pinned, known-good release and refuses
an environment with unexpected *.pth files. Every server binds 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.loadgen import LoadResult, run_load
from bench.server_variant import Variant
from tests.support.processes import (
    free_port,
    start_process,
    start_redis,
    start_voxgate,
    stop_process,
    wait_http_ok,
)

LITELLM_VERSION = "1.106.0"
LITELLM_VENV = Path.home() / ".cache" / "voxgate-bench" / "litellm-venv"
EXPECTED_PTH = {"distutils-precedence.pth"}
LITELLM_KEY = "sk-voxgate-bench-" + os.urandom(8).hex()
BODY = {"messages": [{"role": "user", "content": "Hello there, how are you?"}], "max_tokens": 16}
ADMIN_KEY = "sk-voxgate-bench-admin-" + os.urandom(8).hex()
KEY_SPEC = {"name": "bench", "budget_usd": {"day": 1_000_000}, "rpm": 1_000_000_000, "tpm": 1_000_000_000}


def ensure_litellm() -> Path:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        print(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
                       check=True)
    pth_files = {p.name for p in LITELLM_VENV.glob("lib/python*/site-packages/*.pth")}
    if pth_files - EXPECTED_PTH:
        raise SystemExit(f"refusing LiteLLM venv with unexpected .pth files: {sorted(pth_files - EXPECTED_PTH)}")
    return binary


Targets = dict[str, tuple[int, str, dict[str, str]]]


def start_keyed_voxgate(workdir: Path, catalog: str, processes: list[subprocess.Popen[bytes]],
                        env: dict[str, str] | None = None) -> tuple[int, str]:
    """Another voxgate with an admin key (and `env`), and a virtual key with limits it never reaches."""
    workdir.mkdir()
    keyed = start_voxgate(workdir, catalog, args=["--log-level", "warning"],
                          env={"VOXGATE_ADMIN_KEY": ADMIN_KEY, **(env or {})})
    processes.append(keyed.process)
    created = httpx.post(f"{keyed.base_url}/v1/admin/keys", json=KEY_SPEC,
                         headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    created.raise_for_status()
    return keyed.port, str(created.json()["key"])


def start_servers(workdir: Path, with_litellm: bool, processes: list[subprocess.Popen[bytes]],
                  variants: tuple[Variant, ...] = ()) -> Targets:
    """Start the servers, appending each to `processes` at once so the caller stops them even
    when a later one fails to start."""
    upstream_port, litellm_port = free_port(), free_port()
    processes.append(start_process([sys.executable, "-m", "bench.fixed_upstream", "--port", str(upstream_port)],
                                   workdir / "upstream.log"))
    wait_http_ok(f"http://127.0.0.1:{upstream_port}/v1/models", processes[0], workdir / "upstream.log")
    catalog = (f"models:\n  - id: fixed\n    base_url: http://127.0.0.1:{upstream_port}/v1\n"
               "    price: {input_per_mtok: 1, output_per_mtok: 2}\ninclude_default_models: false\n")
    voxgate = start_voxgate(workdir, catalog, args=["--log-level", "warning"])
    processes.append(voxgate.process)
    keyed_port, key = start_keyed_voxgate(workdir / "keyed", catalog, processes)
    redis = start_redis(workdir)
    processes.append(redis.process)
    cluster_catalog = catalog + f"redis: redis://127.0.0.1:{redis.port}/0\n"
    cluster_port, cluster_key = start_keyed_voxgate(workdir / "cluster", cluster_catalog, processes)
    targets: Targets = {"direct": (upstream_port, "fixed", {}), "voxgate": (voxgate.port, "auto", {}),
                        "voxgate+keys": (keyed_port, "auto", {"Authorization": f"Bearer {key}"}),
                        "voxgate+keys+redis": (cluster_port, "auto", {"Authorization": f"Bearer {cluster_key}"})}
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    for variant in variants:
        env = {name: value.replace("{redis}", redis_url) for name, value in variant.env.items()}
        port, variant_key = start_keyed_voxgate(workdir / f"variant-{variant.label}", catalog, processes, env)
        targets[f"voxgate+keys@{variant.label}"] = (port, "auto", {"Authorization": f"Bearer {variant_key}"})
    if with_litellm:
        config = workdir / "litellm.yaml"
        config.write_text(json.dumps({
            "model_list": [{"model_name": "fixed", "litellm_params": {
                "model": "openai/fixed", "api_base": f"http://127.0.0.1:{upstream_port}/v1", "api_key": "x"}}],
            "general_settings": {"master_key": LITELLM_KEY},
        }))
        processes.append(start_process([str(ensure_litellm()), "--config", str(config), "--host", "127.0.0.1", "--port",
                                str(litellm_port), "--num_workers", "1"], workdir / "litellm.log"))
        wait_http_ok(f"http://127.0.0.1:{litellm_port}/health/liveliness", processes[-1], workdir / "litellm.log")
        targets["litellm"] = (litellm_port, "fixed", {"Authorization": f"Bearer {LITELLM_KEY}"})
    return targets


async def measure(targets: Targets, concurrency: int, duration_s: float, rounds: int = 1) -> dict[str, LoadResult]:
    """Each target `rounds` times, the order reversed every other round (so drift in the machine's
    load falls on all alike); a target's rounds are pooled."""
    pooled: dict[str, list[LoadResult]] = {name: [] for name in targets}
    names = list(targets)
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:
            port, model, headers = targets[name]
            body = json.dumps({**BODY, "model": model}).encode()
            if round_index == 0:
                await run_load("127.0.0.1", port, "/v1/chat/completions", body, concurrency=concurrency,
                               duration_s=1.0, headers=headers)
            pooled[name].append(await run_load("127.0.0.1", port, "/v1/chat/completions", body,
                                               concurrency=concurrency, duration_s=duration_s, headers=headers))
    return {name: _pool(results) for name, results in pooled.items()}


def _pool(results: list[LoadResult]) -> LoadResult:
    return LoadResult(concurrency=results[0].concurrency, requests=sum(r.requests for r in results),
                      errors=sum(r.errors for r in results), duration_s=sum(r.duration_s for r in results),
                      latencies_ms=[latency for r in results for latency in r.latencies_ms])


def print_table(all_results: dict[int, dict[str, LoadResult]]) -> None:
    print("| clients | target | p50 ms | p99 ms | req/s | added p50 ms vs direct | errors |")
    print("|---|---|---|---|---|---|---|")
    for concurrency, results in all_results.items():
        direct = results["direct"]
        for name, r in results.items():
            added = "" if name == "direct" else f"{r.p50_ms - direct.p50_ms:.2f}"
            print(f"| {concurrency} | {name} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests_per_s:.0f} | {added} | "
                  f"{r.errors} |")
    print()
    print("| clients | target | added p50 ms over plain voxgate | throughput / plain voxgate |")
    print("|---|---|---|---|")
    for concurrency, level in all_results.items():
        plain = level["voxgate"]
        for name in [n for n in level if n.startswith("voxgate+")]:
            throughput = level[name].requests_per_s / plain.requests_per_s
            print(f"| {concurrency} | {name} | {level[name].p50_ms - plain.p50_ms:+.2f} | {throughput:.2f}x |")
    if all("litellm" in r for r in all_results.values()):
        print()
        print("| clients | target | target / litellm throughput | litellm added p50 / target added p50 |")
        print("|---|---|---|---|")
        for concurrency, level in all_results.items():
            for name in [n for n in level if n.startswith("voxgate")]:
                target_added = max(level[name].p50_ms - level["direct"].p50_ms, 1e-3)
                lite_added = level["litellm"].p50_ms - level["direct"].p50_ms
                print(f"| {concurrency} | {name} | {level[name].requests_per_s / level['litellm'].requests_per_s:.2f}x"
                      f" | {lite_added / target_added:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-s", type=float, default=8.0, help="seconds of load per target and level")
    parser.add_argument("--skip-litellm", action="store_true", help="measure direct and voxgate only")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=1, help="measure each target this many times, order alternating")
    parser.add_argument("--variant", type=Variant.parse, action="append", default=[],
                        help="LABEL:NAME=VALUE,...: one more keyed voxgate with these environment variables")
    args = parser.parse_args()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="voxgate-bench-") as tmp:
        try:
            targets = start_servers(Path(tmp), not args.skip_litellm, processes, tuple(args.variant))
            all_results = {c: asyncio.run(measure(targets, c, args.duration_s, args.rounds)) for c in args.concurrency}
        finally:
            for process in reversed(processes):
                stop_process(process)
    print_table(all_results)


if __name__ == "__main__":
    main()
