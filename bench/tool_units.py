"""What passing quantities written the user's way as the function takes them (`backends/toolcall_units`:
feet and inches as inches, a hemisphere as a sign, a compounding frequency as its count) does to right
tool calls, and to recorded answers. No model.

Cost: every BFCL ground-truth call settled by the rules as it stands (its first accepted values); a
value rewritten into one the reference does not accept is broken. Gain, with `--answers FILE` (the
JSON lines `bench.bfcl_ab --calls-out` wrote): each recorded answer settled by the rules and scored
again. Needs bfcl-eval (requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_units [--answers calls.jsonl]

Prints each broken value, then per category: values rewritten, broken.
"""

from __future__ import annotations

import json
from collections import Counter

from bench.bfcl_data import load_category
from bench.tool_grounding_recall import CATEGORIES, cost_then_gain, rescore_settled, right_calls
from voxgate.backends.toolcall_parser import declared_functions
from voxgate.backends.toolcall_relevance import request_text
from voxgate.backends.toolcall_units import quantities_as_declared


def references_broken() -> None:
    """Print each reference value the rules rewrite wrong, then a table per category."""
    rewritten, broken = Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            calls = right_calls(item)
            settled, names = quantities_as_declared(calls, declared_functions(item.tools), request_text(item.messages))
            rewritten[category] += len(names)
            accepted = [arguments for answer in item.ground_truth or [] for arguments in answer.values()]
            for before, after, values in zip(calls, settled, accepted, strict=True):
                was = json.loads(before.arguments)
                for key, value in json.loads(after.arguments).items():
                    if value != was.get(key) and value not in values.get(key, []):
                        broken[category] += 1
                        print(f"{item.id} {after.name}.{key}: {value}, accepted {values.get(key)}")
    print("| category | values rewritten | broken |\n|---|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {rewritten[category]} | {broken[category]} |")


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer by the rules and score it again."""
    rescore_settled(path, lambda calls, item: quantities_as_declared(calls, declared_functions(item.tools),
                                                                     request_text(item.messages)))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
