"""A sample of BFCL's `multi_turn_base` category: an agent loop against BFCL's simulated APIs.

Each entry is a conversation of user turns over stateful APIs (a file system, a Twitter clone...).
Per user turn the model is asked with the entry's functions (BFCL's docs for its
`involved_classes`, less `excluded_function`), each call it makes is run by BFCL's own executor
(`execute_multi_turn_func_call`) and the result sent back as a `tool` message, until the model
answers without a call (at most MAX_STEPS answers per turn). BFCL's own `multi_turn_checker`
then compares, turn by turn, the APIs' state and the calls' results with the ground truth's.
To bound the run only the first `TURNS` turns of an entry are played and checked (`turns=`).
What each turn did (seconds, calls per step, an answer in words, an error) is kept in `TurnLog`s
and handed to `on_turn` as soon as the turn ends, so a run cut by a timeout still shows how far it got.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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


@dataclass
class TurnLog:
    """One user turn as played: seconds, the calls of each step (BFCL's strings; None: not runnable),
    the answer in words that ended it (if any), the error that stopped it (if any)."""

    seconds: float = 0.0
    steps: list[list[str | None]] = field(default_factory=list)
    words: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    """The largest prompt of the turn's asks, as the server counted it."""
    models: list[str] = field(default_factory=list)
    """The model that answered each ask (`model` in the answer)."""

    def summary(self) -> str:
        calls = " | ".join(", ".join(c or "<not runnable>" for c in step) for step in self.steps) or "no call"
        ended = f"error {self.error}" if self.error else (f"words {self.words[:80]!r}" if self.words is not None
                                                           else f"stopped after {MAX_STEPS} steps")
        return f"{self.seconds:.0f} s, prompt <= {self.prompt_tokens} tokens, {len(self.steps)} call steps: {calls}; " \
               f"then {ended}" + (f" [{', '.join(self.models)}]" if self.models else "")


def turn_record(route: str, item_id: str, index: int, log: TurnLog) -> dict[str, Any]:
    """One played turn as a JSON object, the answer's words whole (the summary cuts them to 80
    characters): what `bench.bfcl --turns-out` appends, so a cut-short call can be read afterwards."""
    return {"route": route, "id": item_id, "turn": index, **asdict(log)}


def load_multi_turn(count: int, turns: int = TURNS) -> list[MultiTurnItem]:
    """`count` entries spread evenly over multi_turn_base, each cut to its first `turns` turns."""
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
            entry["id"], entry, entry["question"][:turns], to_openai_tools(functions), answers[entry["id"]][:turns]
        ))  # fmt: skip
    return items


def run_multi_turn(
    client: openai.OpenAI, model: str, item: MultiTurnItem, max_tokens: int,
    on_turn: Callable[[int, TurnLog], None] = lambda _index, _log: None,
) -> tuple[bool, str, list[TurnLog]]:
    """Play the entry's turns on `model`; (passed, why not, what each turn did) by BFCL's checker."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    run_name = f"voxgate_run{next(_run_ids)}"
    messages: list[Any] = []
    logs: list[TurnLog] = []
    for index, turn in enumerate(item.turns):
        messages.extend(turn)
        started = time.perf_counter()
        turn_log = _play_turn(client, model, item, messages, max_tokens, run_name)
        turn_log.seconds = time.perf_counter() - started
        logs.append(turn_log)
        on_turn(index, turn_log)
        if turn_log.error is not None:
            return False, f"error: {turn_log.error}", logs
    decoded = [[[call for call in step if call is not None] for step in log.steps] for log in logs]
    result = multi_turn_checker(decoded, item.ground_truth, item.entry, "multi_turn_base", run_name)
    return bool(result["valid"]), str(result.get("error_message", ""))[:200], logs


def _play_turn(
    client: openai.OpenAI, model: str, item: MultiTurnItem, messages: list[Any], max_tokens: int, run_name: str
) -> TurnLog:
    """Ask until the model answers without a call (at most MAX_STEPS), running each call on BFCL's
    executor and sending its result back; `messages` grows with the turn's messages."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    entry = item.entry
    log = TurnLog()
    for _ in range(MAX_STEPS):
        try:
            completion = client.chat.completions.create(
                model=model, messages=messages, tools=cast(Any, item.tools), temperature=0, max_tokens=max_tokens
            )
        except openai.APIError as exc:
            log.error = str(exc)[:160]
            return log
        log.models.append(completion.model)
        if completion.usage is not None:
            log.prompt_tokens = max(log.prompt_tokens, completion.usage.prompt_tokens)
        message = completion.choices[0].message
        calls = [call for call in message.tool_calls or [] if isinstance(call, ChatCompletionMessageFunctionToolCall)]
        if not calls:
            messages.append({"role": "assistant", "content": message.content or ""})
            log.words = message.content or ""
            return log
        strings = [_call_string(call.function.name, call.function.arguments, item.names) for call in calls]
        log.steps.append(strings)
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
    return log


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
