"""A chat request under a virtual key, admitted and routed with one round trip to the counters.

The body is parsed first: the admission reserves the request's tokens (its prompt estimate plus
max_tokens, `counters.reserved_tokens`), so it needs them. Then
- without per-model rate limits, the key's admission (`KeyGate.count_request`) runs beside
  routing, so the round trip adds no latency of its own (before it, with in-process counters:
  no round trip, so no task either);
- with them, routing goes first (models seen full by the last admission ruled out,
  `ModelLimits.full_now`), and the key's window and the chosen model's are checked and taken in
  the same round trip; a model found full meanwhile takes nothing and `auto` routes again.
A refused request (429: the key's RPM, TPM or budget) took nothing; a request no model can serve
gives back what it took. Near a budget the request is routed again with it (the policy prefers
cheaper models); a different model chosen then moves the model's count.
"""

from __future__ import annotations

import asyncio

from voxgate.core.errors import RateLimitedError, VoxgateError
from voxgate.core.keys import VirtualKey
from voxgate.core.types import ChatRequest, RoutingConstraints
from voxgate.routing.decision import Decision
from voxgate.routing.policy import NEAR_BUDGET_FRACTION
from voxgate.server.counters import reserved_tokens
from voxgate.server.gateway import Gateway
from voxgate.server.limits import Admission, CountedRequest

Counted = tuple[CountedRequest | None, Decision | None, VoxgateError | None]


async def admitted_with_key(gateway: Gateway, key: VirtualKey, chat: ChatRequest, constraints: RoutingConstraints
                            ) -> tuple[Admission, Decision]:
    """The admission (429 past a rate or budget; 403 outside the key's lists) and the decision."""
    constraints = gateway.key_gate.allowed(key, chat, constraints)
    tokens = reserved_tokens(chat.prompt_tokens_estimate, chat.max_tokens)
    if gateway.model_limits.limited:
        counted, decision, failure = await _counted_with_model(gateway, key, chat, constraints, tokens)
    else:
        counted, decision, failure = await _counted_beside_routing(gateway, key, chat, constraints, tokens)
    if counted is None:
        assert failure is not None
        raise failure
    admission = gateway.key_gate.judge(key, counted, constraints)
    if failure is not None:
        await gateway.key_gate.give_back(key, counted)
        raise failure
    assert decision is not None
    if admission.budget is not None and admission.budget.left_fraction < NEAR_BUDGET_FRACTION:
        chosen = decision.chosen or ""

        async def moved(model_id: str) -> RateLimitedError | None:
            if model_id == chosen:
                return None
            refused = await gateway.model_limits.take(model_id, tokens)
            if refused is None:
                await gateway.model_limits.give_back(chosen, tokens)
            return refused

        decision = await gateway.decide(chat, constraints, chat.requested_model, admission.budget, admit=moved)
    return admission, decision


async def _counted_beside_routing(gateway: Gateway, key: VirtualKey, chat: ChatRequest,
                                  constraints: RoutingConstraints, tokens: int) -> Counted:
    decision: Decision | None = None
    failure: VoxgateError | None = None
    if gateway.key_gate.counts_in_process:  # no round trip to overlap: no task
        counted = await gateway.key_gate.count_request(key, tokens)
        try:
            decision = await gateway.decide(chat, constraints, chat.requested_model)
        except VoxgateError as exc:
            failure = exc
        return counted, decision, failure
    async with asyncio.TaskGroup() as tasks:
        counting = tasks.create_task(gateway.key_gate.count_request(key, tokens))
        await asyncio.sleep(0)  # let it send its command before routing, which may never yield
        try:
            decision = await gateway.decide(chat, constraints, chat.requested_model)
        except VoxgateError as exc:
            failure = exc
    return counting.result(), decision, failure


async def _counted_with_model(gateway: Gateway, key: VirtualKey, chat: ChatRequest,
                              constraints: RoutingConstraints, tokens: int) -> Counted:
    limits = gateway.model_limits
    counts: list[CountedRequest] = []

    async def admit(model_id: str) -> RateLimitedError | None:
        counted = await gateway.key_gate.count_request(key, tokens, also=limits.window_take(model_id, tokens),
                                                       looks=limits.looks(model_id))
        limits.learn(counted.window_start_s, model_id, counted.admitted.windows[1:])
        counts.append(counted)
        if counted.admitted.over in (None, 0):
            return None  # taken, or the key's own refusal (`judge` raises it)
        requests, tokens_before = counted.admitted.windows[1]
        return limits.refused(model_id, requests, tokens_before, tokens)

    try:
        decision = await gateway.decide(chat, constraints, chat.requested_model, admit=admit)
    except VoxgateError as exc:
        return (counts[-1] if counts else None), None, exc
    return counts[-1], decision, None
