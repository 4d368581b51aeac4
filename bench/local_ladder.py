"""TTFT and decode speed of each bundled model, through voxgate and, as the baseline in the same
run, straight to that model's own llama.cpp server.

Run: .venv/bin/python -m bench.local_ladder [--url http://127.0.0.1:8080] [--runs 5]
(start the server first with scripts/serve, or let this script start one with --start)
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx
import openai

PROMPTS = [
    "What is the capital of Japan?",
    "Write one sentence about the sea.",
    "List three primary colours.",
]


def time_stream(client: openai.OpenAI, model: str, prompt: str, max_tokens: int) -> tuple[float, float]:
    """(ttft_ms, tokens_per_s) of one streamed completion."""
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0,
        stream=True, stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.perf_counter()
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    end = time.perf_counter()
    first = first or end
    decode_s = max(end - first, 1e-6)
    return (first - started) * 1000, max(tokens - 1, 0) / decode_s


def measure_interleaved(
    clients: dict[str, openai.OpenAI], model: str, runs: int, max_tokens: int
) -> dict[str, tuple[float, float]]:
    """Median (ttft_ms, tokens_per_s) per client, alternating clients run by run so that load
    from elsewhere on a shared machine hits both sides alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    for i in range(runs):
        order = list(clients.items())
        for turn, (name, client) in enumerate(order if i % 2 == 0 else order[::-1]):
            # a fresh question each call: neither side may answer from the other's prompt cache
            prompt = f"Question {i}.{turn}: {PROMPTS[i % len(PROMPTS)]}"
            samples[name].append(time_stream(client, model, prompt, max_tokens))
    return {
        name: (statistics.median(s[0] for s in taken), statistics.median(s[1] for s in taken))
        for name, taken in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    models: list[dict[str, Any]] = httpx.get(f"{args.url}/v1/models").json()["data"]
    local = [m for m in models if m["voxgate"].get("local_server")]
    gateway = openai.OpenAI(base_url=f"{args.url}/v1", api_key="x", max_retries=0)
    print(f"runs per model: {args.runs} (median), max_tokens: {args.max_tokens}")
    print("| model | TTFT ms via voxgate | TTFT ms direct | tok/s via voxgate | tok/s direct | TTFT ratio |")
    print("|---|---|---|---|---|---|")
    for model in local:
        direct = openai.OpenAI(base_url=model["voxgate"]["local_server"], api_key="x", max_retries=0)
        clients = {"voxgate": gateway, "direct": direct}
        measure_interleaved(clients, model["id"], 1, 8)
        medians = measure_interleaved(clients, model["id"], args.runs, args.max_tokens)
        (via_ttft, via_tps), (direct_ttft, direct_tps) = medians["voxgate"], medians["direct"]
        print(f"| {model['id']} | {via_ttft:.0f} | {direct_ttft:.0f} | {via_tps:.1f} | {direct_tps:.1f} | "
              f"{via_ttft / direct_ttft:.2f} |")


if __name__ == "__main__":
    main()
