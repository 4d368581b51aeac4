"""Turning untrusted request bodies and headers into ChatRequest and RoutingConstraints.

Every problem raises InvalidRequestError naming the offending parameter and how to fix it.
The tables here (`ROLES`, `CONTENT_PART_TYPES`, `NUMBER_PARAMS`, `BOOLEAN_PARAMS`, ...) are also
what `server/api_schema` publishes in `/openapi.json`: one definition, checked and documented.
Fields not listed pass to the model server unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from voxgate.backends.tool_validation import schema_problem
from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Capability, ChatRequest, JSONObject, is_whole_number
from voxgate.core.unicode_check import lone_surrogate_path
from voxgate.routing.features import estimate_tokens
from voxgate.server.images import IMAGE_TOKENS_ESTIMATE, check_image_part
from voxgate.server.tool_tokens import tool_tokens_estimate

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
ROLES_NEEDING_TEXT = ("system", "developer", "user")
CONTENT_PART_TYPES = ("text", "image_url", "input_audio", "audio")
TOOL_CHOICES = ("auto", "none", "required")
TOOL_NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"
"""Function names OpenAI accepts. `$` is the end of the text here as in ECMA regexes (and
jsonschema-rs, which the fuzzer validates with), not Python's "or before a final newline"."""
_TOOL_NAME = re.compile(TOOL_NAME_PATTERN.removesuffix("$") + r"\Z")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
MAX_MESSAGES = 2048
MAX_STOP_SEQUENCES = 4


@dataclass(frozen=True)
class NumberParam:
    """An OpenAI chat parameter voxgate checks before routing: a number in [minimum, maximum]."""

    name: str
    minimum: float
    maximum: float
    integer: bool = False


NUMBER_PARAMS = (
    NumberParam("max_tokens", 1, 1_000_000, integer=True),
    NumberParam("max_completion_tokens", 1, 1_000_000, integer=True),
    NumberParam("temperature", 0, 2),
    NumberParam("top_p", 0, 1),
    NumberParam("presence_penalty", -2, 2),
    NumberParam("frequency_penalty", -2, 2),
    NumberParam("n", 1, 128, integer=True),
    NumberParam("seed", -(2**63), 2**63 - 1, integer=True),
    NumberParam("top_logprobs", 0, 20, integer=True),
)
BOOLEAN_PARAMS = ("stream", "logprobs", "parallel_tool_calls", "store")
STRING_PARAMS = ("user",)


def parse_json_body(raw: bytes) -> JSONObject:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(
            f"The request body is not valid JSON ({exc}). Send a JSON object with Content-Type: "
            "application/json.",
            code="invalid_json",
        ) from exc
    except RecursionError as exc:
        raise InvalidRequestError(
            "The request body nests arrays or objects too deeply to parse; a chat request needs only a few "
            "levels.",
            code="invalid_json",
        ) from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object, e.g. {\"model\": \"auto\", ...}.")
    bad_text = lone_surrogate_path(body)
    if bad_text is not None:
        raise InvalidRequestError(
            f"`{bad_text[:200]}` holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair), "
            "which is not valid Unicode. Send the text as valid UTF-8, or escape both halves of a surrogate pair.",
            param=bad_text[:200],
            code="invalid_json",
        )
    return body


def _part_text(part: Any, where: str, needs: set[Capability]) -> str | None:
    """The text of one content part (None for an image or audio part); raises on a malformed one."""
    if not isinstance(part, dict) or part.get("type") not in CONTENT_PART_TYPES:
        kind = part.get("type") if isinstance(part, dict) else None
        raise InvalidRequestError(
            f"{where} must be an object whose `type` is one of {list(CONTENT_PART_TYPES)}, got {kind!r}.", param=where
        )
    kind = part["type"]
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise InvalidRequestError(f"{where}.text must be a string.", param=where)
        return str(part["text"])
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise InvalidRequestError(f"{where}.image_url must be an object with a `url` string.", param=where)
        check_image_part(image, f"{where}.image_url")
        needs.add(Capability.VISION)
        return None
    audio = part.get(kind)
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        raise InvalidRequestError(f"{where}.{kind} must be an object with base64 `data` and a `format`.", param=where)
    needs.add(Capability.AUDIO)
    return None


def _content_text(content: Any, index: int, needs: set[Capability]) -> tuple[str, bool]:
    """The message's text, and whether it carries anything at all (text, an image or audio)."""
    where = f"messages[{index}].content"
    if content is None:
        return "", False
    if isinstance(content, str):
        return content, bool(content.strip())
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where} must be a string or a list of content parts.", param=where)
    texts = []
    media = False
    for part_index, part in enumerate(content):
        text = _part_text(part, f"{where}[{part_index}]", needs)
        if text is None:
            media = True
        else:
            texts.append(text)
    joined = "\n".join(texts)
    return joined, media or bool(joined.strip())


def _validate_message(message: Any, index: int, needs: set[Capability]) -> str:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise InvalidRequestError(f"{where} must be an object with `role` and `content`.", param=where)
    role = message.get("role")
    if role not in ROLES:
        raise InvalidRequestError(
            f"{where}.role {role!r} is not valid; use one of {sorted(ROLES)}.", param=f"{where}.role"
        )
    text, has_content = _content_text(message.get("content"), index, needs)
    tool_calls = message.get("tool_calls")
    if tool_calls is not None and (
        not isinstance(tool_calls, list) or not all(isinstance(call, dict) for call in tool_calls)
    ):
        raise InvalidRequestError(f"{where}.tool_calls must be a list of objects.", param=f"{where}.tool_calls")
    tool_call_id = message.get("tool_call_id")
    if tool_call_id is not None and not isinstance(tool_call_id, str):
        raise InvalidRequestError(f"{where}.tool_call_id must be a string.", param=f"{where}.tool_call_id")
    if not has_content and role in ROLES_NEEDING_TEXT:
        raise InvalidRequestError(f"{where}.content is empty; send some text.", param=f"{where}.content")
    return text


def _validate_messages(body: JSONObject, needs: set[Capability]) -> tuple[list[str], str]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError(
            "`messages` is required: a non-empty list like [{\"role\": \"user\", \"content\": \"Hi\"}].",
            param="messages",
        )
    if len(messages) > MAX_MESSAGES:
        raise InvalidRequestError(f"`messages` has {len(messages)} items; at most {MAX_MESSAGES}.", param="messages")
    texts = [_validate_message(m, i, needs) for i, m in enumerate(messages)]
    _check_tool_call_ids(messages)
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True) if m["role"] == "user"), "")
    return texts, last_user or texts[-1]


def _check_tool_call_ids(messages: list[Any]) -> None:
    """Each `tool` message answers a call an earlier assistant message made (by its id)."""
    call_ids: set[Any] = set()
    for index, message in enumerate(messages):
        for call in message.get("tool_calls") or ():
            call_ids.add(call.get("id"))
        if message["role"] != "tool":
            continue
        call_id = message.get("tool_call_id")
        if call_id not in call_ids:
            where = f"messages[{index}].tool_call_id"
            what = "has no `tool_call_id`" if call_id is None else f"answers call {call_id!r}"
            raise InvalidRequestError(
                f"messages[{index}] (role tool) {what}, which no earlier assistant `tool_calls` entry made.",
                param=where, code="unknown_tool_call_id",
            )


def _check_number(body: JSONObject, param: NumberParam) -> None:
    """In range, and for an integer parameter a whole number (JSON Schema's `integer`: 16.0 is one)."""
    value = body.get(param.name)
    if value is None:
        return
    fits = isinstance(value, int | float) and not isinstance(value, bool) and param.minimum <= value <= param.maximum
    if not fits or (param.integer and not is_whole_number(value)):
        kind = "an integer" if param.integer else "a number"
        raise InvalidRequestError(
            f"`{param.name}` must be {kind} between {param.minimum:g} and {param.maximum:g}.", param=param.name
        )
    if param.integer:
        body[param.name] = int(value)


def _check_scalars(body: JSONObject) -> None:
    for param in NUMBER_PARAMS:
        _check_number(body, param)
    for name in BOOLEAN_PARAMS:
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise InvalidRequestError(f"`{name}` must be true or false.", param=name)
    for name in STRING_PARAMS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidRequestError(f"`{name}` must be a string.", param=name)
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and (
        not isinstance(stop, list) or len(stop) > MAX_STOP_SEQUENCES or not all(isinstance(s, str) for s in stop)
    ):
        raise InvalidRequestError(f"`stop` must be a string or a list of at most {MAX_STOP_SEQUENCES} strings.",
                                  param="stop")
    stream_options = body.get("stream_options")
    if stream_options is not None and (
        not isinstance(stream_options, dict) or not isinstance(stream_options.get("include_usage", False), bool)
    ):
        raise InvalidRequestError("`stream_options` must be an object like {\"include_usage\": true}.",
                                  param="stream_options")


def _valid_tool(tool: Any) -> bool:
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
        return False
    function = tool["function"]
    return (
        isinstance(function.get("name"), str) and bool(function["name"])
        and isinstance(function.get("parameters", {}), dict)
        and isinstance(function.get("description", ""), str)
    )


def _check_function(function: JSONObject, where: str) -> None:
    name = function["name"]
    if not _TOOL_NAME.match(name):
        raise InvalidRequestError(
            f"{where}.name {name[:80]!r} is not a valid function name: use letters, digits, _ and - "
            f"(at most 64), i.e. {TOOL_NAME_PATTERN}.", param=f"{where}.name", code="invalid_value",
        )
    if "parameters" not in function:
        return
    problem = schema_problem(function["parameters"])
    if problem is not None:
        raise InvalidRequestError(
            f"Invalid schema for function {name!r}: `parameters` {problem}", param=f"{where}.parameters",
            code="invalid_function_parameters",
        )


def _detect_tool_needs(body: JSONObject, needs: set[Capability]) -> None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None and choice is None:
        return
    if not isinstance(tools, list) or not all(_valid_tool(t) for t in tools):
        raise InvalidRequestError(
            "`tools` must be a list of {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}.",
            param="tools",
        )
    for index, tool in enumerate(tools):
        _check_function(tool["function"], f"tools[{index}].function")
    choice = "auto" if choice is None else choice
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if choice.get("type") == "function" and isinstance(function, dict) else None
        declared = {t["function"]["name"] for t in tools}
        if not isinstance(name, str) or name not in declared:  # a dict here was a 500 (schemathesis)
            raise InvalidRequestError(
                f"`tool_choice` names function {name!r}, which is not in `tools` ({sorted(declared)}).",
                param="tool_choice", code="unknown_tool",
            )
    elif choice not in TOOL_CHOICES:
        raise InvalidRequestError("`tool_choice` must be auto, none, required or {\"type\": \"function\", ...}.",
                                  param="tool_choice")
    if tools and choice != "none":
        needs.add(Capability.TOOLS)


def _detect_json_needs(body: JSONObject, needs: set[Capability]) -> None:
    response_format = body.get("response_format")
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in RESPONSE_FORMATS:
        raise InvalidRequestError(
            "`response_format.type` must be text, json_object or json_schema.", param="response_format"
        )
    if kind == "json_schema" and not isinstance(response_format.get("json_schema"), dict):
        raise InvalidRequestError(
            "`response_format.json_schema` must be an object like {\"name\": ..., \"schema\": {...}}.",
            param="response_format",
        )
    if kind != "text":
        needs.add(Capability.JSON)


def _detect_audio_needs(body: JSONObject, needs: set[Capability]) -> None:
    modalities = body.get("modalities")
    if modalities is None:
        return
    if not isinstance(modalities, list) or not all(m in ("text", "audio") for m in modalities):
        raise InvalidRequestError("`modalities` must be a list of \"text\" and \"audio\".", param="modalities")
    if "audio" in modalities:
        needs.add(Capability.AUDIO)


def _images(body: JSONObject) -> int:
    """How many image parts the (already validated) messages carry."""
    return sum(1 for m in body["messages"] if isinstance(m.get("content"), list)
               for part in m["content"] if part["type"] == "image_url")


def parse_chat_request(body: JSONObject, tool_shortlist: int = 0) -> ChatRequest:
    """Validate an OpenAI chat completion body (with `routing` already removed); `tool_shortlist`:
    the gateway's `tools.shortlist`, which cuts the declarations its tool tokens count (`tool_tokens`)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("`model` is required: a model id from GET /v1/models, or \"auto\".", param="model")
    needs: set[Capability] = set()
    texts, last_user = _validate_messages(body, needs)
    _check_scalars(body)
    _detect_tool_needs(body, needs)
    _detect_json_needs(body, needs)
    _detect_audio_needs(body, needs)
    prompt_text = "\n".join(texts)
    stream_options = body.get("stream_options") or {}
    return ChatRequest(
        body=body,
        requested_model=model,
        stream=bool(body.get("stream", False)),
        include_usage=bool(stream_options.get("include_usage")),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        needs=frozenset(needs),
        prompt_tokens_estimate=estimate_tokens(prompt_text) + 4 * len(texts) + IMAGE_TOKENS_ESTIMATE * _images(body),
        prompt_text=last_user,
        turn_count=sum(1 for m in body["messages"] if m.get("role") == "user"),
        fingerprint=hashlib.sha256(prompt_text.encode()).hexdigest()[:32],
        user=body.get("user"),
        tool_tokens_estimate=tool_tokens_estimate(body, tool_shortlist),
    )
