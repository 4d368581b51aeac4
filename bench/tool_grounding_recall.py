"""How many right tool calls the grounding rule (`backends/toolcall_grounding`) would refuse. No model.

Each BFCL ground-truth call (its first accepted value for every argument it gives) is judged by
`is_grounded` against the item's own conversation, as the gateway judges a model's call: a right
call judged ungrounded is asked again in words, a lost answer. Needs bfcl-eval
(requirements/bench-bfcl.txt, `pip install --no-deps --target DIR`, DIR on PYTHONPATH):

    PYTHONPATH=src:/tmp/bfcl-pkgs .venv/bin/python -m bench.tool_grounding_recall [--show 20]

Prints, per category, right calls refused / right calls, and with --show the first refused live ones.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bench.bfcl_data import BfclItem, install_checker_stub, load_category, openai_function_name, score
from voxgate.backends.toolcall_grounding import grounding_text, is_grounded
from voxgate.backends.toolcall_parser import ParsedToolCall

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple",
              "live_parallel", "live_parallel_multiple")


def first_accepted(arguments: dict[str, list[Any]]) -> dict[str, Any]:
    """One ground-truth call's arguments (name -> accepted values), each at its first accepted value; an
    argument whose only accepted value is "" (left out) is left out."""
    return {key: next(value for value in values if value != "") for key, values in arguments.items()
            if any(value != "" for value in values)}


def right_calls(item: BfclItem) -> list[ParsedToolCall]:
    """The item's ground-truth calls, each argument at its first accepted value ("" = left out)."""
    return [ParsedToolCall(openai_function_name(name), json.dumps(first_accepted(arguments)))
            for answer in item.ground_truth or [] for name, arguments in answer.items()]


def recorded_answers(path: str) -> Iterator[tuple[dict[str, Any], BfclItem, list[tuple[str, Any]]]]:
    """Each answer `bench.bfcl_ab --calls-out` recorded in `path` (JSON lines) whose item is of CATEGORIES:
    the record, the item and the answer's calls as (name, arguments); BFCL's checker is made ready to
    score them again (`rescored`)."""
    install_checker_stub()
    items = {item.id: item for category in CATEGORIES for item in load_category(category, 100_000)}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            item = items.get(record["id"])
            if item is not None:
                calls = [(name, arguments) for call in record["calls"] for name, arguments in json.loads(call).items()]
                yield record, item, calls


def rescored(record: dict[str, Any], item: BfclItem, calls: list[tuple[str, Any]], tally: Counter[str]) -> str:
    """Score a recorded answer's settled `calls` again; `tally` counts it changed, turned right or turned
    wrong. The line to print: the id, the verdict before and after, BFCL's reason."""
    passed, why = score(item, [{name: arguments} for name, arguments in calls])
    tally["answers changed"] += 1
    tally["turned right"] += passed and not record["passed"]
    tally["turned wrong"] += record["passed"] and not passed
    return f"{record['id']}: {record['passed']} -> {passed} {why[:80]}"


def broken_table(label: str, broken: Counter[str], total: Counter[str]) -> str:
    """A markdown table: per category of CATEGORIES (those with items), `broken`/`total` under `label`."""
    rows = [f"| {category} | {broken[category]}/{total[category]} |" for category in CATEGORIES if total[category]]
    return "\n".join([f"| category | {label} |", "|---|---|", *rows,
                      f"| all | {sum(broken.values())}/{sum(total.values())} |"])


def rescore_settled(
    path: str, settle: Callable[[list[ParsedToolCall], BfclItem], tuple[list[ParsedToolCall], Any]]
) -> None:
    """Settle each answer recorded in `path` by `settle` (its calls and item -> the calls settled, what
    changed: falsy for nothing) and print each changed one scored again, then the tally."""
    tally = Counter[str]()
    for record, item, calls in recorded_answers(path):
        settled, changed = settle([ParsedToolCall(name, json.dumps(arguments)) for name, arguments in calls], item)
        if changed:
            print(rescored(record, item, [(call.name, json.loads(call.arguments)) for call in settled], tally), changed)
    print(tally_line(tally))


def tally_line(tally: Counter[str]) -> str:
    """What `rescored` counted, on one line."""
    return ", ".join(f"{key} {tally[key]}" for key in ("answers changed", "turned right", "turned wrong"))


def cost_then_gain(doc: str | None, references_broken: Callable[[], None], rescore: Callable[[str], None]) -> None:
    """A settle rule's bench, run: its cost over BFCL's reference calls (`references_broken`), then, with
    `--answers FILE`, its gain on recorded answers (`rescore`)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", help="recorded answers (bench.bfcl_ab --calls-out) to settle and score again")
    args = parser.parse_args()
    references_broken()
    if args.answers:
        rescore(args.answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", type=int, default=0, help="print this many refused right calls of live_*")
    args = parser.parse_args()
    total, refused, shown = Counter[str](), Counter[str](), 0
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            text = grounding_text(item.messages)
            functions = {tool["function"]["name"]: tool["function"] for tool in item.tools}
            for call in right_calls(item):
                total[category] += 1
                if is_grounded(call, text, functions.get(call.name)):
                    continue
                refused[category] += 1
                if shown < args.show and category.startswith("live"):
                    shown += 1
                    print(f"{item.id} {call.name} {call.arguments[:120]} | {text[:120]!r}")
    print("| category | right calls refused |\n|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {refused[category]}/{total[category]} |")
    print(f"| all | {sum(refused.values())}/{sum(total.values())} |")


if __name__ == "__main__":
    main()
