"""Hard filters: which models may serve a request at all, and why the others may not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voxgate.core.types import Capability, Locality, ModelCard, RoutingConstraints

CONTEXT_REJECTION = "context window"  # how the reason of a model too small for the prompt starts
CAPABILITY_REJECTION = "lacks required capability"


@dataclass(frozen=True)
class EligibilityResult:
    eligible: tuple[ModelCard, ...]
    rejections: dict[str, str]


def _rejection(
    card: ModelCard,
    constraints: RoutingConstraints,
    needs: frozenset[Capability],
    tokens_needed: int,
    open_reason: Callable[[str], str | None],
    voice_session: bool = False,
) -> str | None:
    if card.is_native_audio and not voice_session:
        return "a native-audio realtime model: it serves voice sessions (/v1/realtime) only"
    if constraints.models is not None and card.id not in constraints.models:
        return "not in the request's `models` allow-list"
    if card.id in constraints.exclude:
        return "excluded by the request's `exclude` list"
    if constraints.local_only and card.locality is not Locality.LOCAL:
        return f"local_only is set and this model runs {card.locality.value}"
    missing = sorted(c.value for c in (needs | constraints.require) - card.capabilities)
    if missing:
        return f"{CAPABILITY_REJECTION}: {', '.join(missing)}"
    if tokens_needed > card.context_window:
        needed = f"{tokens_needed} needed (prompt, tools and max_tokens)"
        return f"{CONTEXT_REJECTION} {card.context_window} tokens < {needed}"
    return open_reason(card.id)


def check_eligibility(
    cards: Sequence[ModelCard],
    constraints: RoutingConstraints,
    needs: frozenset[Capability],
    tokens_needed: int,
    open_reason: Callable[[str], str | None] = lambda _model_id: None,
    *,
    voice_session: bool = False,
) -> EligibilityResult:
    """Split the catalog into eligible models and rejections (model id -> reason); native-audio
    models are eligible only for a `voice_session`."""
    eligible: list[ModelCard] = []
    rejections: dict[str, str] = {}
    for card in cards:
        reason = _rejection(card, constraints, needs, tokens_needed, open_reason, voice_session)
        if reason is None:
            eligible.append(card)
        else:
            rejections[card.id] = reason
    return EligibilityResult(tuple(eligible), rejections)
