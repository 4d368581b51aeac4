"""Router.decide: the record it builds, direct model requests, affinity, the no-model error."""

from __future__ import annotations

import pytest

from voxgate.config import default_models
from voxgate.core.clock import ManualClock
from voxgate.core.errors import NoEligibleModelError
from voxgate.core.types import Capability, Mode, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.server.validation import parse_chat_request

CARDS = default_models()


def _router() -> Router:
    clock = ManualClock()
    return Router(CARDS, HeuristicPredictor(), LatencyStats(CARDS), CircuitBreakers(clock), SessionAffinity(), clock)



def test_record_lists_every_candidate_with_reason() -> None:
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hello"}]})
    decision = _router().decide(request, RoutingConstraints(mode=Mode.QUALITY), "auto:quality")
    assert decision.chosen == "qwen2.5-coder-1.5b"
    assert [c.model for c in decision.candidates] == [c.id for c in CARDS]
    assert all(c.reason for c in decision.candidates)
    assert decision.fallback_plan == ["qwen2.5-coder-0.5b", "smollm2-135m"]
    assert decision.request["fingerprint"] == request.fingerprint
    assert decision.predictor_version == "heuristic-v1"


def test_direct_model_request_has_single_step_plan() -> None:
    request = parse_chat_request({"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}]})
    decision = _router().decide(request, RoutingConstraints(), "smollm2-135m")
    assert decision.mode == "direct"
    assert decision.chosen == "smollm2-135m"
    assert decision.fallback_plan == []


def test_direct_model_lacking_capability_is_explained() -> None:
    request = parse_chat_request({"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(NoEligibleModelError) as info:
        _router().decide(request, RoutingConstraints(require=frozenset({Capability.TOOLS})), "smollm2-135m")
    assert info.value.rejections["smollm2-135m"] == "lacks required capability: tools"


def test_session_affinity_is_recorded() -> None:
    router = _router()
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "Tell me a story"}]})
    router.remember_answer("s-1", "qwen2.5-coder-1.5b")
    decision = router.decide(request, RoutingConstraints(mode=Mode.COST, session_id="s-1"), "auto:cost")
    assert decision.affinity is not None
    assert "qwen2.5-coder-1.5b" in decision.affinity


def test_no_eligible_model_message_names_each_model() -> None:
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(NoEligibleModelError) as info:
        _router().decide(request, RoutingConstraints(min_quality=0.999), "auto")
    for card in CARDS:
        assert card.id in info.value.message
    assert "min_quality" in info.value.message


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
QUESTION = {"role": "user", "content": "What is the weather in Oslo today?"}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"messages": [QUESTION]}, "chat"),
        ({"messages": [QUESTION], "tools": [WEATHER], "tool_choice": "none"}, "chat"),
        ({"messages": [QUESTION], "tools": [WEATHER]}, "tool_call"),
        ({"messages": [QUESTION, {"role": "assistant", "content": None, "tool_calls": [CALL]},
                       {"role": "tool", "tool_call_id": "c1", "content": "5 C"}], "tools": [WEATHER]}, "tool_result"),
    ],
)
def test_a_tool_turn_is_its_own_kind_and_predicted_harder_for_every_model(body: dict[str, object], kind: str) -> None:
    router, constraints = _router(), RoutingConstraints(mode=Mode.QUALITY)
    plain = router.decide(parse_chat_request({"model": "auto", "messages": [QUESTION]}), constraints, "auto")
    decision = router.decide(parse_chat_request({"model": "auto", **body}), constraints, "auto")
    assert decision.request["kind"] == kind
    tool_turn = {c.model: c.predicted_quality for c in decision.candidates if c.predicted_quality is not None}
    chat = {c.model: c.predicted_quality for c in plain.candidates if c.predicted_quality is not None}
    assert tool_turn
    for model, quality in tool_turn.items():
        assert quality < chat[model] if kind != "chat" else quality == chat[model]
