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
