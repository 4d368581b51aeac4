"""The gateway end to end: real server process, real bundled models, the official openai SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.support.processes import RunningProcess
from tests.support.tool_round_trips import tool_problems

pytestmark = pytest.mark.integration
LADDER = {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def client(voxgate_server: RunningProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{voxgate_server.base_url}/v1", api_key="not-needed", max_retries=0)


def test_non_stream_auto_answers_and_names_the_model(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto:quality",
        messages=[{"role": "user", "content": "What is the capital of France? Answer with one word."}],
        max_tokens=20,
        temperature=0,
    )
    completion = raw.parse()
    assert completion.model == "qwen2.5-coder-1.5b"
    assert raw.headers["x-voxgate-model"] == completion.model
    assert raw.headers["x-voxgate-mode"] == "quality"
    assert raw.headers["x-voxgate-decision-id"].startswith("dec_")
    assert "paris" in (completion.choices[0].message.content or "").lower()
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0


def test_stream_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Count from 1 to 5."}],
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert {c.model for c in chunks} <= LADDER
    assert len({c.model for c in chunks}) == 1
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_stream_without_usage_sends_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "Say hi"}], max_tokens=5, stream=True
    ))
    assert chunks
    assert all(c.usage is None for c in chunks)
    assert all(c.model == "smollm2-135m" for c in chunks)


def test_decision_record_explains_the_choice(client: openai.OpenAI, voxgate_server: RunningProcess) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto:balanced", messages=[{"role": "user", "content": "Hello!"}], max_tokens=10
    )
    decision_id = raw.headers["x-voxgate-decision-id"]
    decision = httpx.get(f"{voxgate_server.base_url}/v1/decisions/{decision_id}").json()
    assert decision["id"] == decision_id
    assert decision["chosen"] == raw.headers["x-voxgate-model"]
    assert {c["model"] for c in decision["candidates"]} == LADDER
    for candidate in decision["candidates"]:
        assert 0 < candidate["predicted_quality"] < 1
        assert candidate["estimated_cost_usd"] > 0
        assert candidate["estimated_latency_ms"] > 0
        assert candidate["reason"]
    assert decision["attempts"][0]["status"] == "ok"
    assert decision["outcome"] == "ok"
    assert decision["overhead_us"] > 0
    assert "Hello" not in json.dumps(decision), "prompt text must not be stored by default"
    listing = httpx.get(f"{voxgate_server.base_url}/v1/decisions", params={"limit": 5}).json()
    assert any(d["id"] == decision_id for d in listing["data"])


def test_explain_endpoint_calls_no_model(voxgate_server: RunningProcess) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"mode": "fast"}}
    decision = httpx.post(f"{voxgate_server.base_url}/v1/route", json=body).json()
    assert decision["mode"] == "fast"
    assert decision["outcome"] == "explained"
    assert decision["attempts"] == []
    assert len(decision["fallback_plan"]) == 2


def test_extra_body_constraints_are_applied(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[{"role": "user", "content": "Say yes."}],
        max_tokens=5,
        extra_body={"routing": {"models": ["qwen2.5-coder-0.5b"], "session_id": "s-1"}},
    )
    assert raw.parse().model == "qwen2.5-coder-0.5b"
    header = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Say yes."}], max_tokens=5,
        extra_headers={"x-voxgate-exclude": "qwen2.5-coder-1.5b,qwen2.5-coder-0.5b"},
    )
    assert header.parse().model == "smollm2-135m"


@pytest.mark.parametrize(
    ("profile", "mode"), [("auto:quality", "quality"), ("auto:cost", "cost"), ("auto:fast", "fast"),
                          ("auto:local", "balanced")],
)
def test_profiles(client: openai.OpenAI, profile: str, mode: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=profile, messages=[{"role": "user", "content": "Say ok"}], max_tokens=3
    )
    assert raw.headers["x-voxgate-mode"] == mode
    assert raw.parse().model in LADDER


def test_impossible_constraint_gets_400_naming_each_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "hi"}], extra_body={"routing": {"max_latency_ms": 1}}
        )
    message = str(info.value)
    for model in LADDER:
        assert model in message
    assert "max_latency_ms" in message


def test_vision_without_a_vision_model_names_the_capability(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="vision"):
        client.chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]}],
        )


def test_tools_reach_a_tool_model_and_come_back_as_tool_calls(client: openai.OpenAI) -> None:
    asked: Any = {"messages": [{"role": "user", "content": "What is the weather in Paris right now?"}],
                  "tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
    completion = client.chat.completions.create(model="auto", **asked, max_tokens=60, temperature=0)
    assert completion.model in {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    assert tool_problems(asked, choice.message.model_dump(exclude_none=True)) == []  # arguments fit the schema
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert "paris" in json.loads(call.function.arguments)["city"].lower()


def test_tool_calls_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Use the tool: weather in Berlin?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=60,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    asked = {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
    made = {"tool_calls": [{"type": "function", "function": {"name": calls[0].function.name, "arguments": arguments}}]}
    assert tool_problems(asked, made) == []  # arguments fit the schema
    assert "berlin" in json.loads(arguments)["city"].lower()
    assert any(c.choices and c.choices[0].finish_reason == "tool_calls" for c in chunks)


def test_models_and_ops_endpoints(client: openai.OpenAI, voxgate_server: RunningProcess) -> None:
    ids = {m.id for m in client.models.list()}
    assert LADDER | {"auto", "auto:quality", "auto:local"} <= ids
    assert httpx.get(f"{voxgate_server.base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{voxgate_server.base_url}/readyz").status_code == 200
    metrics = httpx.get(f"{voxgate_server.base_url}/metrics").text
    assert "voxgate_decisions_total" in metrics
    assert "voxgate_requests_total" in metrics


def test_feedback_is_stored_with_the_decision(client: openai.OpenAI, voxgate_server: RunningProcess) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Say ok"}], max_tokens=3
    )
    url = f"{voxgate_server.base_url}/v1/decisions/{raw.headers['x-voxgate-decision-id']}"
    stored = httpx.post(f"{url}/feedback", json={"score": 0.8, "label": "good"})
    assert stored.status_code == 201
    assert httpx.get(url).json()["feedback"][0]["score"] == 0.8
    for bad, param in (({"score": 2}, "score"), ({"score": "high"}, "score"), ({"score": 1, "label": 5}, "label"),
                       ({"score": 1, "mood": "x"}, "mood")):
        response = httpx.post(f"{url}/feedback", json=bad)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == param
    missing = httpx.post(f"{voxgate_server.base_url}/v1/decisions/dec_nope/feedback", json={"score": 1})
    assert missing.status_code == 404
