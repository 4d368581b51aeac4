"""Live per-model latency statistics, exponentially weighted."""

from __future__ import annotations

from dataclasses import dataclass

from voxgate.core.types import ModelCard


@dataclass
class ModelLatency:
    ttft_ms: float
    tokens_per_s: float
    samples: int = 0


class LatencyStats:
    """Tracks time to first token and decode speed per model; seeded from catalog priors."""

    def __init__(self, cards: list[ModelCard] | tuple[ModelCard, ...], smoothing: float = 0.3) -> None:
        self._smoothing = smoothing
        self._by_model = {c.id: ModelLatency(c.ttft_ms, c.tokens_per_s) for c in cards}

    def observe(self, model_id: str, ttft_ms: float, tokens_per_s: float | None) -> None:
        entry = self._by_model.setdefault(model_id, ModelLatency(ttft_ms, tokens_per_s or 50.0))
        weight = 1.0 if entry.samples == 0 else self._smoothing
        entry.ttft_ms += weight * (ttft_ms - entry.ttft_ms)
        if tokens_per_s is not None and tokens_per_s > 0:
            entry.tokens_per_s += weight * (tokens_per_s - entry.tokens_per_s)
        entry.samples += 1

    def estimate_ms(self, model_id: str, output_tokens: int) -> float:
        entry = self._by_model.get(model_id)
        if entry is None:
            return float("inf")
        return entry.ttft_ms + 1000.0 * output_tokens / max(entry.tokens_per_s, 1e-3)

    def snapshot(self, model_id: str) -> ModelLatency | None:
        return self._by_model.get(model_id)
