"""ToolCallCheck: exact problems with a tool turn's answer fail it conclusively; otherwise it abstains."""

from __future__ import annotations

from typing import Any

import pytest

from voxgate.core.types import JSONObject
from voxgate.routing.cascade.evidence import AnswerEvidence, CheckStatus
from voxgate.routing.cascade.tool_check import ToolCallCheck
from voxgate.server.validation import parse_chat_request

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def evidence(body: dict[str, Any], text: str = "", calls: tuple[JSONObject, ...] = ()) -> AnswerEvidence:
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "Oslo?"}], **body})
    return AnswerEvidence("qwen2.5-coder-0.5b", request, text, tool_calls=calls)


def call(name: str, arguments: str) -> JSONObject:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}


@pytest.mark.parametrize(
    ("body", "text", "calls", "reason"),
    [
        ({"tools": [WEATHER]}, "", (call("get_time", "{}"),), "unknown_function"),
        ({"tools": [WEATHER]}, "", (call("get_weather", '{"town": "Oslo"}'),), "arguments_invalid"),
        ({"tools": [WEATHER], "tool_choice": "required"}, "It is sunny.", (), "call_required"),
        ({"tools": [WEATHER]}, '{"name": "get_weather", "arguments": {"city": "Oslo"}}', (), "call_as_text"),
    ],
)
def test_a_broken_tool_answer_fails_conclusively(
    body: dict[str, Any], text: str, calls: tuple[JSONObject, ...], reason: str
) -> None:
    result = ToolCallCheck().check(evidence(body, text, calls))
    assert result.status is CheckStatus.SCORED
    assert result.p_good == 0.0
    assert result.conclusive
    assert reason in result.reason


@pytest.mark.parametrize(
    ("body", "text", "calls"),
    [
        ({}, "It is sunny.", ()),
        ({"tools": [WEATHER], "tool_choice": "none"}, '{"oops": 1}', ()),
        ({"tools": [WEATHER]}, "", (call("get_weather", '{"city": "Oslo"}'),)),
        ({"tools": [WEATHER]}, "I can't tell the time.", ()),
    ],
)
def test_a_fitting_answer_or_a_request_without_tools_leaves_it_to_the_other_checks(
    body: dict[str, Any], text: str, calls: tuple[JSONObject, ...]
) -> None:
    assert ToolCallCheck().check(evidence(body, text, calls)).status is CheckStatus.NOT_APPLICABLE
