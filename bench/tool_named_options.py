"""What filling a left-out optional argument with the declared option the request names
(`backends/toolcall_options`) does to right tool calls. No model.

For each BFCL ground-truth call and each optional argument of its function with declared options, the
call is taken with the reference's first accepted values and that argument left out, and the rule
is run on the user's words (every user message, as the gateway runs it), where the reference answer calls the function
once (the rule leaves a function called several times alone). Where it fills the argument, the fill is
right when the filled option is among the argument's accepted values (case-insensitive), and wrong
when it is not (the reference leaves the argument out, or gives another value). Needs bfcl-eval
(requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_named_options [--show 20]

Prints, per category, fills right / fills made, and with --show the first wrong ones.
"""

from __future__ import annotations

import argparse
from collections import Counter

from bench.bfcl_data import load_category, openai_function_name
from bench.tool_grounding_recall import CATEGORIES, first_accepted
from voxgate.backends.toolcall_options import filled_arguments
from voxgate.backends.toolcall_relevance import request_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong fills")
    args = parser.parse_args()
    made, right, shown = Counter[str](), Counter[str](), 0
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            text = request_text(item.messages)
            functions = {tool["function"]["name"]: tool["function"] for tool in item.tools}
            called = Counter(name for answer in item.ground_truth or [] for name in answer)
            for answer in item.ground_truth or []:
                for name, accepted in answer.items():
                    if called[name] > 1:
                        continue
                    given = first_accepted(accepted)
                    function = functions.get(openai_function_name(name))
                    for key in accepted:
                        out, filled = filled_arguments({k: v for k, v in given.items() if k != key}, function, text)
                        if key not in filled:
                            continue
                        value = out[key]
                        made[category] += 1
                        ok = any(isinstance(v, str) and v.lower() == value.lower() for v in accepted[key])
                        right[category] += ok
                        if not ok and shown < args.show:
                            shown += 1
                            print(f"{item.id} {key}={value!r} accepted {accepted[key]} | {text[-90:]!r}")
    print("| category | fills right / made |\n|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {right[category]}/{made[category]} |")
    print(f"| all | {sum(right.values())}/{sum(made.values())} |")


if __name__ == "__main__":
    main()
