"""The router: eligibility, prediction, estimates and policy combined into a Decision."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from voxgate.core.clock import Clock
from voxgate.core.errors import NoEligibleModelError
from voxgate.core.keys import BudgetStatus
from voxgate.core.types import Capability, ChatRequest, ModelCard, RoutingConstraints
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.decision import CandidateRecord, Decision
from voxgate.routing.eligibility import CAPABILITY_REJECTION, CONTEXT_REJECTION, check_eligibility
from voxgate.routing.features import PromptFeatures, extract_features, request_kind
from voxgate.routing.policy import Candidate, PolicyResult, choose
from voxgate.routing.predictor import QualityPredictor
from voxgate.routing.stats import LatencyStats
from voxgate.routing.voice_session import VoiceSessionInputs, rank_voice_session, record_voice_decision


def new_decision_id() -> str:
    return "dec_" + secrets.token_hex(12)


def _no_model_error(rejections: dict[str, str]) -> NoEligibleModelError:
    """The error listing each model's reason; OpenAI's `context_length_exceeded` where the prompt is too
    long for every model that could otherwise serve it (the others lack a capability it needs)."""
    details = "; ".join(f"{model}: {reason}" for model, reason in rejections.items())
    too_long = any(reason.startswith(CONTEXT_REJECTION) for reason in rejections.values())
    shorten = ("send fewer or shorter messages or tools, lower max_tokens, or give the bundled models more "
               "context (`local_context_tokens` in the catalog)")
    if too_long and all(reason.startswith((CONTEXT_REJECTION, CAPABILITY_REJECTION)) for reason in rejections.values()):
        message = f"This request is too long for every model that could serve it. {details}. To fit, {shorten}."
        return NoEligibleModelError(message, rejections, context_too_small=True)
    message = (
        f"No model can serve this request under its constraints. {details}. "
        "Relax the constraints (routing.max_latency_ms, max_cost_usd, min_quality, require, "
        "local_only, models) or add a model with the missing capability to the catalog."
        + (f" Where a prompt is too long: {shorten}." if too_long else "")
    )
    return NoEligibleModelError(message, rejections)


class Router:
    """Decides which model serves a request. Owns no I/O: it only reads live stats."""

    def __init__(
        self,
        cards: Sequence[ModelCard],
        predictor: QualityPredictor,
        stats: LatencyStats,
        breakers: CircuitBreakers,
        affinity: SessionAffinity,
        clock: Clock,
    ) -> None:
        self._cards = tuple(cards)
        self._predictor = predictor
        self._stats = stats
        self._breakers = breakers
        self._affinity = affinity
        self._clock = clock

    @property
    def cards(self) -> tuple[ModelCard, ...]:
        return self._cards

    def decide(
        self, request: ChatRequest, constraints: RoutingConstraints, profile: str,
        budget: BudgetStatus | None = None, unavailable: Mapping[str, str] | None = None,
    ) -> Decision:
        """Build the full decision; raises NoEligibleModelError listing why each model was ruled out.

        `budget` is the calling key's tightest budget: near it, cheaper models are preferred.
        `unavailable`: models that may not be called now and why (at their rate limit), ruled out
        like a model whose circuit breaker is open.
        """
        started_s = self._clock.monotonic_s()
        features = _features(request)
        output_tokens = min(request.max_tokens or features.expected_output_tokens, features.expected_output_tokens)
        tokens_needed = request.context_tokens_estimate + (request.max_tokens or output_tokens)
        cards = self._cards
        direct = not profile.startswith("auto")
        if direct:
            cards = tuple(c for c in self._cards if c.id == profile)
        blocked = unavailable or {}
        eligibility = check_eligibility(
            cards, constraints, request.needs, tokens_needed,
            lambda model_id: blocked.get(model_id) or self._breakers.open_reason(model_id),
        )
        candidates = self._score(request, features, eligibility.eligible, output_tokens)
        affinity_model = None if direct else self._affinity.model_for(constraints.session_id)
        result = choose(list(candidates.values()), constraints, affinity_model, budget)
        rejections = {**eligibility.rejections, **result.rejections}
        if result.chosen is None:
            raise _no_model_error(rejections)
        overhead_us = (self._clock.monotonic_s() - started_s) * 1e6
        return self._record(request, constraints, profile, features, candidates, result, rejections, overhead_us)

    def decide_voice_session(
        self, constraints: RoutingConstraints, profile: str, *, chain_available: bool, chain_overhead_ms: float
    ) -> Decision:
        """Route a realtime session at its handshake: a native-audio model or voxgate's own chain
        (`routing.voice_session`); raises NoEligibleModelError listing why each model was ruled out."""
        started_s = self._clock.monotonic_s()
        inputs = VoiceSessionInputs(self._stats, self._breakers.open_reason, chain_available, chain_overhead_ms)
        scored, result, rejections = rank_voice_session(self._cards, constraints, profile, inputs)
        if result.chosen is None:
            raise _no_model_error(rejections)
        decision = record_voice_decision(new_decision_id(), self._clock.wall_s(), profile, constraints,
                                         self._cards, scored, result, rejections)
        decision.overhead_us = round((self._clock.monotonic_s() - started_s) * 1e6, 1)
        return decision

    def remember_answer(self, session_id: str | None, model_id: str) -> None:
        self._affinity.remember(session_id, model_id)

    def _score(
        self,
        request: ChatRequest,
        features: PromptFeatures,
        eligible: Sequence[ModelCard],
        output_tokens: int,
    ) -> dict[str, Candidate]:
        qualities = self._predictor.predict(request.prompt_text, features, eligible)
        return {
            card.id: Candidate(
                model_id=card.id,
                quality=qualities[card.id].quality,
                cost_usd=card.price.cost_usd(request.context_tokens_estimate, output_tokens),
                latency_ms=self._stats.estimate_ms(card.id, output_tokens),
                quality_source=qualities[card.id].source,
            )
            for card in eligible
        }

    def _record(
        self,
        request: ChatRequest,
        constraints: RoutingConstraints,
        profile: str,
        features: PromptFeatures,
        candidates: dict[str, Candidate],
        result: PolicyResult,
        rejections: dict[str, str],
        overhead_us: float,
    ) -> Decision:
        records = []
        for card in self._cards:
            scored = candidates.get(card.id)
            if scored is None or card.id in result.rejections:
                reason = rejections.get(card.id, "not requested")
                records.append(self._candidate_record(card.id, scored, eligible=False, reason=reason))
                continue
            reason = "chosen" if card.id == result.chosen else result.passed_over.get(card.id, "")
            records.append(self._candidate_record(card.id, scored, eligible=True, reason=reason))
        return Decision(
            id=new_decision_id(),
            created_at=self._clock.wall_s(),
            profile=profile,
            mode="direct" if not profile.startswith("auto") else constraints.mode.value,
            constraints=constraints.as_dict(),
            request={
                "fingerprint": request.fingerprint,
                "prompt_tokens_estimate": request.prompt_tokens_estimate,
                "tool_tokens_estimate": request.tool_tokens_estimate,
                "max_tokens": request.max_tokens,
                "needs": sorted(n.value for n in request.needs),
                "turns": request.turn_count,
                "stream": request.stream,
                "difficulty": round(features.difficulty, 2),
                "kind": features.kind.value,
            },
            candidates=records,
            chosen=result.chosen,
            fallback_plan=list(result.plan[1:]),
            reason=result.reason,
            predictor_version=self._predictor.version,
            overhead_us=round(overhead_us, 1),
            affinity=result.affinity_note,
        )

    def _candidate_record(
        self, model_id: str, scored: Candidate | None, *, eligible: bool, reason: str
    ) -> CandidateRecord:
        if scored is None:
            return CandidateRecord(model=model_id, eligible=eligible, reason=reason)
        return CandidateRecord(
            model=model_id,
            eligible=eligible,
            predicted_quality=scored.quality,
            quality_source=scored.quality_source,
            estimated_cost_usd=scored.cost_usd,
            estimated_latency_ms=round(scored.latency_ms, 1),
            reason=reason,
        )


def _features(request: ChatRequest) -> PromptFeatures:
    offers_tools = Capability.TOOLS in request.needs
    tools = request.body.get("tools")
    tool_count = len(tools) if offers_tools and isinstance(tools, list) else 0
    kind = request_kind(request.body.get("messages"), offers_tools)
    return extract_features(
        request.prompt_text, request.prompt_tokens_estimate, request.turn_count, kind, tool_count
    )
