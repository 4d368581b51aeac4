"""What a larger context costs a bundled llama.cpp server: resident memory and short-prompt latency.

For one bundled model, one server per context size (tokens a slot) is started the way the gateway
starts it (`LocalModelServer`: same threads and slots, `--ctx` = tokens a slot x slots), all at
once; then short chat requests go to each in turn, round after round (so outside load hits every
size alike), and each server's RSS (VmRSS, and its anonymous part RssAnon) is read after start and
after the requests.

    flock /work/notes/heavy.lock timeout 600 nice -n 5 .venv/bin/python -m bench.local_context_cost \\
        --model qwen2.5-coder-1.5b --contexts 4096,8192,16384 --rounds 5 [--out bench/results/local_context.md]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from voxgate.bundled_ladder import default_models
from voxgate.config import LocalRuntimeSettings, default_cache_dir
from voxgate.models.local_server import LocalModelServer
from voxgate.models.weights import assemble_weights

PROMPTS = (
    "What is the capital of France? Answer in one word.",
    "Write a Python expression that adds 2 and 3.",
    "Name a primary colour.",
)
MAX_TOKENS = 16


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) of a process in MiB."""
    lines = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024


async def ask_s(client: httpx.AsyncClient, server: LocalModelServer, prompt: str) -> float:
    body = {"model": server.model_id, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": MAX_TOKENS, "temperature": 0}  # fmt: skip
    started = time.perf_counter()
    response = await client.post(f"{server.base_url}/chat/completions", json=body)
    response.raise_for_status()
    return time.perf_counter() - started


async def measure(model_id: str, contexts: list[int], rounds: int, logs: Path) -> list[str]:
    card = next(card for card in default_models() if card.id == model_id)
    assert card.local_weights is not None
    path = await asyncio.to_thread(assemble_weights, card.local_weights, default_cache_dir())
    runtime = LocalRuntimeSettings()
    servers = [
        LocalModelServer(model_id, path, runtime, logs / f"{model_id}-{ctx}.log", context_tokens=ctx)
        for ctx in contexts
    ]
    for server in servers:  # one at a time: a start is CPU-heavy
        await server.start()
    try:
        started = {server.context_tokens: rss_mib(server.pid) for server in servers}
        times: dict[int, list[float]] = {ctx: [] for ctx in contexts}
        async with httpx.AsyncClient(timeout=120, trust_env=False) as client:
            for server in servers:  # one warm-up each, not counted
                await ask_s(client, server, PROMPTS[0])
            for index in range(rounds):
                for server in servers:
                    times[server.context_tokens].append(await ask_s(client, server, PROMPTS[index % len(PROMPTS)]))
        after = {server.context_tokens: rss_mib(server.pid) for server in servers}
    finally:
        for server in servers:
            await server.stop()
    base_ms = statistics.median(times[contexts[0]]) * 1000
    rows = []
    for ctx in contexts:
        median_ms = statistics.median(times[ctx]) * 1000
        rows.append(
            f"| {model_id} | {ctx:,} | {ctx * runtime.parallel_slots:,} | {started[ctx][0]:,.0f} "
            f"({started[ctx][1]:,.0f}) | {after[ctx][0]:,.0f} ({after[ctx][1]:,.0f}) | {median_ms:,.0f} "
            f"| {median_ms / base_ms:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, help="bundled model id (repeatable)")
    parser.add_argument("--contexts", default="4096,8192,16384", help="tokens a slot, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="append the table to this Markdown file")
    args = parser.parse_args()
    contexts = [int(c) for c in args.contexts.split(",")]
    header = [
        "| model | tokens a slot | --ctx | RSS after start MiB (anon) | RSS after requests "
        f"MiB (anon) | median ms, {args.rounds} short requests | vs {contexts[0]:,} |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as logs:
        for model_id in args.model:
            rows += asyncio.run(measure(model_id, contexts, args.rounds, Path(logs)))
    text = "\n".join(header + rows)
    print(text)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{text}\n")


if __name__ == "__main__":
    main()
