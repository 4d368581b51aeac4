"""Routing decision time: p50/p99 of Router.decide over varied prompts, in-process.

Run: .venv/bin/python -m bench.routing_decision [--iterations 20000]
Baseline in the same run: policy.choose alone (the pure part), so noise on this shared
machine shows up in both columns.
"""

from __future__ import annotations

import argparse
import statistics
import time

from voxgate.config import default_models
from voxgate.core.clock import SystemClock
from voxgate.core.types import Mode, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.policy import Candidate, choose
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.validation import parse_chat_request

PROMPTS = [
    "hi",
    "What is the capital of France?",
    "Write a Python function that merges two sorted lists and explain its complexity step by step.",
    "Solve 3x + 7 = 22 and show your work.",
    "Summarise the plot of Hamlet in three sentences. " * 20,
]


def _percentiles(samples_us: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_us)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    cards = default_models()
    clock = SystemClock()
    router = Router(
        cards, HeuristicPredictor(), LatencyStats(cards), CircuitBreakers(clock), SessionAffinity(), clock
    )
    requests = [parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": p}]}) for p in PROMPTS]
    modes = list(Mode)
    candidates = [Candidate(c.id, c.quality_hint, c.price.input_per_mtok, c.ttft_ms) for c in cards]
    decide_us: list[float] = []
    policy_us: list[float] = []
    for i in range(args.iterations):
        constraints = RoutingConstraints(mode=modes[i % len(modes)], session_id=f"s{i % 50}")
        started = time.perf_counter()
        router.decide(requests[i % len(requests)], constraints, "auto")
        decide_us.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        choose(candidates, constraints)
        policy_us.append((time.perf_counter() - started) * 1e6)
    decide_p50, decide_p99 = _percentiles(decide_us)
    policy_p50, policy_p99 = _percentiles(policy_us)
    print(f"iterations: {args.iterations}, models: {len(cards)}, predictor: {HeuristicPredictor.version}")
    print("| what | p50 µs | p99 µs |")
    print("|---|---|---|")
    label = "Router.decide (eligibility + heuristic predictor + policy + record)"
    print(f"| {label} | {decide_p50:.1f} | {decide_p99:.1f} |")
    print(f"| policy.choose alone (baseline) | {policy_p50:.1f} | {policy_p99:.1f} |")
    print(f"| ratio decide / policy (p50) | {decide_p50 / policy_p50:.1f}x | |")


if __name__ == "__main__":
    main()
