"""A chat completion answered by a cascade: plan, run while watching the client, respond.

Nothing is sent until the cascade has accepted (or kept) an answer: the headers name the stages
tried (`x-voxgate-cascade: smollm2-135m>qwen2.5-coder-1.5b`), then the answer comes as one JSON
body or, for `stream: true`, as chunks. The cascade runs in a task group beside a watch on the
connection: a client that goes away cancels every stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from voxgate.core.errors import VoxgateError
from voxgate.core.types import CascadeOptions, ChatRequest, JSONObject, RoutingConstraints, Strategy
from voxgate.routing.cascade.payloads import completion_chunks
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings
from voxgate.routing.cascade.runner import CascadeRunner, is_tool_call_turn, plan_for_decision
from voxgate.routing.decision import Decision
from voxgate.server.constraints import PROFILES
from voxgate.server.errors import error_response
from voxgate.server.gateway import Gateway
from voxgate.server.http_io import encode_sse

CLIENT_CLOSED_STATUS = 499


def cascades(chat: ChatRequest, constraints: RoutingConstraints) -> bool:
    """A routed request (a profile, not a model id) whose strategy is `cascade`."""
    return constraints.strategy is Strategy.CASCADE and chat.requested_model in PROFILES


def settings_for(defaults: CascadeSettings, options: CascadeOptions | None) -> CascadeSettings:
    """The server's cascade settings with the request's `routing.cascade` fields over them."""
    if options is None:
        return defaults
    return CascadeSettings(
        accept=defaults.accept if options.accept is None else options.accept,
        max_stages=defaults.max_stages if options.max_stages is None else options.max_stages,
        hopeless_below=defaults.hopeless_below,
        models=options.models if options.models is not None else defaults.models,
        middle_cost_share=defaults.middle_cost_share if options.middle_cost_share is None
        else options.middle_cost_share,
    )


def plan_of(gateway: Gateway, chat: ChatRequest, decision: Decision, constraints: RoutingConstraints) -> CascadePlan:
    """The plan for a routed decision; recorded in it (so `POST /v1/route` shows the stages)."""
    settings = settings_for(gateway.cascade_settings, constraints.cascade)
    plan = plan_for_decision(decision, constraints, settings, tool_turn=is_tool_call_turn(chat))
    decision.strategy = Strategy.CASCADE.value
    decision.cascade = {"plan": plan.as_dict()}
    if plan.stages:
        predicted = decision.chosen
        decision.chosen = plan.stages[0].model_id
        decision.fallback_plan = [*plan.models[1:], *plan.fallback]
        decision.reason = f"cascade: {plan.reason} (predict alone would choose {predicted}: {decision.reason})"
    return plan


def cascade_header(decision: Decision) -> str:
    stages = (decision.cascade or {}).get("stages") or []
    return ">".join(str(stage["model"]) for stage in stages)


async def _cancel_on_disconnect(request: Request, job: asyncio.Task[Any]) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            job.cancel()
            return


async def until_disconnected(request: Request, work: Coroutine[Any, Any, JSONObject]) -> JSONObject | None:
    """`work`'s result, or None when the client went away first (then `work` was cancelled)."""
    async with asyncio.TaskGroup() as tasks:
        job = tasks.create_task(work)
        watch = tasks.create_task(_cancel_on_disconnect(request, job))
        job.add_done_callback(lambda _: watch.cancel())
    return None if job.cancelled() else job.result()


async def _chunks(chunks: list[JSONObject]) -> AsyncIterator[JSONObject]:
    for chunk in chunks:
        yield chunk


async def cascade_response(
    request: Request, gateway: Gateway, runner: CascadeRunner, chat: ChatRequest, constraints: RoutingConstraints,
    decision: Decision, headers: dict[str, str],
) -> Response:
    """Run the cascade for `chat` and answer the client (an error in OpenAI's shape if every stage failed)."""
    plan = plan_of(gateway, chat, decision, constraints)
    try:
        response = await until_disconnected(request, runner.complete(chat, decision, plan, constraints))
    except ExceptionGroup as group:
        failure = group.exceptions[0]
        if not isinstance(failure, VoxgateError):
            raise
        tried = {"x-voxgate-model": decision.answered_by or "", "x-voxgate-cascade": cascade_header(decision)}
        return error_response(failure, headers={**headers, **tried})
    if response is None:
        return Response(status_code=CLIENT_CLOSED_STATUS)
    gateway.router.remember_answer(constraints.session_id, decision.answered_by or "")
    headers = {**headers, "x-voxgate-model": decision.answered_by or "", "x-voxgate-strategy": "cascade",
               "x-voxgate-cascade": cascade_header(decision)}
    if chat.stream:
        chunks = completion_chunks(response, chat.include_usage)
        return StreamingResponse(encode_sse(_chunks(chunks)), media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"})
    return JSONResponse(response, headers=headers)
