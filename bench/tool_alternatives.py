"""What dropping a call that only repeats another's values under a function the request does not name
(`backends/toolcall_alternatives`) does. No model.

Cost: every BFCL reference answer with two or more calls (each argument at its first accepted value)
is run through the rule on the user's words (every user message, as the gateway runs it); an answer
the rule takes a call from is a right answer broken. Gain, with `--answers FILE` (the JSON lines
`bench.bfcl_ab --calls-out` writes): each recorded answer with two or more calls is settled by the
rule and scored again by BFCL's checker, counting verdicts turned right and turned wrong. Needs
bfcl-eval (requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_alternatives [--show 20] [--answers calls.jsonl]

Prints, per category, right answers broken / right answers with two or more calls; with --answers,
the recorded answers the rule changes and their verdicts before and after.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from bench.bfcl_data import load_category
from bench.tool_grounding_recall import CATEGORIES, broken_table, recorded_answers, rescored, right_calls
from voxgate.backends.toolcall_alternatives import without_alternatives
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_relevance import request_text


def references_broken(show: int) -> None:
    """Print, per category, the reference answers with 2+ calls the rule takes a call from."""
    total, broken, shown = Counter[str](), Counter[str](), 0
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            calls = right_calls(item)
            if len(calls) < 2:
                continue
            total[category] += 1
            _, dropped = without_alternatives(calls, request_text(item.messages))
            if dropped:
                broken[category] += 1
                if shown < show:
                    shown += 1
                    asked = request_text(item.messages)[-120:]
                    print(f"{item.id} dropped {[call.name for call in dropped]} | {asked!r}")
    print(broken_table("right answers broken", broken, total))


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer with 2+ calls by the rule and score it again."""
    tally = Counter[str]()
    for record, item, written in recorded_answers(path):
        calls = [ParsedToolCall(name, json.dumps(arguments)) for name, arguments in written]
        kept, dropped = without_alternatives(calls, request_text(item.messages)) if len(calls) > 1 else (calls, [])
        if dropped:
            settled = [(call.name, json.loads(call.arguments)) for call in kept]
            print(f"dropped {[call.name for call in dropped]}: {rescored(record, item, settled, tally)}")
    print(", ".join(f"{key} {tally[key]}" for key in ("answers changed", "turned right", "turned wrong")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", type=int, default=0, help="print this many broken reference answers")
    parser.add_argument("--answers", help="recorded answers (bench.bfcl_ab --calls-out) to settle and score again")
    args = parser.parse_args()
    references_broken(args.show)
    if args.answers:
        rescore_recorded(args.answers)


if __name__ == "__main__":
    main()
