"""How many right tool calls dropping unasked optional arguments (`backends/toolcall_optional`) would
break. No model.

For each BFCL ground-truth call, every argument the answer may not leave out (no "" among its
accepted values) is given each of its accepted values in turn; the call is broken when, for some
such argument, the rule drops it whatever accepted value it holds (`unasked_arguments` against the
item's own conversation, as the gateway judges a model's call). This is an upper bound on the cost:
a model must first get such a value right. Needs bfcl-eval (requirements/bench-bfcl.txt,
`pip install --no-deps --target DIR`, DIR on PYTHONPATH):

    PYTHONPATH=src:/tmp/bfcl-pkgs .venv/bin/python -m bench.tool_unasked_arguments [--show 20]

Prints, per category, right calls broken / right calls, and with --show the first broken ones.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from bench.bfcl_data import load_category, openai_function_name
from bench.tool_grounding_recall import CATEGORIES, first_accepted
from voxgate.backends.toolcall_grounding import grounding_text
from voxgate.backends.toolcall_optional import unasked_arguments


def broken_arguments(arguments: dict[str, list[Any]], function: dict[str, Any] | None, text: str) -> list[str]:
    """The arguments of one ground-truth call (name -> accepted values) that must be given and that the
    rule drops whatever accepted value they hold."""
    base = first_accepted(arguments)
    broken = []
    for key, values in arguments.items():
        if "" in values or key not in base:
            continue
        if all(key in unasked_arguments({**base, key: value}, function, text)[1] for value in values):
            broken.append(key)
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", type=int, default=0, help="print this many broken right calls")
    args = parser.parse_args()
    total, broken, shown = Counter[str](), Counter[str](), 0
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            text = grounding_text(item.messages)
            functions = {tool["function"]["name"]: tool["function"] for tool in item.tools}
            for answer in item.ground_truth or []:
                for name, arguments in answer.items():
                    total[category] += 1
                    dropped = broken_arguments(arguments, functions.get(openai_function_name(name)), text)
                    if not dropped:
                        continue
                    broken[category] += 1
                    if shown < args.show:
                        shown += 1
                        print(f"{item.id} {name} {dropped} {[arguments[k] for k in dropped]} | {text[-100:]!r}")
    print("| category | right calls broken |\n|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {broken[category]}/{total[category]} |")
    print(f"| all | {sum(broken.values())}/{sum(total.values())} |")


if __name__ == "__main__":
    main()
