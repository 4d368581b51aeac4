"""How long BFCL's multi_turn_base conversations get, estimated offline along the reference path:
the functions' docs (JSON), every user turn, each ground-truth call and its result from BFCL's own
executor (plus 60 characters a call for the chat template), converted to tokens at the
characters-a-token of multi_turn_base_0's first prompt as llama.cpp counted it natively (4,207 tokens
with the Qwen template, 2026-12-03). Entries whose APIs fail to load (MathAPI needs mpmath) are skipped.

    PYTHONPATH=src:/tmp/bfcl-pkgs .venv/bin/python -m bench.bfcl_context_sizes
"""

from __future__ import annotations

import json
import statistics

from bench.bfcl_multi_turn import MultiTurnItem, load_multi_turn

CALIBRATION_TOKENS = 4207  # multi_turn_base_0's first prompt, native qwen2.5-coder-1.5b (bench/results/bfcl.md)
CALL_OVERHEAD_CHARS = 60


def conversation_chars(item: MultiTurnItem) -> int:
    """Characters of the whole conversation along the reference path (raises where BFCL's API fails)."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    chars = len(json.dumps(item.tools))
    for turn, calls in zip(item.turns, item.ground_truth, strict=True):
        chars += sum(len(message["content"]) for message in turn)
        results, _ = execute_multi_turn_func_call(
            calls, item.entry["initial_config"], item.entry["involved_classes"], "sizes", item.id
        )
        pairs = zip(calls, results, strict=False)
        chars += sum(len(call) + len(str(result)) + CALL_OVERHEAD_CHARS for call, result in pairs)
    return chars


def main() -> None:
    items = load_multi_turn(200, turns=100)
    first = items[0]
    first_chars = len(json.dumps(first.tools)) + sum(len(message["content"]) for message in first.turns[0])
    chars_per_token = first_chars / CALIBRATION_TOKENS
    tokens: list[float] = []
    for item in items:
        try:
            tokens.append(conversation_chars(item) / chars_per_token)
        except Exception:  # an API that fails to load (MathAPI without mpmath): skipped, and counted
            continue
    tokens.sort()
    print(f"{chars_per_token:.2f} characters a token; {len(tokens)} of {len(items)} entries")
    print(f"whole conversation: median {statistics.median(tokens):,.0f}, p90 {tokens[int(0.9 * len(tokens))]:,.0f}, "
          f"max {tokens[-1]:,.0f} tokens")
    for limit in (4096, 8192, 16384):
        print(f"over {limit:,}: {sum(t > limit for t in tokens)}")


if __name__ == "__main__":
    main()
