"""Answer checks' cost per cascade stage: p50/p99 of `run_checks` over every live check, in-process.

Run: .venv/bin/python -m bench.cascade_checks [--iterations 2000]

Answers of the sizes the bundled models give (a one-token number, a sentence, a 250-token code
block, a tool call, a JSON object), each with top-2 token log-probabilities as llama.cpp sends
them, and one 2,000-token answer as the worst case. Target (issue 12): <= 5 ms p50 per stage,
model calls excluded. Baseline in the same run: `policy.choose` over three candidates, so the
noise of this shared machine shows in both columns.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from voxgate.core.clock import SystemClock
from voxgate.core.types import JSONObject, Mode, RoutingConstraints
from voxgate.routing.cascade.checks import default_checks, run_checks
from voxgate.routing.cascade.evidence import AnswerEvidence, TokenAlternative, TokenLogprob
from voxgate.routing.policy import Candidate, choose
from voxgate.server.validation import parse_chat_request

CODE = "```python\ndef merge(a, b):\n    out = []\n    i = j = 0\n" + "    # step\n    out.append(a[i])\n" * 40 + "```"
TOOL: JSONObject = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
SCHEMA: JSONObject = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                      "required": ["name", "age"]}


def _tokens(text: str, count: int) -> tuple[TokenLogprob, ...]:
    pieces = [text[i * len(text) // count : (i + 1) * len(text) // count] for i in range(count)]
    return tuple(
        TokenLogprob(p, -0.05 * (i % 7), (TokenAlternative(p, -0.05 * (i % 7)), TokenAlternative("x", -3.0)))
        for i, p in enumerate(pieces)
    )


def cases() -> dict[str, AnswerEvidence]:
    def request(prompt: str, **extra: object) -> JSONObject:
        return {"model": "auto", "messages": [{"role": "user", "content": prompt}], **extra}

    call = {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    specs: list[tuple[str, JSONObject, str, int, tuple[JSONObject, ...]]] = [
        ("arithmetic, 1 token", request("What is 17 * 23?"), "391", 1, ()),
        ("fact, 12 tokens", request("What is the capital of France?"), "The capital of France is Paris.", 12, ()),
        ("code, 250 tokens", request("Write merge()"), CODE, 250, ()),
        ("tool call", request("Weather in Oslo?", tools=[TOOL]), "", 12, (call,)),
        ("json_schema, 15 tokens", request("Who?", response_format={
            "type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}}), '{"name": "Ada", "age": 36}', 15,
         ()),
        ("long answer, 2000 tokens", request("Explain."), "word " * 2000, 2000, ()),
    ]
    return {
        name: AnswerEvidence("qwen2.5-coder-0.5b", parse_chat_request(body), text, _tokens(text or "x", count),
                             calls, "stop", {"smollm2-135m": "391"})
        for name, body, text, count, calls in specs
    }


def _percentiles_ms(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    return statistics.median(ordered) * 1000, ordered[max(math.ceil(len(ordered) * 0.99) - 1, 0)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    clock = SystemClock()
    checks = default_checks()
    candidates = [Candidate(m, q, c, 100.0) for m, q, c in (("a", 0.3, 1e-6), ("b", 0.5, 2e-6), ("c", 0.8, 5e-6))]
    constraints = RoutingConstraints(mode=Mode.BALANCED)
    rows = []
    for name, evidence in cases().items():
        samples, baseline = [], []
        iterations = args.iterations if "2000" not in name else max(args.iterations // 10, 20)
        for _ in range(iterations):
            started = time.perf_counter()
            run_checks(checks, evidence, clock, 1000.0)
            samples.append(time.perf_counter() - started)
            started = time.perf_counter()
            choose(candidates, constraints, None)
            baseline.append(time.perf_counter() - started)
        rows.append((name, *_percentiles_ms(samples), _percentiles_ms(baseline)[0]))
    print("| answer | run_checks p50 ms | p99 ms | baseline policy.choose p50 ms |\n|---|---|---|---|")
    for name, p50, p99, base in rows:
        print(f"| {name} | {p50:.3f} | {p99:.3f} | {base:.4f} |")


if __name__ == "__main__":
    main()
