"""A sample of BFCL's `multi_turn_base` category: an agent loop against BFCL's simulated APIs.

Each entry is a conversation of user turns over stateful APIs (a file system, a Twitter clone...).
Per user turn the model is asked with the entry's functions (BFCL's docs for its
`involved_classes`, less `excluded_function`), each call it makes is run by BFCL's own executor
(`execute_multi_turn_func_call`) and the result sent back as a `tool` message, until the model
answers without a call (at most MAX_STEPS answers per turn). BFCL's own `multi_turn_checker`
then compares, turn by turn, the APIs' state and the calls' results with the ground truth's.
To bound the run only the first `TURNS` turns of an entry are played and checked.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from bench.bfcl_data import read_jsonl, to_openai_tools

TURNS = 2
MAX_STEPS = 4
_run_ids = itertools.count()


@dataclass(frozen=True)
class MultiTurnItem:
    """One multi-turn entry, cut to its first TURNS turns."""

    id: str
    entry: dict[str, Any]
    turns: list[list[dict[str, Any]]]
    tools: list[dict[str, Any]]
    ground_truth: list[list[str]]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(tool["function"]["name"] for tool in self.tools)


def load_multi_turn(count: int) -> list[MultiTurnItem]:
    """`count` entries spread evenly over multi_turn_base."""
    if count <= 0:
        return []
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    entries = read_jsonl("BFCL_v4_multi_turn_base.json")
    answers = {a["id"]: a["ground_truth"] for a in read_jsonl("possible_answer/BFCL_v4_multi_turn_base.json")}
    items = []
    for entry in entries[:: max(1, len(entries) // count)][:count]:
        excluded = set(entry.get("excluded_function", []))
        functions = [
            doc
            for class_name in entry["involved_classes"]
            for doc in read_jsonl(f"multi_turn_func_doc/{MULTI_TURN_FUNC_DOC_FILE_MAPPING[class_name]}")
            if doc["name"] not in excluded
        ]
        items.append(MultiTurnItem(
            entry["id"], entry, entry["question"][:TURNS], to_openai_tools(functions), answers[entry["id"]][:TURNS]
        ))  # fmt: skip
    return items


def run_multi_turn(client: openai.OpenAI, model: str, item: MultiTurnItem, max_tokens: int) -> tuple[bool, str]:
    """Play the entry's turns on `model`; (passed, why not) by BFCL's multi-turn checker."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    run_name = f"voxgate_run{next(_run_ids)}"
    messages: list[Any] = []
    decoded: list[list[list[str]]] = []
    entry = item.entry
    for turn in item.turns:
        messages.extend(turn)
        steps: list[list[str]] = []
        for _ in range(MAX_STEPS):
            try:
                completion = client.chat.completions.create(
                    model=model, messages=messages, tools=cast(Any, item.tools), temperature=0, max_tokens=max_tokens
                )
            except openai.APIError as exc:
                return False, f"error: {str(exc)[:120]}"
            message = completion.choices[0].message
            calls = [
                call for call in message.tool_calls or [] if isinstance(call, ChatCompletionMessageFunctionToolCall)
            ]
            if not calls:
                messages.append({"role": "assistant", "content": message.content or ""})
                break
            strings = [_call_string(call.function.name, call.function.arguments, item.names) for call in calls]
            steps.append([s for s in strings if s is not None])
            runnable = [s for s in strings if s is not None]
            ran, _ = execute_multi_turn_func_call(
                runnable, entry["initial_config"], entry["involved_classes"], run_name, entry["id"]
            )
            ran_results = iter(ran)
            results = [next(ran_results) if s is not None else "Error: no such function" for s in strings]
            messages.append(message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}))
            messages.extend(
                {"role": "tool", "tool_call_id": call.id, "content": str(result)}
                for call, result in zip(calls, results, strict=True)
            )
        decoded.append(steps)
    result = multi_turn_checker(decoded, item.ground_truth, entry, "multi_turn_base", run_name)
    return bool(result["valid"]), str(result.get("error_message", ""))[:200]


def _call_string(name: str, arguments: str, names: frozenset[str]) -> str | None:
    """BFCL's executable form of a call: `name(key=value, ...)` with Python literals. BFCL's
    executor `eval`s it, so only a declared name with identifier keys gets a string (else None)."""
    try:
        values = json.loads(arguments or "{}")
    except ValueError:
        values = {}
    if not isinstance(values, dict):
        values = {}
    if name not in names or not all(isinstance(key, str) and key.isidentifier() for key in values):
        return None
    return f"{name}(" + ", ".join(f"{key}={value!r}" for key, value in values.items()) + ")"
