"""Router.decide_voice_session: native-audio models and voxgate's chain in one decision, and native
models kept out of chat routing."""

from __future__ import annotations

import pytest

from voxgate.config import default_models
from voxgate.core.clock import ManualClock
from voxgate.core.errors import NoEligibleModelError
from voxgate.core.types import Capability, Locality, Mode, ModelCard, Price, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.predictor import HeuristicPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats
from voxgate.routing.voice_session import VOICE_TURN_INPUT_TOKENS, VOICE_TURN_OUTPUT_TOKENS
from voxgate.server.validation import parse_chat_request

NATIVE = ModelCard(id="gpt-realtime", backend="openai-realtime", base_url="wss://api.example/v1/realtime",
                   capabilities=frozenset({Capability.AUDIO}), price=Price(32.0, 64.0), locality=Locality.CLOUD,
                   quality_hint=0.85, ttft_ms=300.0)
CARDS = (*default_models(), NATIVE)
OVERHEAD_MS = 400.0


def _router(cards: tuple[ModelCard, ...] = CARDS) -> tuple[Router, CircuitBreakers]:
    clock = ManualClock()
    breakers = CircuitBreakers(clock)
    return Router(cards, HeuristicPredictor(), LatencyStats(cards), breakers, SessionAffinity(), clock), breakers


def _decide(constraints: RoutingConstraints, profile: str = "auto", *, chain: bool = True,
            router: Router | None = None) -> dict[str, object]:
    router = router or _router()[0]
    decision = router.decide_voice_session(constraints, profile, chain_available=chain, chain_overhead_ms=OVERHEAD_MS)
    return decision.to_dict()


def _candidate(decision: dict[str, object], model_id: str) -> dict[str, object]:
    candidates = decision["candidates"]
    assert isinstance(candidates, list)
    return next(c for c in candidates if c["model"] == model_id)


def test_quality_mode_picks_the_native_model_on_its_prior_and_lists_the_chain() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.QUALITY))
    assert decision["chosen"] == "gpt-realtime"
    assert decision["request"] == {"kind": "voice_session", "route": "native", "needs": ["audio"],
                                   "turn_input_tokens": VOICE_TURN_INPUT_TOKENS,
                                   "turn_output_tokens": VOICE_TURN_OUTPUT_TOKENS}
    chain = _candidate(decision, "qwen2.5-coder-1.5b")
    assert chain["eligible"] is True
    assert str(chain["reason"]).startswith("voice chain: lower predicted quality")
    assert _candidate(decision, "gpt-realtime")["estimated_cost_usd"] == pytest.approx(
        (VOICE_TURN_INPUT_TOKENS * 32 + VOICE_TURN_OUTPUT_TOKENS * 64) / 1e6)


def test_chain_latency_adds_the_chain_overhead_to_the_model_estimate() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.FAST))
    smallest = next(c for c in default_models() if c.id == "smollm2-135m")
    latency = _candidate(decision, "smollm2-135m")["estimated_latency_ms"]
    assert isinstance(latency, float)
    assert latency > smallest.ttft_ms + OVERHEAD_MS


def test_local_only_keeps_the_session_on_the_chain_and_says_why() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.QUALITY, local_only=True))
    assert decision["chosen"] == "qwen2.5-coder-1.5b"
    assert decision["request"]["route"] == "chain"  # type: ignore[index]
    assert "voice chain" in str(decision["reason"])
    native = _candidate(decision, "gpt-realtime")
    assert native["eligible"] is False
    assert "local_only" in str(native["reason"])


def test_a_latency_budget_below_the_chain_picks_the_native_model() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.COST, max_latency_ms=380.0))
    assert decision["chosen"] == "gpt-realtime"
    assert "max_latency_ms" in str(_candidate(decision, "qwen2.5-coder-0.5b")["reason"])


def test_a_turn_cost_cap_rules_the_native_model_out() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.QUALITY, max_cost_usd=0.001))
    assert decision["chosen"] != "gpt-realtime"
    assert "max_cost_usd" in str(_candidate(decision, "gpt-realtime")["reason"])


def test_a_named_native_model_is_a_direct_decision() -> None:
    decision = _decide(RoutingConstraints(), "gpt-realtime")
    assert decision["mode"] == "direct"
    assert decision["chosen"] == "gpt-realtime"
    assert decision["fallback_plan"] == []


def test_without_speech_engines_only_native_models_qualify() -> None:
    decision = _decide(RoutingConstraints(mode=Mode.COST), chain=False)
    assert decision["chosen"] == "gpt-realtime"
    assert "speech engines" in str(_candidate(decision, "smollm2-135m")["reason"])


def test_an_open_circuit_and_no_chain_leave_nothing_and_say_why() -> None:
    router, breakers = _router()
    breakers.hold_open("gpt-realtime", "upstream refused three sessions")
    with pytest.raises(NoEligibleModelError) as info:
        _decide(RoutingConstraints(), chain=False, router=router)
    assert info.value.rejections["gpt-realtime"] == "upstream refused three sessions"


def test_chat_requests_never_route_to_a_native_audio_model() -> None:
    router, _ = _router()
    request = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
    decision = router.decide(request, RoutingConstraints(mode=Mode.QUALITY), "auto")
    assert decision.chosen != "gpt-realtime"
    native = next(c for c in decision.candidates if c.model == "gpt-realtime")
    assert native.eligible is False
    assert "voice sessions" in native.reason
    direct = parse_chat_request({"model": "gpt-realtime", "messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(NoEligibleModelError):
        router.decide(direct, RoutingConstraints(), "gpt-realtime")
