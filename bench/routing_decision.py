"""Routing decision time: p50/p99 of Router.decide over varied prompts, in-process.

Run: .venv/bin/python -m bench.routing_decision [--iterations 20000]
     .venv/bin/python -m bench.routing_decision --predictor DIR [DIR ...] --iterations 300
Baseline in the same run: policy.choose alone (the pure part), so noise on this shared
machine shows up in both columns. With `--predictor` (directories saved by `voxgate train` or
`voxgate eval`) each one gets a router of its own that uses it, so each decision includes
embedding the prompt (the memo of recent prompts is off: every decision embeds again); the
routers take turns decision by decision, and the heuristic router's decide time is the extra
baseline. Two predictors trained with different embedders compare the embedders.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

from voxgate.config import default_models
from voxgate.core.clock import SystemClock
from voxgate.core.types import ChatRequest, Mode, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.learned.serving import load_learned_predictor
from voxgate.routing.learned.trained_predictor import load_predictor
from voxgate.routing.policy import Candidate, choose
from voxgate.routing.predictor import HeuristicPredictor, QualityPredictor
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


def _router(cards: list[ModelCard], predictor: QualityPredictor, clock: SystemClock) -> Router:
    return Router(cards, predictor, LatencyStats(cards), CircuitBreakers(clock), SessionAffinity(), clock)


def _learned_cards(predictor_dir: Path) -> tuple[list[ModelCard], QualityPredictor]:
    """Cards named after the predictor's models, priced from 0.1 to 10 USD/Mtok, and the predictor."""
    learned = load_learned_predictor(predictor_dir, recent_prompts=0)
    models = load_predictor(predictor_dir).models
    prices = [0.1 * 100 ** (i / max(len(models) - 1, 1)) for i in range(len(models))]
    return [ModelCard(m, price=Price(p, p)) for m, p in zip(models, prices, strict=True)], learned


def time_decisions_us(
    routers: dict[str, Router], requests: list[ChatRequest], iterations: int
) -> dict[str, list[float]]:
    """Decision times of every router, taking turns so that machine noise hits them alike."""
    modes = list(Mode)
    samples_us: dict[str, list[float]] = {label: [] for label in routers}
    for i in range(iterations):
        constraints = RoutingConstraints(mode=modes[i % len(modes)], session_id=f"s{i % 50}")
        for label, router in routers.items():
            started = time.perf_counter()
            router.decide(requests[i % len(requests)], constraints, "auto")
            samples_us[label].append((time.perf_counter() - started) * 1e6)
    return samples_us


LONG_PROMPT_CHARS = (1_000, 100_000, 4_000_000)  # 4 MB: the default max_body_bytes


def long_prompt_table(setups: dict[str, tuple[list[ModelCard], QualityPredictor]], repeats: int = 5) -> None:
    """Median decide time for one huge prompt per size: the event loop's worst case per request.

    The cards' context windows are widened so that a 4 MB prompt is routed, not rejected.
    """
    routers = {
        label: _router([dataclasses.replace(c, context_window=10**8) for c in cards], predictor, SystemClock())
        for label, (cards, predictor) in setups.items()
    }
    unit = "Here is a paragraph of context with 3 numbers, 4 + 5, and a question?\n\n"
    print(f"\n| prompt chars | {' | '.join(routers)} |")
    print("|---|" + "---|" * len(routers))
    for size in LONG_PROMPT_CHARS:
        text = (unit * (size // len(unit) + 1))[:size]
        request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": text}]})
        row = []
        for router in routers.values():
            samples_ms = []
            for _ in range(repeats):
                started = time.perf_counter()
                router.decide(request, RoutingConstraints(), "auto")
                samples_ms.append((time.perf_counter() - started) * 1e3)
            row.append(f"{statistics.median(samples_ms):.2f} ms")
        print(f"| {size:,} | {' | '.join(row)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--predictor", type=Path, nargs="+", default=[], help="saved learned predictor directories")
    args = parser.parse_args()
    cards = default_models()
    clock = SystemClock()
    requests = [parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": p}]}) for p in PROMPTS]
    candidates = [Candidate(c.id, c.quality_hint, c.price.input_per_mtok, c.ttft_ms) for c in cards]
    learned_labels: dict[str, str] = {}  # embedder family -> its router's row label
    setups: dict[str, tuple[list[ModelCard], QualityPredictor]] = {
        "Router.decide (eligibility + heuristic predictor + policy + record)": (list(cards), HeuristicPredictor())
    }
    for directory in args.predictor:
        embedder_id = load_predictor(directory).embedder_id
        label = f"Router.decide, learned predictor, {embedder_id} (embedding included)"
        setups[label] = _learned_cards(directory)
        learned_labels[embedder_id.split("/")[0]] = label
    routers = {label: _router(setup_cards, predictor, clock) for label, (setup_cards, predictor) in setups.items()}
    decide_us = time_decisions_us(routers, requests, args.iterations)
    policy_us = []
    for i in range(args.iterations):
        started = time.perf_counter()
        choose(candidates, RoutingConstraints(mode=list(Mode)[i % len(Mode)]))
        policy_us.append((time.perf_counter() - started) * 1e6)
    policy_p50, policy_p99 = _percentiles(policy_us)
    print(f"iterations: {args.iterations}, prompts: {len(PROMPTS)}")
    print("| what | p50 µs | p99 µs |")
    print("|---|---|---|")
    for label, samples in decide_us.items():
        p50, p99 = _percentiles(samples)
        print(f"| {label} | {p50:.1f} | {p99:.1f} |")
    print(f"| policy.choose alone (baseline) | {policy_p50:.1f} | {policy_p99:.1f} |")
    first = _percentiles(next(iter(decide_us.values())))[0]
    print(f"| ratio heuristic decide / policy (p50) | {first / policy_p50:.1f}x | |")
    learned_p50 = {name: _percentiles(decide_us[label])[0] for name, label in learned_labels.items()}
    for name, p50 in learned_p50.items():
        print(f"| ratio learned ({name}) decide / heuristic decide (p50) | {p50 / first:.1f}x | |")
    names = list(learned_p50)
    for name in names[1:]:
        ratio = learned_p50[name] / learned_p50[names[0]]
        print(f"| ratio learned ({name}) / learned ({names[0]}) (p50) | {ratio:.3f}x | |")
    long_prompt_table(setups)


if __name__ == "__main__":
    main()
