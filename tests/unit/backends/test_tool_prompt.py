"""Tool turns rendered in Qwen2.5's conventions (`<tools>`, `<tool_call>`, `<tool_response>`)."""

from __future__ import annotations

import json

from voxgate.backends.tool_prompt import DEFAULT_SYSTEM_PROMPT, render_tool_messages
from voxgate.core.types import JSONObject

WEATHER: JSONObject = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def call(call_id: str, city: str) -> JSONObject:
    arguments = json.dumps({"city": city})
    return {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}


def test_tools_go_into_the_callers_system_turn_one_json_line_each() -> None:
    rendered = render_tool_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
                                    [WEATHER])
    system = rendered[0]["content"]
    assert system.startswith("Be brief.\n\n# Tools")
    assert f"<tools>\n{json.dumps(WEATHER)}\n</tools>" in system
    assert "{{" not in system  # the GGUF template's stray braces taught the model to answer {{...}}
    assert rendered[1:] == [{"role": "user", "content": "hi"}]


def test_without_a_system_turn_qwens_default_one_carries_the_tools() -> None:
    rendered = render_tool_messages([{"role": "user", "content": "hi"}], [WEATHER])
    assert rendered[0]["content"].startswith(DEFAULT_SYSTEM_PROMPT + "\n\n# Tools")


def test_calls_become_tool_call_blocks_with_object_arguments_and_results_share_one_user_turn() -> None:
    messages = [
        {"role": "user", "content": "Oslo and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [call("a", "Oslo"), call("b", "Rome")]},
        {"role": "tool", "tool_call_id": "a", "content": "5 C"},
        {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "25 C"}]},
        {"role": "user", "content": "And Paris?"},
    ]
    rendered = render_tool_messages(messages, None)
    assert [m["role"] for m in rendered] == ["user", "assistant", "user", "user"]
    assert rendered[1]["content"] == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    )
    assert rendered[2]["content"] == "<tool_response>\n5 C\n</tool_response>\n<tool_response>\n25 C\n</tool_response>"
    assert rendered[3] == {"role": "user", "content": "And Paris?"}


def test_rendering_leaves_the_callers_messages_alone() -> None:
    messages = [{"role": "tool", "tool_call_id": key, "content": key} for key in "ab"]
    before = json.dumps(messages)
    render_tool_messages(messages, [WEATHER])
    assert json.dumps(messages) == before


def test_a_json_result_reaches_the_model_with_its_escapes_spelled_out() -> None:
    escaped = json.dumps({"translation": "até amanhã"})  # a client's json.dumps: "at\u00e9 amanh\u00e3"
    messages = [{"role": "user", "content": "Say 'see you tomorrow' in Portuguese."},
                {"role": "tool", "tool_call_id": "c1", "content": escaped},
                {"role": "tool", "tool_call_id": "c2", "content": "not json \\u00e9"}]
    rendered = render_tool_messages(messages, None)[-1]["content"]
    assert '{"translation": "até amanhã"}' in rendered
    assert "\\u00e9 amanh" not in rendered
    assert "not json \\u00e9" in rendered  # text that is not JSON is passed as it came
