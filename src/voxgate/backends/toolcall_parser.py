"""Pure functions that read tool calls a model wrote as text, and build the schemas that force one.

Qwen2.5-Coder GGUFs served by llama.cpp write tool calls as text instead of native `tool_calls`.
Forms seen in real outputs, all accepted here, alone or several in a row:

    {"name": "get_weather", "arguments": {"city": "Paris"}}         (often with a stray ``` after it)
    ```json\\n{"name": ..., "arguments": ...}\\n```
    <tool_call>{"name": ..., "arguments": ...}</tool_call>
    [{"name": ...}, {"name": ...}]                                    (a list of calls)
    {"name": ...},\n{"name": ...}                                     (a list without its brackets)
    {"name": "f", "arguments": {"x": 1}                              (the last call one or two `}` short)

`arguments` may be an object or a JSON string holding one; `parameters` is accepted in its place;
`{"function": {...}}` wrappers are unwrapped. The whole text must be tool calls for declared
functions, or it is not a tool call at all (it is then left to the caller as plain text).

`described_functions` reads the other way a small model answers a tool request: in words that name
the function it means to call ("I would need to call the `legal_case_fetch` function with the
`case_id` as \"R vs Adams\"", measured: qwen2.5-coder-1.5b on BFCL's multiple items).
`written_call_names` reads the names of every whole call-shaped object in a text, declared or not:
how a call to a function that does not exist is seen (the cascade's `tool_arguments` check).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from voxgate.core.types import JSONObject

_FENCE = "```"
_OPEN_TAG = "<tool_call>"
_CLOSE_TAG = "</tool_call>"
_WHITESPACE = " \t\r\n"
_FENCE_LANGUAGE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

_decoder = json.JSONDecoder()
_IDENTIFIER_CHARS = "A-Za-z0-9_"
_CAMEL_CASE = re.compile(r"[a-z][A-Z]")
_CALL_SHAPED = re.compile(r'\{\s*"name"\s*:\s*"(?:[^"\\]|\\.){1,400}"\s*,\s*"(?:arguments|parameters)"\s*:')


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    """One call read from text: the function name and its arguments as a JSON object string."""

    name: str
    arguments: str


ArgumentsRewrite = Callable[[ParsedToolCall, Any], tuple[Any, tuple[str, ...]]]
"""(a call, its decoded arguments) -> (the arguments rewritten, the names of the arguments changed)."""


def rewritten_calls(
    calls: Sequence[ParsedToolCall], rewrite: ArgumentsRewrite, *, ensure_ascii: bool = True
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each one's arguments passed through `rewrite` (a call whose arguments are not JSON, or
    that `rewrite` changes nothing in, stays as it is), and the names `rewrite` reported changed, each once, in
    order."""
    out: list[ParsedToolCall] = []
    changed: list[str] = []
    for call in calls:
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            out.append(call)
            continue
        rewritten, names = rewrite(call, arguments)
        out.append(ParsedToolCall(call.name, json.dumps(rewritten, ensure_ascii=ensure_ascii)) if names else call)
        changed.extend(name for name in names if name not in changed)
    return out, tuple(changed)


def parse_tool_calls(text: str, declared_names: Collection[str]) -> list[ParsedToolCall] | None:
    """The tool calls `text` consists of, or None if it is anything else. Never raises."""
    values = _split_json_values(text)
    if not values:
        return None
    calls: list[ParsedToolCall] = []
    for value in values:
        candidates = value if isinstance(value, list) else [value]
        for candidate in candidates:
            call = _call_from_object(candidate, declared_names)
            if call is None:
                return None
            calls.append(call)
    return calls or None


def parse_leading_tool_calls(text: str, declared_names: Collection[str]) -> list[ParsedToolCall]:
    """The calls to declared functions that `text` starts with, up to the first thing that is not
    one (an answer continued after its calls: more calls, then maybe anything). Never raises."""
    calls: list[ParsedToolCall] = []
    for value in _split_json_values(text, stop_at_other=True) or ():
        for candidate in value if isinstance(value, list) else [value]:
            call = _call_from_object(candidate, declared_names)
            if call is None:
                return calls
            calls.append(call)
    return calls


def split_prose_and_calls(text: str, declared_names: Collection[str]) -> tuple[str, list[ParsedToolCall]] | None:
    """(leading prose, calls) when `text` is some prose followed by nothing but tool calls, as in
    "To get the weather I will call:\n```json\n{...}\n```"; None when it has no such calls.

    The calls must start at a fence, a <tool_call> tag, or a `{`/`[` opening a line.
    """
    calls = parse_tool_calls(text, declared_names)
    if calls is not None:
        return "", calls
    for start in _call_start_candidates(text):
        calls = parse_tool_calls(text[start:], declared_names)
        if calls is not None:
            return text[:start].strip(), calls
    return None


def _call_start_candidates(text: str) -> list[int]:
    starts = {index for marker in (_FENCE, _OPEN_TAG) for index in _find_all(text, marker)}
    starts.update(index + 1 for marker in ("\n{", "\n[") for index in _find_all(text, marker))
    return sorted(starts)


def _find_all(text: str, marker: str) -> list[int]:
    found: list[int] = []
    index = text.find(marker)
    while index != -1:
        found.append(index)
        index = text.find(marker, index + 1)
    return found


def classify_tool_call_start(text: str) -> bool | None:
    """How the start of a streamed answer reads: True if it begins like a tool call (an opener
    then `{"`), False if it cannot be one, None if too little has arrived to tell."""
    position, end = _skip_whitespace(text, 0), len(text)
    while position < end:
        after_opener = _skip_opener(text, position)
        if after_opener is not None:
            position = _skip_whitespace(text, after_opener)
        elif _FENCE.startswith(text[position:]) or _OPEN_TAG.startswith(text[position:]):
            return None
        else:
            break
    if position < end and text[position] == "[":
        position = _skip_whitespace(text, position + 1)
    if position == end:
        return None
    if text[position] != "{":
        return False
    position = _skip_whitespace(text, position + 1)
    return None if position == end else text[position] == '"'


def _skip_opener(text: str, position: int) -> int | None:
    """Where the text goes on after a fence (with its language) or a <tool_call> tag at
    `position`; None when neither starts there."""
    if text.startswith(_FENCE, position):
        position += len(_FENCE)
        while position < len(text) and text[position] in _FENCE_LANGUAGE_CHARS:
            position += 1
        return position
    if text.startswith(_OPEN_TAG, position):
        return position + len(_OPEN_TAG)
    return None


def _skip_whitespace(text: str, position: int) -> int:
    end = len(text)
    while position < end and text[position] in _WHITESPACE:
        position += 1
    return position


def _split_json_values(text: str, *, stop_at_other: bool = False) -> list[Any] | None:
    """JSON values in `text`, ignoring fences, <tool_call> tags, whitespace around them and a comma
    after a value (calls listed without the list's brackets). Anything else: None, or with
    `stop_at_other` the values before it."""
    values: list[Any] = []
    position, end = 0, len(text)
    while True:
        position = _skip_whitespace(text, position)
        if position == end:
            return values
        after_opener = _skip_opener(text, position)
        if after_opener is not None:
            position = after_opener
        elif text.startswith(_CLOSE_TAG, position):
            position += len(_CLOSE_TAG)
        elif text[position] in "{[":
            try:
                value, position = _decoder.raw_decode(text, position)
            except (ValueError, RecursionError):
                closed = _closed_at_end(text[position:])
                if closed is not None:
                    return [*values, closed]
                return values if stop_at_other else None
            values.append(value)
            position = _skip_whitespace(text, position)
            if text.startswith(",", position):
                position += 1
        else:
            return values if stop_at_other else None


def _closed_at_end(rest: str) -> Any:
    """The value `rest` holds when it is the text's last JSON value short of one or two closing
    braces (the model stopped before its last `}`: `{"name": "f", "arguments": {"x": 1}`), a
    closing fence or tag after it allowed; else None."""
    rest = rest.rstrip(_WHITESPACE)
    for closer in (_FENCE, _CLOSE_TAG):
        rest = rest.removesuffix(closer).rstrip(_WHITESPACE)
    for missing in ("}", "}}"):
        try:
            value, end = _decoder.raw_decode(rest + missing)
        except (ValueError, RecursionError):
            continue
        if end == len(rest) + len(missing) and isinstance(value, dict):
            return value
    return None


def _call_from_object(value: Any, declared_names: Collection[str]) -> ParsedToolCall | None:
    if not isinstance(value, dict):
        return None
    function = value.get("function")
    if isinstance(function, dict):
        value = function
    name = declared_name(value.get("name"), declared_names)
    if name is None:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            return None
    if not isinstance(arguments, dict):
        return None
    return ParsedToolCall(name, json.dumps(arguments, ensure_ascii=False))


def declared_name(name: object, declared_names: Collection[str]) -> str | None:
    """The declared function a call's `name` means: itself when declared; else the one declared name
    it spells with other separators ("employee.fetch_data" for `employee_fetch_data`: OpenAI refuses
    dots in names, so tools made from dotted Python names lose them, while a model asked to use
    "the function 'employee.fetch_data'" writes the dots; BFCL parallel_139, 156, 160), or, for a name
    of three characters or more, the one declared name ending in it after a separator ("factorial" for
    `math_factorial`, BFCL parallel_144); else None (two or more such names: none is meant)."""
    if not isinstance(name, str):
        return None
    if name in declared_names:
        return name
    key = _name_key(name)
    same = [declared for declared in declared_names if _name_key(declared) == key]
    if not same and len(key) >= 3:
        same = [declared for declared in declared_names if _name_key(declared).endswith("_" + key)]
    return same[0] if len(same) == 1 else None


def _name_key(name: str) -> str:
    return re.sub(r"[.\-\s/:]+", "_", name.strip().lower())


def declared_functions(tools: object) -> dict[str, JSONObject]:
    """Function name -> its `function` object, for each well-formed entry of a request's `tools`."""
    functions: dict[str, JSONObject] = {}
    if not isinstance(tools, list):
        return functions
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            functions[function["name"]] = function
    return functions


def call_schema(function: JSONObject) -> JSONObject:
    """JSON schema of `{"name": <this function>, "arguments": <its parameters>}`."""
    parameters = function.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        parameters = {"type": "object"}
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, "arguments": parameters},
        "required": ["name", "arguments"],
    }


def forced_call_response_format(functions: Sequence[JSONObject]) -> JSONObject:
    """A `response_format` that makes the model write exactly one call to one of `functions`."""
    schemas = [call_schema(function) for function in functions]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema}}


def described_functions(text: str, declared_names: Collection[str]) -> list[str]:
    """The declared functions that words (`text`, not calls) name as code, in the order named: a name
    that reads as an identifier (an underscore, a dot, a digit or camelCase: `legal_case_fetch`,
    `getWeather`) wherever it stands as a whole word, any other (`search`) only in backticks or
    followed by `(`. Pure; an English word used as a word ("search the web") names nothing."""
    first_at: dict[str, int] = {}
    for name in declared_names:
        code_like = any(c in name for c in "_.0123456789") or bool(_CAMEL_CASE.search(name))
        pattern = (rf"(?<![{_IDENTIFIER_CHARS}.]){re.escape(name)}(?![{_IDENTIFIER_CHARS}])" if code_like
                   else rf"`{re.escape(name)}`|(?<![{_IDENTIFIER_CHARS}.]){re.escape(name)}\(")
        found = re.search(pattern, text)
        if found is not None:
            first_at[name] = found.start()
    return sorted(first_at, key=first_at.__getitem__)


_PLACEHOLDER = re.compile(
    r"(?<![\w$])\$?X{2,}(?:\.X{2,})?(?!\w)"  # XXX PSI, $XX.XX
    r"|\[(?:insert|enter|current|your|the)\b[^\]\n]{0,40}\]"  # [insert current temperature]
    r"|<(?:insert|value|placeholder)\b[^>\n]{0,40}>",  # <insert value>
    re.IGNORECASE,
)


def has_placeholders(text: str) -> bool:
    """Whether words hold a placeholder where a value should be ("The front left tire pressure is XXX PSI",
    "[insert current price]"): a result described without the call that would give it (measured: the 1.5B
    on BFCL multi_turn_base_75, 2026-12-04). "xx" in lower case or inside a word ("XXL") is no placeholder."""
    return any(match.group(0)[:1] != "x" for match in _PLACEHOLDER.finditer(text))


def written_call_names(text: str) -> list[str]:
    """The function names of every whole call-shaped JSON object in `text` (`{"name": "move",
    "arguments": {...}}`, bare, fenced or tagged), declared or not, in the order written. Pure. The
    way to see a call to a function that does not exist: the parser reads declared names only."""
    names: list[str] = []
    for match in _CALL_SHAPED.finditer(text):
        try:
            value, _ = _decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        arguments = value.get("arguments", value.get("parameters")) if isinstance(value, dict) else None
        if isinstance(arguments, dict | str) and isinstance(value.get("name"), str):
            names.append(value["name"])
    return names
