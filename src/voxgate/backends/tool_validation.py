"""Checks on a tool turn: does the model's answer fit the request's `tools` and `tool_choice`? Pure.

`find_tool_call_problems(body, message)` takes the request body as the client sent it and the
assistant `message` of the answer (`choices[0].message` of a `chat.completion`, as a dict) and
lists what is wrong with it, each problem a `ToolCallProblem` of one `ToolCallProblemKind`:

    unknown_function     a call to a function `tools` does not declare, made or written out as text
    arguments_not_json   `arguments` is not a JSON object
    arguments_invalid    the arguments fail the function's `parameters` JSON Schema
    call_required        text where `tool_choice` ("required" or a named function) demanded a call
    wrong_function       a call to another function than the one `tool_choice` names
    call_forbidden       a call although `tool_choice` is "none"
    too_many_calls       several calls although `parallel_tool_calls` is false
    call_as_text         the text is a call to a declared function that was never turned into one
    call_cut_short       the text opens as a call to a declared function but is no whole call (the
                         token limit cut it, often a list argument repeating itself; or broken JSON)
    repeated_call        a call identical to one the conversation already made and answered
    json_not_words       the text is nothing but a JSON object or array that is no call, and the
                         request asks for no JSON (no `response_format`, "JSON" in no message): the
                         0.5B's made-up car state `{"currentACTire": 30, ...}` for "top it up"

An empty tuple means the answer is acceptable. A request without tools yields no problems. The
answer checks (cascade) use this as the exact check that makes a tool turn escalate; the server
uses `schema_problem` to refuse a `parameters` schema that is not JSON Schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators

from voxgate.core.types import JSONObject

from .tool_prompt import content_text
from .toolcall_parser import (
    classify_tool_call_start,
    declared_functions,
    declared_name,
    parse_tool_calls,
    split_prose_and_calls,
    written_call_names,
)

__all__ = [
    "ToolCallProblem", "ToolCallProblemKind", "answered_calls", "canonical_arguments", "find_tool_call_problems",
    "schema_problem",
]

_MAX_SCHEMA_ERRORS = 3
_CALL_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')
_FENCE = re.compile(r"^```[a-zA-Z]*\n|\n?```$")


class ToolCallProblemKind(StrEnum):
    """What is wrong with a tool turn's answer."""

    UNKNOWN_FUNCTION = "unknown_function"
    ARGUMENTS_NOT_JSON = "arguments_not_json"
    ARGUMENTS_INVALID = "arguments_invalid"
    CALL_REQUIRED = "call_required"
    WRONG_FUNCTION = "wrong_function"
    CALL_FORBIDDEN = "call_forbidden"
    TOO_MANY_CALLS = "too_many_calls"
    CALL_AS_TEXT = "call_as_text"
    CALL_CUT_SHORT = "call_cut_short"
    REPEATED_CALL = "repeated_call"
    JSON_NOT_WORDS = "json_not_words"


@dataclass(frozen=True, slots=True)
class ToolCallProblem:
    """One problem; `call_index` is the position in `tool_calls` (None: the answer as a whole)."""

    kind: ToolCallProblemKind
    message: str
    call_index: int | None = None
    function: str | None = None


def find_tool_call_problems(body: JSONObject, message: JSONObject) -> tuple[ToolCallProblem, ...]:
    """Everything wrong with `message` as the answer to the tool request `body`. Never raises."""
    functions = declared_functions(body.get("tools"))
    if not functions:
        return ()
    calls = message.get("tool_calls")
    calls = calls if isinstance(calls, list) else []
    problems = [*_choice_problems(body, calls, message.get("content")), *_parallel_problems(body, calls)]
    answered = answered_calls(body.get("messages"))
    for index, call in enumerate(calls):
        problems.extend(_call_problems(index, call, functions, answered))
    if not calls:
        problems.extend(_text_problems(message.get("content"), functions) or _json_problems(body, message))
    return tuple(problems)


def schema_problem(parameters: object) -> str | None:
    """Why `parameters` is not a usable JSON Schema for a function's arguments; None if it is."""
    if not isinstance(parameters, dict):
        return "must be a JSON Schema object"
    try:
        validators.validator_for(parameters).check_schema(parameters)
    except schema_exceptions.SchemaError as exc:
        return f"is not a valid JSON Schema: {exc.message}"
    except (schema_exceptions.UnknownType, schema_exceptions.RefResolutionError, ValueError, TypeError) as exc:
        return f"is not a valid JSON Schema: {exc}"
    return None


def _choice_problems(body: JSONObject, calls: list[Any], content: object) -> list[ToolCallProblem]:
    choice = body.get("tool_choice", "auto")
    if choice == "none":
        message = '`tool_choice` is "none" but the answer calls a tool'
        return [ToolCallProblem(ToolCallProblemKind.CALL_FORBIDDEN, message)] if calls else []
    forced = _forced_name(choice)
    if choice != "required" and forced is None:
        return []
    if not calls:
        what = "text" if isinstance(content, str) and content.strip() else "nothing"
        wanted = f"a call to `{forced}`" if forced else "a tool call"
        message = f"`tool_choice` demands {wanted}; the answer is {what}"
        return [ToolCallProblem(ToolCallProblemKind.CALL_REQUIRED, message)]
    if forced is None:
        return []
    return [
        ToolCallProblem(ToolCallProblemKind.WRONG_FUNCTION, f"`tool_choice` names `{forced}`", index, name)
        for index, name in enumerate(_call_name(call) for call in calls)
        if name != forced
    ]


def _parallel_problems(body: JSONObject, calls: list[Any]) -> list[ToolCallProblem]:
    if body.get("parallel_tool_calls", True) is False and len(calls) > 1:
        message = f"`parallel_tool_calls` is false but the answer makes {len(calls)} calls"
        return [ToolCallProblem(ToolCallProblemKind.TOO_MANY_CALLS, message)]
    return []


def _call_problems(
    index: int, call: Any, functions: dict[str, JSONObject], answered: frozenset[tuple[str, str]]
) -> list[ToolCallProblem]:
    name = _call_name(call)
    if name is None or name not in functions:
        return [ToolCallProblem(ToolCallProblemKind.UNKNOWN_FUNCTION, f"no declared function `{name}`", index, name)]
    arguments = _call_arguments(call)
    if arguments is None:
        message = "`arguments` is not a JSON object"
        return [ToolCallProblem(ToolCallProblemKind.ARGUMENTS_NOT_JSON, message, index, name)]
    problems = [
        ToolCallProblem(ToolCallProblemKind.ARGUMENTS_INVALID, error, index, name)
        for error in _argument_errors(functions[name].get("parameters"), arguments)
    ]
    if (name, canonical_arguments(arguments)) in answered:
        message = "the same call was already made and answered in this conversation"
        problems.append(ToolCallProblem(ToolCallProblemKind.REPEATED_CALL, message, index, name))
    return problems


def _text_problems(content: object, functions: dict[str, JSONObject]) -> list[ToolCallProblem]:
    if not isinstance(content, str):
        return []
    if parse_tool_calls(content, functions) is not None:
        message = "the text is a call to a declared function, written out instead of made"
        return [ToolCallProblem(ToolCallProblemKind.CALL_AS_TEXT, message)]
    named = _CALL_NAME.search(content)
    if classify_tool_call_start(content) is True and named is not None and named.group(1) in functions:
        message = f"the text opens as a call to `{named.group(1)}` but is no whole call (cut short, or not JSON)"
        return [ToolCallProblem(ToolCallProblemKind.CALL_CUT_SHORT, message)]
    return [
        ToolCallProblem(ToolCallProblemKind.UNKNOWN_FUNCTION,
                        f"the text writes out a call to `{name}`, which `tools` does not declare", None, name)
        for name in dict.fromkeys(written_call_names(content)) if declared_name(name, functions) is None
    ]


def _json_problems(body: JSONObject, message: JSONObject) -> list[ToolCallProblem]:
    content = message.get("content")
    if not isinstance(content, str) or body.get("response_format") is not None or _asks_for_json(body):
        return []
    text = _FENCE.sub("", content.strip()).strip()
    if text[:1] not in ("{", "["):
        return []
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return []
    message_text = "the text is a bare JSON value that calls no function, where the request asks for no JSON"
    return [ToolCallProblem(ToolCallProblemKind.JSON_NOT_WORDS, message_text)]


def _asks_for_json(body: JSONObject) -> bool:
    messages = body.get("messages")
    said = (content_text(item.get("content")) for item in (messages if isinstance(messages, list) else ())
            if isinstance(item, dict) and item.get("role") in ("system", "user"))
    return any("json" in text.lower() for text in said)


def _argument_errors(parameters: object, arguments: JSONObject) -> list[str]:
    if not isinstance(parameters, dict) or not parameters:
        return []
    validator = _validator(json.dumps(parameters, sort_keys=True))
    if validator is None:
        return []
    errors = sorted(validator.iter_errors(arguments), key=lambda error: list(error.absolute_path))
    return [_describe(error) for error in errors[:_MAX_SCHEMA_ERRORS]]


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    """A validator for a schema (by its canonical JSON); None when the schema itself is invalid."""
    schema = json.loads(schema_json)
    if schema_problem(schema) is not None:
        return None
    return validators.validator_for(schema)(schema)


def _describe(error: schema_exceptions.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"arguments{'/' + where if where else ''}: {error.message}"


def _forced_name(choice: object) -> str | None:
    if not isinstance(choice, dict):
        return None
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def _call_name(call: Any) -> str | None:
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def _call_arguments(call: Any) -> JSONObject | None:
    function = call.get("function") if isinstance(call, dict) else None
    arguments = function.get("arguments") if isinstance(function, dict) else None
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            return None
    return arguments if isinstance(arguments, dict) else None


def canonical_arguments(arguments: JSONObject) -> str:
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def answered_calls(messages: object) -> frozenset[tuple[str, str]]:
    """(name, canonical arguments: sorted-key JSON) of each assistant call that a later `tool`
    message answered."""
    if not isinstance(messages, list):
        return frozenset()
    answered_ids = {m.get("tool_call_id") for m in messages if isinstance(m, dict) and m.get("role") == "tool"}
    answered: set[tuple[str, str]] = set()
    for message in messages:
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        for call in calls if isinstance(calls, list) else ():
            name, arguments = _call_name(call), _call_arguments(call)
            if name is not None and arguments is not None and call.get("id") in answered_ids:
                answered.add((name, canonical_arguments(arguments)))
    return frozenset(answered)


_CALL_LIKE_MARKERS = ("<tool_call>", '{"name"', '"arguments"')


def repeats_answered_calls(text: str, declared: Collection[str], answered: Collection[tuple[str, str]]) -> bool:
    """Whether an answer right after a tool result fails to use it: only calls already made and
    answered (arguments compared loosely: case, spaces and punctuation ignored, as small models
    re-call with "1024/16" for "1024 / 16"), call-like text that is no call (the call again with
    the result echoed), or bare JSON (the result read back). `answered` holds (name, loose
    arguments) pairs (`ToolCallPlan.answered`). Pure."""
    found = split_prose_and_calls(text, declared)
    if found is None:
        return any(marker in text for marker in _CALL_LIKE_MARKERS) or text.strip()[:1] in ("{", "[")
    return all((call.name, loose_arguments(json.loads(call.arguments))) in answered for call in found[1])


def loose_arguments(arguments: Any) -> str:
    return json.dumps(_loose(arguments), sort_keys=True)


def _loose(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(character for character in value.lower() if character.isalnum())
    if isinstance(value, dict):
        return {key: _loose(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_loose(item) for item in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
