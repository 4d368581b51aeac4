"""Where a tool-call continuation's time goes: llama.cpp's own `timings` of the first request and
of its continuation (backends/toolcall_continuation.py), on one bundled model called directly.

Starts one bundled llama.cpp server as the gateway does (2 threads, `local_parallel_slots` = 2,
4096 tokens a slot), asks BFCL items (rendered by `plan_request`, as voxgate sends them,
temperature 0) and, for each answer made of calls, sends two continuations, each right after its
own first request: `rendered` (what voxgate sends: the calls restated in Qwen's `<tool_call>`
layout) and `verbatim` (the model's own text as the prefill, a strict extension of what its slot
holds). Printed per item: cache_n (prompt tokens reused), prompt_n / prompt_ms (evaluated),
predicted_n / predicted_ms, the wall time and the calls added; then medians per way. Run:
    PYTHONPATH=src:/tmp/bfcl-pkgs flock /work/notes/heavy.lock timeout 600 nice -n 5 \\
        .venv/bin/python -m bench.continuation_timings --model qwen2.5-coder-1.5b --per-category 4 --skip 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bfcl_data import load_category
from tests.support.processes import free_port, start_ready, stop_process
from voxgate.backends.toolcall_continuation import continuation_body, further_calls
from voxgate.backends.toolcall_parser import ParsedToolCall, split_prose_and_calls
from voxgate.backends.toolcalls import ToolCallPlan, plan_request
from voxgate.config import default_cache_dir, default_models
from voxgate.core.types import JSONObject
from voxgate.models.weights import assemble_weights

WAYS = ("rendered", "verbatim")


def start_model(model_id: str, workdir: Path) -> Any:
    card = next(card for card in default_models() if card.id == model_id)
    assert card.local_weights is not None
    path = assemble_weights(card.local_weights, default_cache_dir())
    port = free_port()
    command = [sys.executable, "-m", "voxgate.models.llama_process", "--model", str(path), "--alias", model_id,
               "--port", str(port), "--threads", "2", "--ctx", str(4096 * 2), "--parallel", "2"]
    return start_ready(command, "/health", port, workdir / f"{model_id}.log")


def post(client: httpx.Client, url: str, model_id: str, body: JSONObject) -> tuple[JSONObject, float]:
    started = time.perf_counter()
    answer: JSONObject = client.post(url, json={**body, "model": model_id, "stream": False}).json()
    return answer, (time.perf_counter() - started) * 1000


def continuation(way: str, plan: ToolCallPlan, text: str, calls: list[ParsedToolCall]) -> JSONObject:
    body = continuation_body(plan.body, calls)
    if way == "verbatim":
        body["messages"][-1] = {"role": "assistant", "content": text.rstrip() + "\n"}
    return body


def content(answer: JSONObject) -> str:
    return str(answer["choices"][0]["message"].get("content") or "")


def run(args: argparse.Namespace, url: str, client: httpx.Client) -> dict[str, list[tuple[float, ...]]]:
    rows: dict[str, list[tuple[float, ...]]] = {way: [] for way in WAYS}
    for category in args.categories.split(","):
        for item in load_category(category, args.per_category, args.skip):
            plan = plan_request({"messages": item.messages, "tools": item.tools, "temperature": 0, "max_tokens": 400})
            assert plan.declared is not None
            for way in WAYS:
                first, first_ms = post(client, url, args.model, plan.body)
                found = split_prose_and_calls(content(first), plan.declared)
                if found is None:
                    print(f"{item.id:20s} {way:8s} not calls", flush=True)
                    continue
                answer, wall_ms = post(client, url, args.model, continuation(way, plan, content(first), found[1]))
                added = further_calls(content(answer), found[1], plan.declared)
                t = answer["timings"]
                rows[way].append((wall_ms, t["prompt_n"], t["prompt_ms"], t["predicted_n"], t["predicted_ms"]))
                print(f"{item.id:20s} {way:8s} first {first_ms:6.0f} ms (prompt_n {first['timings']['prompt_n']}) | "
                      f"continuation {wall_ms:5.0f} ms: cache_n {t.get('cache_n')} prompt_n {t['prompt_n']} "
                      f"prompt_ms {t['prompt_ms']:.0f} predicted_n {t['predicted_n']} predicted_ms "
                      f"{t['predicted_ms']:.0f}; calls {len(found[1])}+{len(added)}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.continuation_timings")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--categories", default="parallel,simple_python")
    parser.add_argument("--per-category", type=int, default=4)
    parser.add_argument("--skip", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server = start_model(args.model, Path(workdir))
        try:
            with httpx.Client(timeout=300, trust_env=False) as client:
                rows = run(args, f"{server.base_url}/v1/chat/completions", client)
        finally:
            stop_process(server.process)
    for way, found in rows.items():
        if found:
            medians = [statistics.median(row[index] for row in found) for index in range(5)]
            print(f"{way}: n {len(found)}, median continuation {medians[0]:.0f} ms, prompt_n {medians[1]:.0f}, "
                  f"prompt_ms {medians[2]:.0f}, predicted_n {medians[3]:.0f}, predicted_ms {medians[4]:.0f}")


if __name__ == "__main__":
    main()
