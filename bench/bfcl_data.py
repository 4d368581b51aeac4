"""The Berkeley Function Calling Leaderboard's data, read from the `bfcl-eval` wheel, and its checker.

Install: `.venv/bin/pip install --no-deps -r requirements/bench-bfcl.txt` (the wheel's data files
and its pure-Python checkers are all this uses; its dependencies are model SDKs it does not need).

What is taken from BFCL, unchanged:
- the questions (`bfcl_eval/data/BFCL_v4_<category>.json`) and accepted answers
  (`bfcl_eval/data/possible_answer/`);
- the AST checker (`bfcl_eval.eval_checker.ast_eval.ast_checker`): function name, every required
  argument present, each value among the accepted ones (strings compared after BFCL's own
  normalisation), no unknown arguments, parallel calls in any order. Its one import that needs
  model SDKs, `bfcl_eval.constants.model_config`, is replaced by a stub that answers
  `underscore_to_dot=True` for every model, as BFCL does for OpenAI-style APIs: a function named
  `spotify.play` is sent as `spotify_play` (OpenAI refuses dots) and checked as such;
- irrelevance rules: `irrelevance`/`live_irrelevance` pass when the answer makes no call,
  `live_relevance` passes when it makes at least one.

What is ours (BFCL does the same in `model_handler/utils.convert_to_tool`, which needs
tree-sitter to import): BFCL's parameter types (`dict`, `float`, `tuple`, `any`...) become JSON
Schema types with BFCL's own GORILLA_TO_OPENAPI table.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import types
from dataclasses import dataclass
from importlib import resources
from typing import Any

AST_CATEGORIES = (
    "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance",
    "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance",
)  # fmt: skip
NO_CALL_CATEGORIES = frozenset({"irrelevance", "live_irrelevance"})
SOME_CALL_CATEGORIES = frozenset({"live_relevance"})


@dataclass(frozen=True)
class BfclItem:
    """One question: its category, id, chat messages, OpenAI tools, BFCL functions and answers."""

    category: str
    id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    ground_truth: list[Any] | None


def _data_file(name: str) -> Any:
    try:
        return resources.files("bfcl_eval") / "data" / name
    except ModuleNotFoundError as exc:
        raise SystemExit("bfcl-eval is not installed: pip install --no-deps -r requirements/bench-bfcl.txt") from exc


def read_jsonl(name: str) -> list[dict[str, Any]]:
    """The entries of one of the wheel's JSON-lines data files (`possible_answer/...` for answers)."""
    lines = _data_file(name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_category(category: str, per_category: int, skip: int = 0) -> list[BfclItem]:
    """`per_category` items spread evenly over the category (the same ones every run): the last
    `per_category` of `skip + per_category` evenly spread ones. The `skip` left out are the ones to
    tune on, so figures reported with `skip` come from items no tuning saw."""
    entries = read_jsonl(f"BFCL_v4_{category}.json")
    answers: dict[str, Any] = {}
    if category not in NO_CALL_CATEGORIES | SOME_CALL_CATEGORIES:
        answers = {a["id"]: a["ground_truth"] for a in read_jsonl(f"possible_answer/BFCL_v4_{category}.json")}
    stride = max(1, len(entries) // max(1, per_category + skip))
    chosen = entries[::stride][skip : skip + per_category]
    return [_item(category, entry, answers.get(entry["id"])) for entry in chosen]


def _item(category: str, entry: dict[str, Any], ground_truth: list[Any] | None) -> BfclItem:
    functions = entry["function"]
    return BfclItem(
        category, entry["id"], _first_turn(entry["question"]), to_openai_tools(functions), functions, ground_truth
    )


def _first_turn(question: list[Any]) -> list[dict[str, Any]]:
    turn = question[0] if question and isinstance(question[0], list) else question
    return [dict(message) for message in turn]


def openai_function_name(name: str) -> str:
    """BFCL's own renaming for OpenAI-style APIs: dots become underscores."""
    return re.sub(r"\.", "_", name)


def to_openai_tools(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL function documents as OpenAI `tools` (JSON Schema types, OpenAI-legal names)."""
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

    tools = []
    for function in copy.deepcopy(functions):
        parameters = function.get("parameters") or {"type": "dict", "properties": {}}
        converted = _schema(parameters, GORILLA_TO_OPENAPI)
        converted["type"] = "object"
        tool = {"name": openai_function_name(function["name"]), "parameters": converted}
        if function.get("description"):
            tool["description"] = function["description"]
        tools.append({"type": "function", "function": tool})
    return tools


def _schema(node: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    node = {key: value for key, value in node.items() if key != "optional"}
    node["type"] = mapping.get(str(node.get("type")), "string")
    if isinstance(node.get("properties"), dict):
        node["properties"] = {key: _schema(value, mapping) for key, value in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _schema(node["items"], mapping)
    if node["type"] not in ("array",) and "items" in node:
        del node["items"]
    return node


def install_checker_stub() -> None:
    """Let BFCL's AST checker import without model SDKs (see the module docstring)."""
    name = "bfcl_eval.constants.model_config"
    if name in sys.modules:
        return

    class _EveryModel(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return types.SimpleNamespace(underscore_to_dot=True)

    stub = types.ModuleType(name)
    stub.MODEL_CONFIG_MAPPING = _EveryModel()  # type: ignore[attr-defined]
    sys.modules[name] = stub


def score(item: BfclItem, calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """(passed, why not) for one answer, given as BFCL's `[{function_name: {argument: value}}]`."""
    if item.category in NO_CALL_CATEGORIES:
        return (not calls, "" if not calls else "called a function where none fits")
    if item.category in SOME_CALL_CATEGORIES:
        return (bool(calls), "" if calls else "made no call")
    if not calls:
        return False, "made no call"
    install_checker_stub()
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    category = item.category.removeprefix("live_").replace("simple_python", "simple")
    try:
        result = ast_checker(item.functions, calls, item.ground_truth, Language.PYTHON, category, "voxgate")
    except Exception as exc:  # the checker raises on some malformed answers; that is a fail
        return False, f"checker: {type(exc).__name__}"
    return bool(result["valid"]), "; ".join(str(error) for error in result.get("error", []))[:200]
