"""What making a call that lists several values where its function takes one into one call per value
(`backends/toolcall_fanout`) does. No model.

Cost: every BFCL reference answer (each argument at its first accepted value) is run through the rule
on the user's words; an answer it splits is a right answer broken. Gain, with `--answers FILE` (the
JSON lines `bench.bfcl_ab --calls-out` writes): each recorded answer is split by the rule and scored
again by BFCL's checker. Needs bfcl-eval (requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_fanout [--answers calls.jsonl]
"""

from __future__ import annotations

from collections import Counter

from bench.bfcl_data import load_category
from bench.tool_grounding_recall import CATEGORIES, broken_table, cost_then_gain, rescore_settled, right_calls
from voxgate.backends.toolcall_fanout import fanned_out
from voxgate.backends.toolcall_parser import declared_functions
from voxgate.backends.toolcall_relevance import request_text


def references_broken() -> None:
    """Print each reference answer the rule would split, then a table per category."""
    total, broken = Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            total[category] += 1
            calls = right_calls(item)
            if fanned_out(calls, declared_functions(item.tools), request_text(item.messages))[1]:
                broken[category] += 1
                print(f"{item.id} {[call.arguments for call in calls]}")
    print(broken_table("right answers split", broken, total))


def rescore_recorded(path: str) -> None:
    """Split each recorded answer by the rule and score it again."""
    rescore_settled(path, lambda calls, item: fanned_out(calls, declared_functions(item.tools),
                                                        request_text(item.messages)))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
