"""Turning untrusted request bodies and headers into ChatRequest and RoutingConstraints.

Every problem raises InvalidRequestError naming the offending parameter and how to fix it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Capability, ChatRequest, JSONObject
from voxgate.core.unicode_check import lone_surrogate_path
from voxgate.routing.features import estimate_tokens

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
MAX_MESSAGES = 2048


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


def _content_text(content: Any, index: int, needs: set[Capability]) -> str:
    where = f"messages[{index}].content"
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where} must be a string or a list of content parts.", param=where)
    texts = []
    for part_index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise InvalidRequestError(f"{where}[{part_index}] must be an object with a `type`.", param=where)
        kind = part["type"]
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise InvalidRequestError(f"{where}[{part_index}].text must be a string.", param=where)
            texts.append(part["text"])
        elif kind == "image_url":
            needs.add(Capability.VISION)
        elif kind in ("input_audio", "audio"):
            needs.add(Capability.AUDIO)
        else:
            raise InvalidRequestError(
                f"{where}[{part_index}].type {kind!r} is not supported; use text, image_url or input_audio.",
                param=where,
            )
    return "\n".join(texts)


def _validate_message(message: Any, index: int, needs: set[Capability]) -> str:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise InvalidRequestError(f"{where} must be an object with `role` and `content`.", param=where)
    role = message.get("role")
    if role not in ROLES:
        raise InvalidRequestError(
            f"{where}.role {role!r} is not valid; use one of {sorted(ROLES)}.", param=f"{where}.role"
        )
    text = _content_text(message.get("content"), index, needs)
    has_tool_calls = role == "assistant" and bool(message.get("tool_calls"))
    if not text.strip() and not has_tool_calls and role in ("user", "system", "developer"):
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
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True) if m["role"] == "user"), "")
    return texts, last_user or texts[-1]


def _positive_int(body: JSONObject, name: str, maximum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidRequestError(f"`{name}` must be an integer between 1 and {maximum}.", param=name)
    return value


def _detect_tool_needs(body: JSONObject, needs: set[Capability]) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
        and isinstance(t["function"].get("name"), str)
        for t in tools
    ):
        raise InvalidRequestError(
            "`tools` must be a list of {\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": ...}}.",
            param="tools",
        )
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        declared = {t["function"]["name"] for t in tools}
        if name not in declared:
            raise InvalidRequestError(
                f"`tool_choice` names function {name!r}, which is not in `tools` ({sorted(declared)}).",
                param="tool_choice",
            )
    elif choice not in ("auto", "none", "required"):
        raise InvalidRequestError("`tool_choice` must be auto, none, required or {\"type\": \"function\", ...}.",
                                  param="tool_choice")
    if tools and choice != "none":
        needs.add(Capability.TOOLS)


def _detect_json_needs(body: JSONObject, needs: set[Capability]) -> None:
    response_format = body.get("response_format")
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise InvalidRequestError(
            "`response_format.type` must be text, json_object or json_schema.", param="response_format"
        )
    if kind != "text":
        needs.add(Capability.JSON)


def parse_chat_request(body: JSONObject) -> ChatRequest:
    """Validate an OpenAI chat completion body (with `routing` already removed)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("`model` is required: a model id from GET /v1/models, or \"auto\".", param="model")
    needs: set[Capability] = set()
    texts, last_user = _validate_messages(body, needs)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError("`stream` must be true or false.", param="stream")
    max_tokens = _positive_int(body, "max_completion_tokens", 1_000_000) or _positive_int(body, "max_tokens", 1_000_000)
    stream_options = body.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise InvalidRequestError("`stream_options` must be an object.", param="stream_options")
    _detect_tool_needs(body, needs)
    _detect_json_needs(body, needs)
    if body.get("modalities") and "audio" in body["modalities"]:
        needs.add(Capability.AUDIO)
    prompt_text = "\n".join(texts)
    user = body.get("user")
    return ChatRequest(
        body=body,
        requested_model=model,
        stream=stream,
        include_usage=bool(stream_options.get("include_usage")),
        max_tokens=max_tokens,
        needs=frozenset(needs),
        prompt_tokens_estimate=estimate_tokens(prompt_text) + 4 * len(texts),
        prompt_text=last_user,
        turn_count=sum(1 for m in body["messages"] if m.get("role") == "user"),
        fingerprint=hashlib.sha256(prompt_text.encode()).hexdigest()[:32],
        user=user if isinstance(user, str) else None,
    )
