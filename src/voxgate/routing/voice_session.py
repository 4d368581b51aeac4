"""Routing a voice session at its handshake: voxgate's own chain or a native-audio model, in one decision.

A realtime session is routed once, before anything has been said, among:

- every native-audio model (`backend: openai-realtime`), which hears and speaks itself: its latency
  is its first-audio estimate (live, seeded by the card's `ttft_ms`);
- every text model as the LLM of voxgate's chain (VAD -> STT -> LLM -> TTS): its latency adds the
  chain's own stages (`chain_overhead_ms`: transcription and the first synthesised piece) to the
  model's estimate for the first piece's tokens. Each turn of a chain session is routed again as
  before; this decision only says the chain beats every native model (`request.route`: `chain`).

Quality is each model's catalog prior (`quality`): there is no prompt yet to predict from. Cost is
one typical turn (`VOICE_TURN_INPUT_TOKENS` in, `VOICE_TURN_OUTPUT_TOKENS` out) at the card's price,
so `max_cost_usd` bounds a turn. Eligibility (`local_only`, `models`, `exclude`, `require`, open
circuits) and the pure policy (`policy.choose`: mode, `max_latency_ms`, `max_cost_usd`,
`min_quality`) are the chat path's own, so `voxgate route --voice` explains the choice the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voxgate.core.types import ModelCard, RoutingConstraints
from voxgate.routing.decision import CandidateRecord, Decision
from voxgate.routing.eligibility import check_eligibility
from voxgate.routing.policy import Candidate, PolicyResult, choose
from voxgate.routing.stats import LatencyStats

VOICE_TURN_INPUT_TOKENS = 600
VOICE_TURN_OUTPUT_TOKENS = 120
FIRST_PIECE_TOKENS = 8
ROUTE_NATIVE = "native"
ROUTE_CHAIN = "chain"
QUALITY_SOURCE = "catalog prior (a voice session is routed before anything is said)"


@dataclass(frozen=True)
class VoiceSessionInputs:
    """What the session's decision needs besides the catalog: live latency, open circuits, and
    whether voxgate's own chain can serve the session (speech engines loaded) and what it adds."""

    stats: LatencyStats
    open_reason: Callable[[str], str | None]
    chain_available: bool
    chain_overhead_ms: float


def voice_candidates(cards: Sequence[ModelCard], inputs: VoiceSessionInputs) -> dict[str, Candidate]:
    """Every eligible card scored as a whole voice turn (see the module docstring)."""
    scored: dict[str, Candidate] = {}
    for card in cards:
        if card.is_native_audio:  # its first audio delta: the live first-audio estimate (ttft_ms seeds it)
            latency_ms = inputs.stats.estimate_ms(card.id, 0)
        else:
            latency_ms = inputs.stats.estimate_ms(card.id, FIRST_PIECE_TOKENS) + inputs.chain_overhead_ms
        scored[card.id] = Candidate(
            model_id=card.id, quality=card.quality_hint,
            cost_usd=card.price.cost_usd(VOICE_TURN_INPUT_TOKENS, VOICE_TURN_OUTPUT_TOKENS),
            latency_ms=latency_ms, quality_source=QUALITY_SOURCE,
        )
    return scored


def session_cards(cards: Sequence[ModelCard], profile: str, chain_available: bool) -> tuple[ModelCard, ...]:
    """The cards a session under `profile` may be routed to: one named card, or all (`auto...`)."""
    chosen = [c for c in cards if profile.startswith("auto") or c.id == profile]
    return tuple(c for c in chosen if c.is_native_audio or chain_available)


def chain_rejections(cards: Sequence[ModelCard], inputs: VoiceSessionInputs) -> dict[str, str]:
    if inputs.chain_available:
        return {}
    return {c.id: "voice chain unavailable: speech engines are not loaded" for c in cards if not c.is_native_audio}


def record_voice_decision(
    decision_id: str, created_at: float, profile: str, constraints: RoutingConstraints,
    cards: Sequence[ModelCard], scored: dict[str, Candidate], result: PolicyResult, rejections: dict[str, str],
) -> Decision:
    """The session's Decision: every card with its score or why it was ruled out."""
    records: list[CandidateRecord] = []
    for card in cards:
        candidate = scored.get(card.id)
        eligible = candidate is not None and card.id not in result.rejections
        reason = ("chosen" if card.id == result.chosen else result.passed_over.get(card.id, "")) if eligible \
            else rejections.get(card.id, "not requested")
        prefix = "" if card.is_native_audio else "voice chain: "
        records.append(CandidateRecord(
            model=card.id, eligible=eligible, reason=prefix + reason if candidate is not None else reason,
            predicted_quality=candidate.quality if candidate else None,
            quality_source=candidate.quality_source if candidate else None,
            estimated_cost_usd=candidate.cost_usd if candidate else None,
            estimated_latency_ms=round(candidate.latency_ms, 1) if candidate else None,
        ))
    chosen_card = next((c for c in cards if c.id == result.chosen), None)
    route = ROUTE_NATIVE if chosen_card is not None and chosen_card.is_native_audio else ROUTE_CHAIN
    return Decision(
        id=decision_id, created_at=created_at, profile=profile,
        mode="direct" if not profile.startswith("auto") else constraints.mode.value,
        constraints=constraints.as_dict(),
        request={"kind": "voice_session", "route": route, "needs": ["audio"],
                 "turn_input_tokens": VOICE_TURN_INPUT_TOKENS, "turn_output_tokens": VOICE_TURN_OUTPUT_TOKENS},
        candidates=records, chosen=result.chosen, fallback_plan=list(result.plan[1:]),
        reason=result.reason if route == ROUTE_NATIVE else f"{result.reason}; the session runs voxgate's voice chain",
        predictor_version="catalog-prior", overhead_us=0.0,
    )


def rank_voice_session(
    cards: Sequence[ModelCard], constraints: RoutingConstraints, profile: str, inputs: VoiceSessionInputs
) -> tuple[dict[str, Candidate], PolicyResult, dict[str, str]]:
    """Eligibility, scores and the policy's plan for a session under `profile` and `constraints`."""
    allowed = session_cards(cards, profile, inputs.chain_available)
    eligibility = check_eligibility(allowed, constraints, frozenset(), 0, inputs.open_reason, voice_session=True)
    scored = voice_candidates(eligibility.eligible, inputs)
    result = choose(list(scored.values()), constraints)
    rejections = {**chain_rejections(cards, inputs), **eligibility.rejections, **result.rejections}
    return scored, result, rejections
