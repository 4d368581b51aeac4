"""What the learned answer check costs per stage (issue 12: checks <= 5 ms p50 per stage, model calls excluded).

Times `LearnedAnswerCheck.check` (features, margins, peers, the trained heads, calibration) on
answers of three shapes: a one-token ladder answer with log-probs, a GSM8K-style worked answer
(~100 words) with 200 tokens of log-probs and two peers, and a 4 KB code answer. Prints p50 and
p99 in microseconds; `--checker` is a directory written by `voxgate train` / `voxgate eval`.

    .venv/bin/python -m bench.answer_checker_cost --checker reports/routerbench/checkers/routerbench_arc_challenge
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from voxgate.routing.cascade.evidence import AnswerEvidence, TokenAlternative, TokenLogprob
from voxgate.routing.cascade.learned_check import LearnedAnswerCheck
from voxgate.routing.learned.answer_checker import load_checker
from voxgate.server.validation import parse_chat_request

WORKED = (
    "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast, so 16 - 3 = 13 are left. She bakes with 4, "
    "so 13 - 4 = 9 remain. She sells them at $2 each: 9 * 2 = 18. Each day she makes $18 at the market. "
) * 2 + "#### 18"
CODE = "```python\n" + "def add(a, b):\n    return a + b\n\n" * 120 + "```"


def _tokens(count: int, rng: np.random.Generator) -> tuple[TokenLogprob, ...]:
    out = []
    for _ in range(count):
        lp = float(-abs(rng.normal(0.0, 0.6)))
        runner_up = lp - abs(float(rng.normal(2.0, 1.0)))
        out.append(TokenLogprob("x", lp, (TokenAlternative("x", lp), TokenAlternative("y", runner_up))))
    return tuple(out)


def _time_us(check: LearnedAnswerCheck, evidence: AnswerEvidence, repeats: int) -> tuple[float, float]:
    check.check(evidence)  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        check.check(evidence)
        times.append((time.perf_counter_ns() - started) / 1000.0)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checker", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    check = LearnedAnswerCheck(load_checker(args.checker), priors={"m": 0.6})
    rng = np.random.default_rng(0)
    cases = {
        "one-token ladder answer, log-probs": ("What is 17 * 23? Answer with the number.", "391", _tokens(2, rng), {}),
        "worked GSM8K answer, 200 log-probs, 2 peers": ("How much does Janet make?", WORKED, _tokens(200, rng),
                                                        {"a": "#### 18", "b": "She makes $16."}),
        "4 KB code answer, no log-probs": ("Write add(a, b) in Python.", CODE, None, {}),
    }  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f}; checker {check.checker.version}")
    print("| answer | p50 (µs) | p99 (µs) |\n|---|---|---|")
    for name, (prompt, answer, tokens, peers) in cases.items():
        request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": prompt}]})
        evidence = AnswerEvidence("m", request, answer, tokens, peer_answers=peers)
        p50, p99 = _time_us(check, evidence, args.repeats)
        print(f"| {name} | {p50:.0f} | {p99:.0f} |", flush=True)


if __name__ == "__main__":
    main()
