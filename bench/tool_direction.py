"""What putting a call's source and target the way the user said them (`backends/toolcall_direction`)
does. No model.

Cost: every BFCL reference call (each argument at its first accepted value) is run through the rule on
the user's words (every user message, as the gateway runs it); a call the rule swaps is a right call
broken. Also counted: the calls the rule looks at (a source/target pair of arguments, and "from A to
B" in the request). Gain, with `--answers FILE` (the JSON lines `bench.bfcl_ab --calls-out` writes):
each recorded answer is settled by the rule and scored again by BFCL's checker. Needs bfcl-eval
(requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_direction [--answers calls.jsonl]
"""

from __future__ import annotations

import json
from collections import Counter

from bench.bfcl_data import load_category
from bench.tool_grounding_recall import CATEGORIES, cost_then_gain, recorded_answers, rescored, right_calls, tally_line
from voxgate.backends.toolcall_direction import from_to_spans, source_target_pairs, swapped_arguments
from voxgate.backends.toolcall_relevance import request_text


def references_broken() -> None:
    """Print, per category, the reference calls the rule would swap, and those it looks at."""
    total, looked, broken = Counter[str](), Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            request = request_text(item.messages)
            for call in right_calls(item):
                total[category] += 1
                arguments = json.loads(call.arguments)
                looked[category] += _looked_at(arguments, request)
                if swapped_arguments(arguments, request)[1]:
                    broken[category] += 1
                    print(f"{item.id} {call.name} {arguments} | {request[-120:]!r}")
    print("| category | right calls swapped | calls looked at |\n|---|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {broken[category]}/{total[category]} | {looked[category]} |")
    print(f"| all | {sum(broken.values())}/{sum(total.values())} | {sum(looked.values())} |")


def _looked_at(arguments: object, request: str) -> bool:
    """Whether the call has a source/target pair of arguments and the request says "from A to B"."""
    return isinstance(arguments, dict) and bool(from_to_spans(request)) and bool(source_target_pairs(arguments))


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer by the rule and score it again."""
    tally = Counter[str]()
    for record, item, calls in recorded_answers(path):
        request = request_text(item.messages)
        settled = [(name, swapped_arguments(arguments, request)) for name, arguments in calls]
        if any(names for _, (_, names) in settled):
            print(rescored(record, item, [(name, arguments) for name, (arguments, _) in settled], tally))
    print(tally_line(tally))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
