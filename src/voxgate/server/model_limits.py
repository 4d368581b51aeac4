"""Per-model rate limits: a catalog entry's `rate_limits: {rpm: N, tpm: N}`, shared by every key.

The counts live in the same `server/counters.Counters` as the virtual keys' windows (under
`model:<id>`), so with `redis:` every replica shares them: with RPM 60, at most 60 requests a
minute reach the model, however many replicas serve them. `Gateway.decide` uses them in two steps:
1. `saturated()`: the models whose window is full now. The router treats them like a tripped
   circuit breaker: an `auto` request routes around them and its decision's rejections say why;
   a request naming such a model gets `refusal()`, a 429 `rate_limit_exceeded` in OpenAI's shape
   with `retry-after` and the model's `x-ratelimit-*` headers.
2. `take(model, tokens)`: counts the chosen model's request atomically. A replica that lost the
   race for the last slot gives it back and gets the refusal (`auto` then routes again without it).
Tokens are counted at admission from the prompt estimate; `observe_decision` (a dispatcher
observer) adds what the answer really used, written by `run_writer`. A fallback attempt on
another model is not counted against that model's window.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from voxgate.core.clock import Clock
from voxgate.core.errors import RateLimitedError
from voxgate.core.types import ModelCard, ModelRateLimits
from voxgate.routing.decision import Decision
from voxgate.server.counters import Counters, Tally, UsageUpdate


def _counter_id(model_id: str) -> str:
    return f"model:{model_id}"


class ModelLimits:
    """The catalog's per-model limits over shared one-minute windows (see the module docstring)."""

    def __init__(self, cards: Sequence[ModelCard], clock: Clock, counters: Counters, window_s: float) -> None:
        self._limits = {card.id: card.rate_limits for card in cards
                        if card.rate_limits.rpm is not None or card.rate_limits.tpm is not None}
        self._clock = clock
        self._counters = counters
        self._window_s = window_s
        self._usage: list[UsageUpdate] = []
        self._wake = asyncio.Event()

    @property
    def limited(self) -> bool:
        """Whether any catalog model has a rate limit (then routing itself counts in the windows)."""
        return bool(self._limits)

    def _window(self) -> tuple[float, float]:
        """(start of this window, seconds until the next)."""
        now_s = self._clock.wall_s()
        start_s = now_s - now_s % self._window_s
        return start_s, start_s + self._window_s - now_s

    async def saturated(self) -> dict[str, str]:
        """Why each model at its limit cannot take a request now (empty without limits)."""
        if not self._limits:
            return {}
        start_s, reset_s = self._window()
        full: dict[str, str] = {}
        for model_id, limits in self._limits.items():
            tally = await self._counters.take(_counter_id(model_id), start_s, 0, 0, {})
            over = _over(limits, tally, None)
            if over is not None:
                full[model_id] = f"rate limit: {over}, every key together; a slot frees in {math.ceil(reset_s)} s"
        return full

    def refusal(self, model_id: str, reason: str) -> RateLimitedError:
        """The 429 for a request naming a model at its limit."""
        limits = self._limits[model_id]
        _, reset_s = self._window()
        retry_after_s = max(1, math.ceil(reset_s))
        headers = {"retry-after": str(retry_after_s)}
        for name, limit in (("requests", limits.rpm), ("tokens", limits.tpm)):
            if limit is not None:
                headers |= {f"x-ratelimit-limit-{name}": str(limit), f"x-ratelimit-reset-{name}": f"{retry_after_s}s"}
        return RateLimitedError(f"model {model_id} is at its {reason}.", retry_after_s=reset_s, headers=headers,
                                code="rate_limit_exceeded")

    async def take(self, model_id: str, tokens: int) -> RateLimitedError | None:
        """Count one request of about `tokens` against the model; its refusal (nothing counted) when full."""
        limits = self._limits.get(model_id)
        if limits is None:
            return None
        start_s, reset_s = self._window()
        tally = await self._counters.take(_counter_id(model_id), start_s, 1, tokens, {})
        over = _over(limits, tally, tokens)
        if over is None:
            return None
        await self._counters.take(_counter_id(model_id), start_s, -1, -tokens, {})
        return self.refusal(model_id, f"rate limit: {over}, every key together; a slot frees in "
                                      f"{math.ceil(reset_s)} s")

    def observe_decision(self, decision: Decision) -> None:
        """Queue the tokens a finished answer used beyond its admission estimate (a dispatcher observer)."""
        model_id = decision.answered_by
        if model_id not in self._limits or not decision.usage:
            return
        used = int(decision.usage.get("prompt_tokens", 0)) + int(decision.usage.get("completion_tokens", 0))
        extra = used - int(decision.request.get("prompt_tokens_estimate", 0))
        self._usage.append(UsageUpdate(_counter_id(str(model_id)), self._window()[0], extra, 0.0))
        self._wake.set()

    async def flush(self) -> None:
        usage, self._usage = self._usage, []
        if usage:
            await self._counters.add_usage(usage)

    async def run_writer(self) -> None:
        """Add queued usage as it comes; run it in the gateway's task group, cancel it at shutdown."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()


def _over(limits: ModelRateLimits, tally: Tally, tokens: int | None) -> str | None:
    """Which limit the window is past, or None. `tokens` None: a look (nothing taken; full is over);
    else the counts include this request of `tokens`, and one request alone larger than the TPM is
    let through an empty window, as for virtual keys."""
    requests_before = tally.requests - (0 if tokens is None else 1)
    tokens_before = tally.tokens - (tokens or 0)
    if limits.rpm is not None and requests_before >= limits.rpm:
        return f"{limits.rpm} requests per minute"
    if limits.tpm is None:
        return None
    tokens_over = tokens_before >= limits.tpm if tokens is None else tokens_before > 0 and tally.tokens > limits.tpm
    return f"{limits.tpm} tokens per minute ({tokens_before} used)" if tokens_over else None
