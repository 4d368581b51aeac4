"""Per-model rate limits: a catalog entry's `rate_limits: {rpm: N, tpm: N}`, shared by every key.

The counts live in the same `server/counters.Counters` as the virtual keys' windows (under
`model:<id>`), so with `redis:` every replica shares them: with RPM 60, at most 60 requests a
minute reach the model, however many replicas serve them. `Gateway.decide` uses them so:
1. `full_now()`: the models whose window was full when an admission last read it (every admission
   reads every limited model's window: `looks`). The router treats them like a tripped circuit
   breaker: an `auto` request routes around them and its decision's rejections say why; a request
   naming such a model gets `refusal()`, a 429 `rate_limit_exceeded` in OpenAI's shape with
   `retry-after` and the model's `x-ratelimit-*` headers.
2. the admission: the chosen model's window (`window_take`) is checked and taken atomically in the
   same round trip as the key's (`KeyGate.count_request`; `take` without a key). A request that
   finds it full (another replica took the last slot) takes nothing and gets the refusal (`auto`
   routes again without it: a second round trip, only then).
Tokens are reserved at admission (prompt estimate plus max_tokens, `counters.reserved_tokens`);
`observe_decision` (a dispatcher observer) replaces the reservation by what the answer really
used, queued with the keys' usage (`KeyGate.queue_usage`) and so written in the same batch after
the answer. A fallback attempt on another model is not counted against that
model's window (the chosen model's reservation is given back).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from voxgate.core.clock import Clock
from voxgate.core.errors import RateLimitedError
from voxgate.core.types import ModelCard, ModelRateLimits
from voxgate.routing.decision import Decision
from voxgate.server.counters import Counters, Tally, UsageUpdate, WindowTake, reconciled_tokens


def _counter_id(model_id: str) -> str:
    return f"model:{model_id}"


class ModelLimits:
    """The catalog's per-model limits over shared one-minute windows (see the module docstring)."""

    def __init__(self, cards: Sequence[ModelCard], clock: Clock, counters: Counters, window_s: float,
                 queue: Callable[[UsageUpdate], None]) -> None:
        self._limits = {card.id: card.rate_limits for card in cards
                        if card.rate_limits.rpm is not None or card.rate_limits.tpm is not None}
        self._clock = clock
        self._counters = counters
        self._window_s = window_s
        self._seen: dict[str, tuple[float, Tally]] = {}
        self._queue = queue

    @property
    def limited(self) -> bool:
        """Whether any catalog model has a rate limit (then routing itself counts in the windows)."""
        return bool(self._limits)

    def _window_start(self, at_s: float) -> float:
        return at_s - at_s % self._window_s

    def _window(self) -> tuple[float, float]:
        """(start of this window, seconds until the next)."""
        now_s = self._clock.wall_s()
        start_s = self._window_start(now_s)
        return start_s, start_s + self._window_s - now_s

    async def saturated(self) -> dict[str, str]:
        """Why each model at its limit cannot take a request now, read in one round trip (empty without
        limits): the explain route's view, which counts nothing."""
        if not self._limits:
            return {}
        start_s, _ = self._window()
        admitted = await self._counters.admit(start_s, (), self.looks(""), None, ())
        self.learn(start_s, "", admitted.windows)
        return self.full_now()

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

    def window_take(self, model_id: str, tokens: int) -> tuple[WindowTake, ...]:
        """The model's window for an admission taking one request of `tokens` (none without limits)."""
        limits = self._limits.get(model_id)
        if limits is None:
            return ()
        return (WindowTake(_counter_id(model_id), 1, tokens, limits.rpm, limits.tpm),)

    def looks(self, taken: str) -> tuple[str, ...]:
        """The other limited models' windows, read by the same admission (`full_now` learns from them)."""
        return tuple(_counter_id(model_id) for model_id in self._limits if model_id != taken)

    def learn(self, window_start_s: float, taken: str, counts: Sequence[tuple[int, int]]) -> None:
        """Keep what an admission read of the model windows (`window_take(taken)` then `looks(taken)`)."""
        model_ids = [*([taken] if taken in self._limits else []), *(m for m in self._limits if m != taken)]
        for model_id, (requests, tokens) in zip(model_ids, counts, strict=True):
            self._seen[model_id] = (window_start_s, Tally(requests, tokens, {}))

    def full_now(self) -> dict[str, str]:
        """Why each model was at its limit when an admission last read its window (this window only):
        routing rules them out without a round trip of its own; a lost race is refused by the admission."""
        start_s, reset_s = self._window()
        full: dict[str, str] = {}
        for model_id, (seen_start_s, tally) in self._seen.items():
            over = _over(self._limits[model_id], tally, None) if seen_start_s == start_s else None
            if over is not None:
                full[model_id] = f"rate limit: {over}, every key together; a slot frees in {math.ceil(reset_s)} s"
        return full

    def refused(self, model_id: str, requests: int, tokens: int, needs: int) -> RateLimitedError:
        """The 429 for a request an admission found over the model's limit (`requests`, `tokens`: the
        window before it)."""
        limits = self._limits[model_id]
        _, reset_s = self._window()
        over = _over(limits, Tally(requests + 1, tokens + needs, {}), needs) or f"{limits.tpm} tokens per minute"
        return self.refusal(model_id, f"rate limit: {over}, every key together; a slot frees in "
                                      f"{math.ceil(reset_s)} s")

    async def take(self, model_id: str, tokens: int) -> RateLimitedError | None:
        """Count one request of `tokens` reserved against the model (and read the other limited
        windows) in one round trip; its refusal (nothing counted) when full. For a request without a
        virtual key: a keyed one is counted with its key's window (`KeyGate.count_request`)."""
        takes = self.window_take(model_id, tokens)
        if not takes:
            return None
        start_s, _ = self._window()
        admitted = await self._counters.admit(start_s, takes, self.looks(model_id), None, ())
        self.learn(start_s, model_id, admitted.windows)
        if admitted.taken:
            return None
        requests, tokens_before = admitted.windows[0]
        return self.refused(model_id, requests, tokens_before, tokens)

    async def give_back(self, model_id: str, tokens: int) -> None:
        """Take back a request `take` counted against the model (routed elsewhere after all)."""
        for take in self.window_take(model_id, tokens):
            back = replace(take, requests=-take.requests, tokens=-take.tokens)
            await self._counters.admit(self._window()[0], (back,), (), None, ())

    def observe_decision(self, decision: Decision) -> None:
        """Queue what a finished answer used in place of the tokens it reserved (a dispatcher observer);
        an answer by a fallback model gives the chosen model's reservation back."""
        model_id = decision.chosen
        if model_id not in self._limits:
            return
        window_start_s = self._window()[0]
        tokens = reconciled_tokens(decision, self._window_start(decision.created_at) == window_start_s)
        if decision.answered_by != model_id:
            tokens = min(0, tokens - reconciled_tokens(decision, False))
        if tokens:
            self._queue(UsageUpdate(_counter_id(str(model_id)), window_start_s, tokens, 0.0))


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
