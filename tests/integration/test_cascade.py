"""Cascade routing end to end: the real gateway, the bundled models, the official openai SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration
LADDER = {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}


@pytest.fixture
def client(voxgate_server: RunningProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{voxgate_server.base_url}/v1", api_key="not-needed", max_retries=0)


def _decision(server: RunningProcess, decision_id: str) -> dict[str, Any]:
    decision: dict[str, Any] = httpx.get(f"{server.base_url}/v1/decisions/{decision_id}").json()
    return decision


@pytest.mark.parametrize(("question", "expected"), [
    ("What is 17 * 23?", "391"),
    ("What is the capital of France? Answer with one word.", "paris"),
])
@pytest.mark.parametrize("model", ["auto", "auto:cascade"])
def test_first_questions_come_back_right(client: openai.OpenAI, model: str, question: str, expected: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=40, temperature=0,
    )
    completion = raw.parse()
    assert expected in (completion.choices[0].message.content or "").lower().replace(",", "")
    assert completion.model in LADDER
    assert raw.headers["x-voxgate-model"] == completion.model


def test_a_failing_check_escalates_visibly(client: openai.OpenAI, voxgate_server: RunningProcess) -> None:
    """SmolLM2-135M cannot multiply four-digit numbers: the arithmetic check proves it and the cascade escalates."""
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "What is 4817 * 293? Answer with only the number."}],
        max_tokens=24, temperature=0,
        extra_body={"routing": {"strategy": "cascade",
                                "cascade": {"models": ["smollm2-135m", "qwen2.5-coder-1.5b"]}}},
    )
    completion = raw.parse()
    assert raw.headers["x-voxgate-cascade"] == "smollm2-135m>qwen2.5-coder-1.5b"
    assert raw.headers["x-voxgate-strategy"] == "cascade"
    decision = _decision(voxgate_server, raw.headers["x-voxgate-decision-id"])
    assert decision["strategy"] == "cascade"
    first, second = decision["cascade"]["stages"]
    assert first["model"] == "smollm2-135m"
    assert first["action"] == "escalate"
    arithmetic = next(c for c in first["checks"] if c["check"] == "arithmetic")
    assert arithmetic["status"] == "scored"
    assert arithmetic["p_good"] <= 0.1  # a wrong claim in its working, a wrong final number, or no number
    assert "arithmetic claim" in arithmetic["reason"] or "4817 * 293 = 1411381" in arithmetic["reason"]
    assert first["p_good"] <= 0.1
    assert second["model"] == "qwen2.5-coder-1.5b"
    assert second["action"] in ("accept", "stop")
    assert decision["cost_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"], rel=1e-6)
    assert [a["model"] for a in decision["attempts"]] == ["smollm2-135m", "qwen2.5-coder-1.5b"]
    assert completion.model == decision["answered_by"]
    assert completion.choices[0].logprobs is None  # asked upstream for the checks, not sent to the client
    token_confidence = next(c for c in first["checks"] if c["check"] == "token_confidence")
    assert token_confidence["status"] == "scored"  # llama.cpp returned the log-probabilities


def test_streamed_cascade_sends_the_accepted_answer(client: openai.OpenAI) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="auto:cascade", messages=[{"role": "user", "content": "What is 12 + 30?"}],
        max_tokens=20, temperature=0, stream=True, stream_options={"include_usage": True},
    ) as response:
        stages = response.headers["x-voxgate-cascade"].split(">")
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "42" in text
    assert {c.model for c in chunks} == {stages[-1]} or {c.model for c in chunks} <= set(stages)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_route_explains_the_planned_stages(voxgate_server: RunningProcess) -> None:
    body = {"model": "auto:cascade", "messages": [{"role": "user", "content": "What is 17 * 23?"}]}
    decision = httpx.post(f"{voxgate_server.base_url}/v1/route", json=body).json()
    plan = decision["cascade"]["plan"]
    assert decision["strategy"] == "cascade"
    assert plan["stages"]
    assert {s["model"] for s in plan["stages"]} <= LADDER
    assert 0 < plan["accept"] <= 1


def test_client_asking_for_logprobs_gets_them(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="auto:cascade", messages=[{"role": "user", "content": "What is 2 + 2?"}], max_tokens=8, temperature=0,
        logprobs=True, top_logprobs=3,
    )
    assert completion.choices[0].logprobs is not None
    assert completion.choices[0].logprobs.content


@pytest.mark.parametrize("cascade", [{"accept": 2}, {"max_stages": 0}, {"models": "a"}, {"speed": 1}, [1]])
def test_bad_cascade_settings_get_an_openai_error(voxgate_server: RunningProcess, cascade: Any) -> None:
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"cascade": cascade}}
    response = httpx.post(f"{voxgate_server.base_url}/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "routing.cascade"


def test_metrics_count_cascade_verdicts(client: openai.OpenAI, voxgate_server: RunningProcess) -> None:
    client.chat.completions.create(model="auto:cascade", messages=[{"role": "user", "content": "What is 3 + 4?"}],
                                   max_tokens=8, temperature=0)
    metrics = httpx.get(f"{voxgate_server.base_url}/metrics").text
    assert "voxgate_cascade_stages_total{" in metrics
