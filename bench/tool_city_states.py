"""What giving a bare US city the state its argument's description asks for (`backends/toolcall_places`)
does. No model.

Cost: every accepted string value of every BFCL reference call is run through the rule; a value the
rule rewrites into one the reference does not accept (compared as BFCL's checker compares strings:
case, spaces and ",./-_*^" ignored) is a right value broken. Also counted: the values rewritten. Gain,
with `--answers FILE` (the JSON lines `bench.bfcl_ab --calls-out` writes): each recorded answer is
settled by the rule and scored again by BFCL's checker. Needs bfcl-eval (requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_city_states [--answers calls.jsonl]
"""

from __future__ import annotations

from collections import Counter

from bench.bfcl_data import install_checker_stub, load_category, openai_function_name
from bench.tool_grounding_recall import CATEGORIES, cost_then_gain, rescore_settled
from voxgate.backends.toolcall_parser import declared_functions
from voxgate.backends.toolcall_places import cities_with_states, with_state
from voxgate.backends.toolcall_schema import declared_properties


def references_broken() -> None:
    """Print each accepted value the rule would rewrite into one not accepted, then a table per category."""
    install_checker_stub()
    from bfcl_eval.eval_checker.ast_eval.ast_checker import standardize_string  # BFCL's own string comparison

    rewritten, broken = Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            functions = declared_functions(item.tools)
            for answer in item.ground_truth or []:
                for name, arguments in answer.items():
                    properties = declared_properties(functions.get(openai_function_name(name))) or {}
                    for key, accepted in arguments.items():
                        allowed = {standardize_string(value) for value in accepted if isinstance(value, str)}
                        for value in accepted:
                            placed = with_state(value, properties.get(key))
                            if placed is None:
                                continue
                            rewritten[category] += 1
                            if standardize_string(placed) not in allowed:
                                broken[category] += 1
                                print(f"{item.id} {name}.{key}: {value!r} -> {placed!r}, accepted {accepted}")
    print("| category | accepted values rewritten | rewritten into a value not accepted |\n|---|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {rewritten[category]} | {broken[category]} |")
    print(f"| all | {sum(rewritten.values())} | {sum(broken.values())} |")


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer by the rule and score it again."""
    rescore_settled(path, lambda calls, item: cities_with_states(calls, declared_functions(item.tools)))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
