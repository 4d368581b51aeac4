"""Tool turns rendered as text in Qwen2.5's own chat-template conventions. Pure.

The bundled Qwen2.5-Coder GGUFs were trained on this layout (it is what their chat template
writes, less the template's stray `{{` braces that taught them to answer `{{"name": ...}}`):

    system     <the caller's system text, or Qwen's default>

               # Tools
               ... <tools>
               {"type": "function", "function": {...}}        one line per declared tool
               </tools>
               ... <tool_call>{"name": <function-name>, "arguments": <args-json-object>}</tool_call>
    assistant  <tool_call>\\n{"name": "get_weather", "arguments": {"city": "Paris"}}\\n</tool_call>
    user       <tool_response>\\n{"temperature_c": 21}\\n</tool_response>     (consecutive `tool`
               messages share one user turn, in order)

`render_tool_messages` turns an OpenAI `messages` list (with assistant `tool_calls` and `tool`
messages) into plain system/user/assistant messages in that layout, so the upstream server is
sent no `tools` at all and its own template only adds the chat markup around them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from voxgate.core.types import JSONObject

__all__ = [
    "DEFAULT_SYSTEM_PROMPT", "render_tool_messages", "tool_call_block", "tool_signature_lines", "tools_system_text",
]

DEFAULT_SYSTEM_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_TOOLS_INTRO = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_OUTRO = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n'
    "</tool_call>\n\nIf the user's request needs several calls, write one <tool_call> block for each. If no "
    "function fits the request, or a <tool_response> already holds what the user asked for, answer in plain "
    "words without calling a function."
)


def tools_system_text(system_text: str | None, tools: Sequence[JSONObject]) -> str:
    """The system turn: `system_text` (or Qwen's default) followed by the tool signatures."""
    lines = "\n" + tool_signature_lines(tools) if tools else ""
    return (system_text or DEFAULT_SYSTEM_PROMPT) + _TOOLS_INTRO + lines + _TOOLS_OUTRO


def tool_signature_lines(tools: Sequence[JSONObject]) -> str:
    """The tools' signatures as the model reads them: one JSON line each."""
    return "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)


def render_tool_messages(messages: Sequence[Any], tools: Sequence[JSONObject] | None) -> list[JSONObject]:
    """`messages` with tool calls and results written as text; the tools block in the system turn.

    `tools` None (or empty) renders the history only: no signatures, so the model answers in words.
    """
    rendered: list[JSONObject] = []
    rest = list(messages)
    system_text: str | None = None
    if rest and isinstance(rest[0], dict) and rest[0].get("role") in ("system", "developer"):
        system_text = content_text(rest.pop(0).get("content"))
    if tools:
        rendered.append({"role": "system", "content": tools_system_text(system_text, tools)})
    elif system_text is not None:
        rendered.append({"role": "system", "content": system_text})
    responses: JSONObject | None = None  # the user turn holding the latest run of `tool` messages
    for message in rest:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "tool":
            block = f"<tool_response>\n{_readable_result(content_text(message.get('content')))}\n</tool_response>"
            if responses is None:
                responses = {"role": "user", "content": block}
                rendered.append(responses)
            else:
                responses["content"] += "\n" + block
            continue
        responses = None
        if role == "assistant" and message.get("tool_calls"):
            rendered.append({"role": "assistant", "content": _assistant_text(message)})
        elif role == "developer":
            rendered.append({**message, "role": "system"})
        else:
            rendered.append(message)
    return rendered


def _readable_result(text: str) -> str:
    """A JSON tool result with its escapes spelled out ("até amanhã", not "at\\u00e9 amanh\\u00e3"):
    clients send `json.dumps` output, ASCII-escaped by default, and small models copy the escapes
    into the answer, which a voice then reads aloud. Anything that is not JSON is left as it is."""
    if "\\u" not in text:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, ensure_ascii=False)


def content_text(content: object) -> str:
    """The text of a message's `content`: a string, or the text parts of a list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _assistant_text(message: JSONObject) -> str:
    blocks = [content_text(message.get("content")).strip()]
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        blocks.append(tool_call_block(function.get("name"), function.get("arguments")))
    return "\n".join(block for block in blocks if block)


def tool_call_block(name: object, arguments: object) -> str:
    """One call as the model writes it: `<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`
    (`arguments` an object, or a JSON string holding one)."""
    call_text = json.dumps({"name": name, "arguments": _arguments_value(arguments)}, ensure_ascii=False)
    return f"<tool_call>\n{call_text}\n</tool_call>"


def _arguments_value(arguments: object) -> object:
    """Arguments as the model wrote them: the object, not a JSON string holding it."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            return arguments
    return arguments if arguments is not None else {}
