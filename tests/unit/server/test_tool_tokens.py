"""The tokens a request's tools add (`server/tool_tokens`), and what routing does with them: a model
whose context holds the messages but not the tools is ruled out with its reason, before any upstream
call, and the tool tokens are priced; the predictor's prompt-size feature does not count them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from voxgate.config import default_models
from voxgate.core.clock import ManualClock
from voxgate.core.errors import NoEligibleModelError
from voxgate.core.types import JSONObject, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.features import estimate_tokens
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.tool_tokens import tool_tokens_estimate
from voxgate.server.validation import parse_chat_request

NAMES = ("get_weather", "book_flight", "send_email", "play_song", "set_alarm", "get_stock_price", "weather_forecast")
SHORTLISTED = ("book_flight", "send_email", "weather_forecast")  # the 3 most relevant to TEXT
TEXT = "Book a flight and email me the weather forecast"


def tool(name: str, description: str = "Does what its name says.") -> JSONObject:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": {}}}}


def body(tools: list[JSONObject], **extra: object) -> JSONObject:
    return {"model": "auto", "messages": [{"role": "user", "content": TEXT}], "tools": tools, **extra}


def lines_tokens(tools: list[JSONObject]) -> int:
    return estimate_tokens("\n".join(json.dumps(t, ensure_ascii=False) for t in tools))


def test_no_tools_add_nothing() -> None:
    assert tool_tokens_estimate({"messages": [{"role": "user", "content": TEXT}]}, 5) == 0


def test_the_declarations_count_as_the_model_is_shown_them() -> None:
    tools = [tool(name) for name in NAMES]
    assert tool_tokens_estimate(body(tools), 0) == lines_tokens(tools)
    shown = [t for t in tools if t["function"]["name"] in SHORTLISTED]
    assert tool_tokens_estimate(body(tools), 3) == lines_tokens(shown) < lines_tokens(tools)


def test_tool_choice_none_shows_no_declaration() -> None:
    assert tool_tokens_estimate(body([tool(name) for name in NAMES], tool_choice="none"), 0) == 0


def test_earlier_calls_count_too() -> None:
    arguments = json.dumps({"city": "Paris", "note": "x" * 400})
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    messages = [{"role": "user", "content": TEXT}, {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    with_call = tool_tokens_estimate({"messages": messages, "tools": [tool("get_weather")]}, 0)
    assert with_call - lines_tokens([tool("get_weather")]) >= len(arguments) // 4


def test_parse_keeps_tools_out_of_the_prompt_feature() -> None:
    plain = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": TEXT}]})
    with_tools = parse_chat_request(body([tool(name) for name in NAMES]), tool_shortlist=3)
    assert with_tools.prompt_tokens_estimate == plain.prompt_tokens_estimate
    assert with_tools.tool_tokens_estimate == tool_tokens_estimate(body([tool(n) for n in NAMES]), 3) > 0
    assert with_tools.context_tokens_estimate == plain.prompt_tokens_estimate + with_tools.tool_tokens_estimate


def _router(cards: list[ModelCard]) -> Router:
    clock = ManualClock()
    return Router(cards, HeuristicPredictor(), LatencyStats(cards), CircuitBreakers(clock), SessionAffinity(), clock)


def test_a_context_that_cannot_hold_the_tools_is_ruled_out_with_its_reason() -> None:
    long_tool = tool("get_weather", "Current weather for a city. " + "Mind the details. " * 600)
    small, large = (replace(card, context_window=window) for card, window
                    in zip(default_models()[1:3], (2048, 32_768), strict=True))
    request = parse_chat_request(body([long_tool], max_tokens=64))
    assert request.prompt_tokens_estimate + 64 < 2048 < request.context_tokens_estimate + 64
    decision = _router([small, large]).decide(request, RoutingConstraints(), "auto")
    assert decision.chosen == large.id
    reason = next(c.reason for c in decision.candidates if c.model == small.id)
    assert reason.startswith("context window 2048 tokens <")
    assert "tools" in reason
    assert decision.request["tool_tokens_estimate"] == request.tool_tokens_estimate
    with pytest.raises(NoEligibleModelError) as info:
        _router([small]).decide(request, RoutingConstraints(), "auto")
    assert "context window 2048" in info.value.rejections[small.id]
    assert "local_context_tokens" in str(info.value)
    assert (info.value.code, info.value.param) == ("context_length_exceeded", "messages")  # as OpenAI names it
    with pytest.raises(NoEligibleModelError) as limited:  # a model the caller ruled out: their constraint
        _router([small, large]).decide(request, RoutingConstraints(exclude=(large.id,)), "auto")
    assert limited.value.code == "no_eligible_model"


def test_tool_tokens_are_priced() -> None:
    card = replace(default_models()[1], price=Price(input_per_mtok=1.0, output_per_mtok=0.0))
    plain = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": TEXT}], "max_tokens": 8})
    with_tools = parse_chat_request(body([tool(name) for name in NAMES], max_tokens=8))
    decisions = [_router([card]).decide(request, RoutingConstraints(), "auto") for request in (plain, with_tools)]
    costs = [decision.candidates[0].estimated_cost_usd or 0.0 for decision in decisions]
    assert costs[1] - costs[0] == pytest.approx(with_tools.tool_tokens_estimate * 1e-6)
