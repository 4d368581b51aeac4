"""What a virtual key may do right now: allow-lists, budgets, rate limits and voice sessions.

`KeyGate.admit` runs before routing. In order it refuses a request
- outside the key's `models`/`profiles` (403, naming what the key may use);
- past a day or month budget (429 `insufficient_quota`);
- past the key's requests or tokens per minute (429 `rate_limit_exceeded`, `retry-after`);
and otherwise returns the key's tightest budget (the routing policy prefers cheaper models near
it) and OpenAI's `x-ratelimit-*` headers. `KeyGate.observe_decision` (a dispatcher observer)
counts each finished decision's cost and tokens against its key.

Windows are fixed, one minute long, and counted in this process; budgets are counted from the
spend table at start-up (`load_spend`) and then in memory. A request admitted while another of
the same key is in flight may overshoot a budget by that request's cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from voxgate.core.clock import Clock
from voxgate.core.errors import PermissionDeniedError, QuotaExceededError, RateLimitedError, RequestError
from voxgate.core.keys import BudgetPeriod, BudgetStatus, VirtualKey, period_start_s
from voxgate.core.types import ChatRequest, RoutingConstraints
from voxgate.routing.decision import Decision

WINDOW_S = 60.0


@dataclass
class _Window:
    start_s: float
    requests: int = 0
    tokens: int = 0


@dataclass(frozen=True)
class Admission:
    """An admitted request: its constraints narrowed to the key's models, budget, headers."""

    key_id: str | None
    constraints: RoutingConstraints
    budget: BudgetStatus | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _reset(seconds: float) -> str:
    return f"{max(0, math.ceil(seconds))}s"


class KeyGate:
    """Admission and accounting for virtual keys; requests without one pass untouched."""

    def __init__(self, clock: Clock, window_s: float = WINDOW_S,
                 on_refusal: Callable[[str, str], None] | None = None) -> None:
        self._clock = clock
        self._on_refusal = on_refusal
        self._window_s = window_s
        self._windows: dict[str, _Window] = {}
        self._spent: dict[tuple[str, BudgetPeriod], tuple[float, float]] = {}
        self._voice_sessions: dict[str, int] = {}

    def load_spend(self, period: BudgetPeriod, since_s: float, totals: dict[str, float]) -> None:
        """Seed the budget counters of the period that began at `since_s` (from the spend table)."""
        for key_id, usd in totals.items():
            self._spent[(key_id, period)] = (since_s, usd)

    def spent_usd(self, key_id: str, period: BudgetPeriod) -> float:
        start_s = period_start_s(period, self._clock.wall_s())
        counted = self._spent.get((key_id, period))
        return counted[1] if counted is not None and counted[0] == start_s else 0.0

    def _add_spend(self, key_id: str, usd: float, at_s: float) -> None:
        for period in BudgetPeriod:
            start_s = period_start_s(period, at_s)
            counted = self._spent.get((key_id, period))
            base = counted[1] if counted is not None and counted[0] == start_s else 0.0
            self._spent[(key_id, period)] = (start_s, base + usd)

    def tightest_budget(self, key: VirtualKey) -> BudgetStatus | None:
        """The budget with the smallest share left, or None when the key has none."""
        statuses = [BudgetStatus(key.id, period, limit_usd, self.spent_usd(key.id, period))
                    for period, limit_usd in key.policy.budget_usd.items()]
        return min(statuses, key=lambda s: (s.left_fraction, s.left_usd), default=None)

    def admit(self, key: VirtualKey | None, chat: ChatRequest, constraints: RoutingConstraints,
              *, count: bool = True) -> Admission:
        """Check a request against its key. `count` False (the explain route): nothing is counted
        and rate limits do not refuse; allow-lists and budgets still do."""
        if key is None:
            return Admission(None, constraints)
        try:
            return self._admit(key, chat, constraints, count=count)
        except RequestError as exc:
            if self._on_refusal is not None:
                self._on_refusal(key.id, exc.code or "refused")
            raise

    def _admit(self, key: VirtualKey, chat: ChatRequest, constraints: RoutingConstraints, *, count: bool) -> Admission:
        constraints = _within_allow_lists(key, chat.requested_model, constraints)
        budget = self.tightest_budget(key)
        if budget is not None and budget.left_usd <= 0:
            raise QuotaExceededError(
                f"key {key.name} ({key.id}) has spent its {budget.period.value} budget of ${budget.limit_usd:.2f} "
                f"(${budget.spent_usd:.4f} used); it resets at the start of the next UTC {budget.period.value}.",
                code="insufficient_quota")
        headers = self._count_request(key, chat.prompt_tokens_estimate, count=count)
        return Admission(key.id, constraints, budget, headers)

    def _window(self, key_id: str, now_s: float) -> _Window:
        start_s = now_s - now_s % self._window_s
        window = self._windows.get(key_id)
        if window is None or window.start_s != start_s:
            window = self._windows[key_id] = _Window(start_s)
        return window

    def _count_request(self, key: VirtualKey, tokens: int, *, count: bool) -> dict[str, str]:
        now_s = self._clock.wall_s()
        window = self._window(key.id, now_s)
        reset_s = window.start_s + self._window_s - now_s
        rpm, tpm = key.policy.rpm, key.policy.tpm
        headers: dict[str, str] = {}
        if rpm is not None:
            headers |= {"x-ratelimit-limit-requests": str(rpm), "x-ratelimit-reset-requests": _reset(reset_s),
                        "x-ratelimit-remaining-requests": str(max(0, rpm - window.requests - int(count)))}
        if tpm is not None:
            headers |= {"x-ratelimit-limit-tokens": str(tpm), "x-ratelimit-reset-tokens": _reset(reset_s),
                        "x-ratelimit-remaining-tokens": str(max(0, tpm - window.tokens - tokens * int(count)))}
        over = None
        if rpm is not None and window.requests >= rpm:
            over = f"{rpm} requests per minute"
        elif tpm is not None and window.tokens + tokens > tpm and window.tokens > 0:
            over = f"{tpm} tokens per minute ({window.tokens} used, this request needs about {tokens})"
        if over is not None and count:
            headers["retry-after"] = str(max(1, math.ceil(reset_s)))
            raise RateLimitedError(f"key {key.name} ({key.id}) is over its limit of {over}; retry in "
                                   f"{headers['retry-after']} s.", retry_after_s=reset_s, headers=headers,
                                   code="rate_limit_exceeded")
        if count:
            window.requests += 1
            window.tokens += tokens
        return headers

    def observe_decision(self, decision: Decision) -> None:
        """Count a finished decision's cost and tokens against its key (a dispatcher observer)."""
        if decision.key_id is None:
            return
        if decision.cost_usd:
            self._add_spend(decision.key_id, decision.cost_usd, decision.created_at)
        if decision.usage:
            used = int(decision.usage.get("prompt_tokens", 0)) + int(decision.usage.get("completion_tokens", 0))
            window = self._window(decision.key_id, self._clock.wall_s())
            window.tokens = max(0, window.tokens + used - int(decision.request.get("prompt_tokens_estimate", 0)))

    def open_voice_session(self, key: VirtualKey | None) -> bool:
        """Take one of the key's concurrent voice sessions; False when all are in use."""
        if key is None:
            return True
        limit = key.policy.max_voice_sessions
        if limit is not None and self._voice_sessions.get(key.id, 0) >= limit:
            if self._on_refusal is not None:
                self._on_refusal(key.id, "voice_session_limit")
            return False
        self._voice_sessions[key.id] = self._voice_sessions.get(key.id, 0) + 1
        return True

    def close_voice_session(self, key: VirtualKey | None) -> None:
        if key is not None and self._voice_sessions.get(key.id, 0) > 0:
            self._voice_sessions[key.id] -= 1


def _within_allow_lists(key: VirtualKey, model: str, constraints: RoutingConstraints) -> RoutingConstraints:
    """403 outside the key's models/profiles; else the constraints with candidates narrowed to them."""
    allowed_models, allowed_profiles = key.policy.models, key.policy.profiles
    may_use = ", ".join([*(allowed_profiles or ["any profile"]), *(allowed_models or ["any model"])])
    is_profile = model.startswith("auto")
    if (is_profile and allowed_profiles is not None and model not in allowed_profiles) or (
        not is_profile and allowed_models is not None and model not in allowed_models
    ):
        raise PermissionDeniedError(f"key {key.name} may not use {model!r}; it may use: {may_use}.",
                                    param="model", code="model_not_allowed")
    if allowed_models is None:
        return constraints
    asked = constraints.models
    outside = [m for m in asked or () if m not in allowed_models]
    if outside:
        raise PermissionDeniedError(f"key {key.name} may not use {outside}; it may use: {may_use}.",
                                    param="routing.models", code="model_not_allowed")
    return replace(constraints, models=tuple(asked if asked is not None else allowed_models))
