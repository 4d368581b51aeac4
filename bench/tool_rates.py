"""What passing a percentage the user gave as a fraction to a rate argument (`backends/toolcall_rates`)
does. No model.

Cost: every BFCL reference call's accepted numeric values are run through the rule on the user's words
(every user message, as the gateway runs it); an accepted value the rule rewrites into one the
reference does not accept is a right value broken. Also counted: the values the rule looks at (the
request writes the value as a percentage) and, where the reference accepts the number or its
hundredth, which one it takes. Gain, with `--answers FILE` (the JSON lines `bench.bfcl_ab --calls-out`
writes): each recorded answer is settled by the rule and scored again by BFCL's checker. Needs
bfcl-eval (requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_rates [--answers calls.jsonl]
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.bfcl_data import load_category, openai_function_name
from bench.tool_grounding_recall import CATEGORIES, cost_then_gain, rescore_settled
from voxgate.backends.toolcall_parser import declared_functions
from voxgate.backends.toolcall_rates import fraction_for, percentages, rates_as_fractions
from voxgate.backends.toolcall_relevance import request_text
from voxgate.backends.toolcall_schema import declared_properties


def references_broken() -> None:
    """Print each accepted value the rule would rewrite wrong, then a table per category."""
    looked, hundredth, broken, rewritten = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            percents = percentages(request_text(item.messages))
            functions = declared_functions(item.tools)
            for answer in item.ground_truth or [] if percents else []:
                for name, arguments in answer.items():
                    properties = declared_properties(functions.get(openai_function_name(name))) or {}
                    for key, accepted in arguments.items():
                        numbers = [value for value in accepted if _is_number(value)]
                        if not any(float(value) in percents or float(value) * 100 in percents for value in numbers):
                            continue
                        looked[category] += 1
                        hundredth[category] += any(float(value) * 100 in percents for value in numbers)
                        for value in numbers:
                            fraction = fraction_for(key, value, properties.get(key), percents)
                            rewritten[category] += fraction is not None
                            if fraction is not None and not any(abs(fraction - other) < 1e-9 for other in numbers):
                                broken[category] += 1
                                print(f"{item.id} {name}.{key}: {value} -> {fraction}, accepted {accepted}")
    print("| category | values of a percentage looked at | reference takes the hundredth | rewritten | broken |")
    print("|---|---|---|---|---|")
    for category in CATEGORIES:
        counts = (looked[category], hundredth[category], rewritten[category], broken[category])
        print(f"| {category} | " + " | ".join(str(count) for count in counts) + " |")
    print(f"| all | {sum(looked.values())} | {sum(hundredth.values())} | {sum(rewritten.values())} | "
          f"{sum(broken.values())} |")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer by the rule and score it again."""
    rescore_settled(path, lambda calls, item: rates_as_fractions(calls, declared_functions(item.tools),
                                                                request_text(item.messages)))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
