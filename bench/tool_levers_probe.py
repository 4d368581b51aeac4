"""Probe of tool-call levers on BFCL items, each bundled model called directly (no gateway).

For each item, model and prompt variant, asked as voxgate asks (`plan_request`, temperature 0):
the first answer (its first token's top log-probabilities), and, when it is calls, (1) the
continuation voxgate sends today, (2) a one-token probe of the same continuation with the end of
the answer banned (`ignore_eos`) whose top log-probabilities give P(<tool_call>) and P(end) at the
point the model stops, (3) a forced continuation started with "<tool_call>\\n". One JSON line per
ask goes to --out, for offline reading of thresholds. Run:
    PYTHONPATH=src:/tmp/bfcl-pkgs flock /work/notes/heavy.lock timeout 900 nice -n 5 \\
        .venv/bin/python -m bench.tool_levers_probe --per-category 4 --out /tmp/probe.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bfcl_data import BfclItem, load_category, score
from bench.continuation_timings import start_model
from tests.support.processes import stop_process
from voxgate.backends.toolcall_continuation import continuation_body, further_calls
from voxgate.backends.toolcall_parser import ParsedToolCall, split_prose_and_calls
from voxgate.backends.toolcalls import plan_request
from voxgate.core.types import JSONObject

HINTED_OUTRO = (
    "If the user's request needs several calls, write one <tool_call> block for each. If no function fits the "
    "request, or a <tool_response> already holds what the user asked for, answer in plain words without calling "
    "a function."
)
FORCED_START = '{"name": "'
VARIANTS = {
    "base": None,
    "hint": (
        "When the user asks about several items (several cities, numbers, people, files...), call the function "
        "once for each item, each call in its own <tool_call> block. Call a function only when it does what the "
        "user asks; if none of the functions fits, answer in plain words without calling one."
    ),
}


def post(client: httpx.Client, url: str, model_id: str, body: JSONObject) -> JSONObject:
    answer: JSONObject = client.post(url, json={**body, "model": model_id, "stream": False}).json()
    return answer


def content(answer: JSONObject) -> str:
    return str(answer["choices"][0]["message"].get("content") or "")


def top_probs(answer: JSONObject) -> list[tuple[str, float]]:
    tokens = ((answer["choices"][0].get("logprobs") or {}).get("content")) or []
    if not tokens:
        return []
    return [(alt["token"] or f"<{alt.get('id')}>", round(math.exp(alt["logprob"]), 4))
            for alt in tokens[0].get("top_logprobs", [])]


def bfcl(calls: list[ParsedToolCall]) -> list[dict[str, Any]]:
    return [{call.name: json.loads(call.arguments)} for call in calls]


def body_for(item: BfclItem, variant: str) -> tuple[JSONObject, frozenset[str]]:
    plan = plan_request({"messages": item.messages, "tools": item.tools, "temperature": 0, "max_tokens": 400})
    assert plan.declared is not None
    body = json.loads(json.dumps(plan.body))
    hint = VARIANTS[variant]
    if hint is not None:
        system = body["messages"][0]
        assert HINTED_OUTRO in system["content"]
        system["content"] = system["content"].replace(HINTED_OUTRO, hint)
    return body, plan.declared


def ask_item(client: httpx.Client, url: str, model: str, item: BfclItem, variant: str) -> JSONObject:
    body, declared = body_for(item, variant)
    started = time.perf_counter()
    first = post(client, url, model, {**body, "logprobs": True, "top_logprobs": 5})
    row: JSONObject = {"id": item.id, "category": item.category, "model": model, "variant": variant,
                       "first_ms": round((time.perf_counter() - started) * 1000), "text": content(first)[:400],
                       "first_top": top_probs(first)}
    found = split_prose_and_calls(content(first), declared)
    calls = found[1] if found is not None else []
    row["calls"] = bfcl(calls)
    row["pass_plain"] = score(item, bfcl(calls))[0]
    if not calls:
        row["pass_now"] = row["pass_plain"]
        return row
    continued = post(client, url, model, continuation_body(body, calls))
    added = further_calls(content(continued), calls, declared)
    row["added"] = bfcl(added)
    row["pass_now"], row["why_now"] = score(item, bfcl([*calls, *added]))
    probe = continuation_body(body, calls)
    probe.update({"max_tokens": 1, "logprobs": True, "top_logprobs": 8, "ignore_eos": True})
    row["cont_top"] = top_probs(post(client, url, model, probe))
    forced = continuation_body(body, calls)
    prefill = forced["messages"][-1]["content"] + FORCED_START
    forced["messages"][-1]["content"] = prefill
    forced_text = content(post(client, url, model, forced))
    forced_text = forced_text if forced_text.startswith(prefill) else prefill + forced_text
    more = further_calls(forced_text, calls, declared)
    row["forced_text"] = forced_text[len(prefill) - len(FORCED_START):][:300]
    row["forced"] = bfcl(more)
    row["pass_forced"], row["why_forced"] = score(item, bfcl([*calls, *more]))
    return row


def items_for(categories: list[str], per_category: int, skip: int, spread: int) -> list[BfclItem]:
    """`per_category` of each category's `spread` evenly spread items, after the first `skip`."""
    return [item for category in categories
            for item in load_category(category, spread, 0)[skip : skip + per_category]]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tool_levers_probe")
    parser.add_argument("--models", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    parser.add_argument("--variants", default="base,hint")
    parser.add_argument("--categories", default="parallel,parallel_multiple,irrelevance,simple_python,multiple")
    parser.add_argument("--per-category", type=int, default=4)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--spread", type=int, default=15)
    parser.add_argument("--budget-s", type=float, default=700)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    items = items_for(args.categories.split(","), args.per_category, args.skip, args.spread)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir, args.out.open("a") as out:
        for model in args.models.split(","):
            server = start_model(model, Path(workdir))
            try:
                with httpx.Client(timeout=300, trust_env=False) as client:
                    url = f"{server.base_url}/v1/chat/completions"
                    for item in items:
                        for variant in args.variants.split(","):
                            if time.monotonic() - started > args.budget_s:
                                print("budget spent", flush=True)
                                return
                            row = ask_item(client, url, model, item, variant)
                            out.write(json.dumps(row) + "\n")
                            out.flush()
                            print(f"{model[-4:]} {variant} {item.id:22s} now {row['pass_now']!s:5} "
                                  f"forced {row.get('pass_forced', '-')!s:5} calls {len(row['calls'])}"
                                  f"+{len(row.get('added', []))} cont_top {row.get('cont_top', [])[:3]} "
                                  f"first_top {row['first_top'][:2]}", flush=True)
            finally:
                stop_process(server.process)


if __name__ == "__main__":
    main()
