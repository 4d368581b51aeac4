"""What setting the yes/no arguments a request asks for (`backends/toolcall_flags`) does to right tool
calls, and to recorded answers. No model.

Cost: for each BFCL ground-truth call and each boolean argument its function declares, the answer is
taken with the reference's first accepted values and that argument false in that call; where the rule
sets it true, it is right when the reference accepts true and wrong when it does not (the reference
wants false, or leaves it out only). Gain, with `--answers FILE` (the JSON lines `bench.bfcl_ab
--calls-out` wrote): each recorded answer settled by the rule and scored again. Needs bfcl-eval
(requirements/bench-bfcl.txt):

    PYTHONPATH=src .venv/bin/python -m bench.tool_flags [--answers calls.jsonl]

Prints each wrong setting, then per category: flags set right / set.
"""

from __future__ import annotations

import json
from collections import Counter

from bench.bfcl_data import BfclItem, load_category, openai_function_name
from bench.tool_grounding_recall import CATEGORIES, cost_then_gain, first_accepted, rescore_settled
from voxgate.backends.toolcall_flags import flags_asked_for
from voxgate.backends.toolcall_parser import ParsedToolCall, declared_functions
from voxgate.backends.toolcall_relevance import request_text
from voxgate.backends.toolcall_schema import declared_properties


def references_broken() -> None:
    """Print each flag the rule would set wrong, then a table per category."""
    made, right = Counter[str](), Counter[str]()
    for category in CATEGORIES:
        for item in load_category(category, 100_000):
            for ok in _settings(item):
                made[category] += 1
                right[category] += ok
    print("| category | flags set right / set |\n|---|---|")
    for category in CATEGORIES:
        print(f"| {category} | {right[category]}/{made[category]} |")
    print(f"| all | {sum(right.values())}/{sum(made.values())} |")


def _settings(item: BfclItem) -> list[bool]:
    """For each boolean argument of each reference call the rule sets, whether the reference accepts true."""
    functions = declared_functions(item.tools)
    text = request_text(item.messages)
    answer = [(openai_function_name(name), accepted)
              for call in item.ground_truth or [] for name, accepted in call.items()]
    names = [called for called, _ in answer]
    right = [first_accepted(values) for _, values in answer]
    found = []
    for index, (name, accepted) in enumerate(answer):
        for key, schema in (declared_properties(functions.get(name)) or {}).items():
            if not isinstance(schema, dict) or schema.get("type") != "boolean":
                continue
            given = [{**values, key: False} if at == index else values for at, values in enumerate(right)]
            calls = [ParsedToolCall(called, json.dumps(values)) for called, values in zip(names, given, strict=True)]
            settled, _ = flags_asked_for(calls, functions, text)
            if json.loads(settled[index].arguments).get(key) is not True:
                continue
            ok = True in accepted.get(key, [""])
            found.append(ok)
            if not ok:
                print(f"{item.id} {name}.{key}: set true, accepted {accepted.get(key, [''])} | {text[-90:]!r}")
    return found


def rescore_recorded(path: str) -> None:
    """Settle each recorded answer by the rule and score it again."""
    rescore_settled(path, lambda calls, item: flags_asked_for(calls, declared_functions(item.tools),
                                                              request_text(item.messages)))


def main() -> None:
    cost_then_gain(__doc__, references_broken, rescore_recorded)


if __name__ == "__main__":
    main()
