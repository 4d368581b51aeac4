"""OpenAI-compatible routes plus voxgate's explain and decision-log endpoints."""

from __future__ import annotations

import re

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from voxgate.core.errors import InvalidRequestError, ModelNotFoundError, VoxgateError
from voxgate.core.types import ChatRequest, JSONObject, RoutingConstraints
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.server.admission import admitted_with_key
from voxgate.server.cascading import cascade_response, cascades, plan_of
from voxgate.server.constraints import PROFILES, parse_constraints
from voxgate.server.errors import NotReadyError, error_body, error_response
from voxgate.server.gateway import Gateway
from voxgate.server.http_io import encode_sse, read_json
from voxgate.server.keys import connection_key, with_key_routing
from voxgate.server.limits import Admission
from voxgate.server.telemetry import annotate_request_span
from voxgate.server.validation import parse_chat_request

MAX_DECISIONS_PAGE = 1000
MAX_LABEL_CHARS = 200
MAX_FEEDBACK_BYTES = 64 * 1024


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _dispatcher(gateway: Gateway) -> Dispatcher:
    if gateway.dispatcher is None:
        detail = f" Start-up failed: {gateway.startup_error}" if gateway.startup_error else ""
        raise NotReadyError(
            "voxgate is still starting its models; poll GET /readyz until it returns 200." + detail,
            code="not_ready",
        )
    return gateway.dispatcher


async def _parse(request: Request, gateway: Gateway) -> tuple[ChatRequest, RoutingConstraints]:
    body = await read_json(request, gateway.settings.max_body_bytes)
    routing = with_key_routing(connection_key(request), body.pop("routing", None))
    chat = parse_chat_request(body, gateway.settings.tools.shortlist)
    model = chat.requested_model
    if model not in PROFILES and gateway.settings.model(model) is None:
        known = ", ".join([*PROFILES, *(c.id for c in gateway.cards)])
        raise ModelNotFoundError(
            f"The model {model!r} does not exist in this voxgate catalog. Use one of: {known}.",
            param="model",
            code="model_not_found",
        )
    constraints = parse_constraints(
        model, routing, request.headers, gateway.settings.default_mode, chat.user
    )
    return chat, constraints


def _decision_headers(decision: Decision, model_id: str | None) -> dict[str, str]:
    return {
        "x-voxgate-decision-id": decision.id,
        "x-voxgate-model": model_id or "",
        "x-voxgate-mode": decision.mode,
    }


async def _admitted(
    request: Request, gateway: Gateway, *, count: bool = True
) -> tuple[ChatRequest, Admission, Decision]:
    """Parse, admit under the caller's virtual key (server/limits: 403/429; its tokens reserved), route
    (server/admission: one round trip to the counters); the admission (the constraints the key leaves,
    the rate-limit headers) and the decision."""
    key = connection_key(request)
    chat, constraints = await _parse(request, gateway)
    if key is not None and count:
        admission, decision = await admitted_with_key(gateway, key, chat, constraints)
    else:
        admission = await gateway.key_gate.admit(key, chat, constraints, count=count)
        decision = await gateway.decide(chat, admission.constraints, chat.requested_model, admission.budget,
                                        count=count)
    decision.key_id = admission.key_id
    annotate_request_span(decision, admission.constraints.strategy.value)
    return chat, admission, decision


async def chat_completions(request: Request) -> Response:
    gateway = _gateway(request)
    dispatcher = _dispatcher(gateway)
    chat, admission, decision = await _admitted(request, gateway)
    constraints, limit_headers = admission.constraints, admission.headers
    if gateway.settings.log_content:
        decision.content = {"prompt": chat.prompt_text}
    if cascades(chat, constraints) and gateway.cascade is not None:
        headers = {**_decision_headers(decision, None), **limit_headers}
        answer = await cascade_response(request, gateway, gateway.cascade, chat, constraints, decision, headers)
        answer.background = await _usage_written(gateway, admission, decision)
        return answer
    try:
        if chat.stream:
            chunks = await dispatcher.open_stream(chat, decision)
        else:
            response = await dispatcher.complete(chat, decision)
    except VoxgateError as exc:
        return error_response(exc, headers={**_decision_headers(decision, decision.answered_by), **limit_headers})
    gateway.router.remember_answer(decision.constraints["session_id"], decision.answered_by or "")
    headers = {**_decision_headers(decision, decision.answered_by), **limit_headers}
    if chat.stream:
        if decision.key_id is not None:
            chunks = gateway.key_gate.settled_stream(chunks, admission, decision)
        return StreamingResponse(encode_sse(chunks), media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"},
                                 background=_usage_written_after(gateway, decision))
    return JSONResponse(response, headers=headers, background=await _usage_written(gateway, admission, decision))


async def _usage_written(gateway: Gateway, admission: Admission, decision: Decision) -> BackgroundTask | None:
    """A keyed request's usage goes to the counters after its answer, as the response's background
    task; before it, here, when it nearly uses up a budget (`KeyGate.settles_first`)."""
    if decision.key_id is not None and gateway.key_gate.settles_first(admission, decision.cost_usd):
        await gateway.key_gate.flush()
    return _usage_written_after(gateway, decision)


def _usage_written_after(gateway: Gateway, decision: Decision) -> BackgroundTask | None:
    """A keyed request's usage, or one's under per-model rate limits, written after its answer (one batch)."""
    if decision.key_id is None and not gateway.model_limits.limited:
        return None
    return BackgroundTask(gateway.key_gate.flush)


async def explain_route(request: Request) -> Response:
    """POST /v1/route: the decision for a request, without calling any model."""
    gateway = _gateway(request)
    _dispatcher(gateway)
    chat, admission, decision = await _admitted(request, gateway, count=False)
    decision.outcome = "explained"
    if cascades(chat, admission.constraints):
        plan_of(gateway, chat, decision, admission.constraints)
    return JSONResponse(decision.to_dict(), headers=_decision_headers(decision, decision.chosen))


async def get_decision(request: Request) -> Response:
    decision_id = request.path_params["decision_id"]
    found = await _gateway(request).decision_log.get(decision_id)
    if found is None:
        return _decision_not_found(decision_id)
    return JSONResponse(found)


async def post_feedback(request: Request) -> Response:
    """POST /v1/decisions/{id}/feedback {"score": 0..1, "label": "..."}: outcome data for training."""
    gateway = _gateway(request)
    body = await read_json(request, MAX_FEEDBACK_BYTES)
    score = body.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise InvalidRequestError("`score` must be a number between 0 (bad answer) and 1 (good answer).", param="score")
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL_CHARS):
        raise InvalidRequestError(f"`label` must be a string of at most {MAX_LABEL_CHARS} characters.", param="label")
    unknown = sorted(set(body) - {"score", "label"})
    if unknown:
        raise InvalidRequestError(f"unknown fields {unknown}; send only score and label.", param=unknown[0])
    decision_id = request.path_params["decision_id"]
    stored = await gateway.decision_log.add_feedback(decision_id, gateway.clock.wall_s(), float(score), label)
    if not stored:
        return _decision_not_found(decision_id)
    return JSONResponse({"decision_id": decision_id, "score": float(score), "label": label}, status_code=201)


def _decision_not_found(decision_id: str) -> JSONResponse:
    body = error_body(
        f"no decision {decision_id!r}: ids come from the x-voxgate-decision-id response header",
        "invalid_request_error", "decision_id", "decision_not_found",
    )
    return JSONResponse(body, status_code=404)


QUERY_NUMBER_PATTERN = r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
QUERY_INTEGER_PATTERN = r"[0-9]{1,9}"
MAX_SINCE_S = 1e12


def _query_number(request: Request, name: str, default: float, maximum: float, *, integer: bool = False) -> float:
    """A query parameter as a number in [0, maximum]; the patterns are the ones /openapi.json publishes."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    pattern = QUERY_INTEGER_PATTERN if integer else QUERY_NUMBER_PATTERN
    kind = "a whole number" if integer else "a number"
    if not re.fullmatch(pattern, raw) or not float(raw) <= maximum:
        raise InvalidRequestError(f"query parameter {name} must be {kind} between 0 and {maximum:g}", param=name)
    return float(raw)


async def list_decisions(request: Request) -> Response:
    since = _query_number(request, "since", 0.0, MAX_SINCE_S)
    limit = int(_query_number(request, "limit", 100, MAX_DECISIONS_PAGE, integer=True))
    model = request.query_params.get("model")
    decisions = await _gateway(request).decision_log.query(since=since, model=model, limit=limit)
    return JSONResponse({"object": "list", "data": decisions})


def _model_entry(gateway: Gateway, model_id: str) -> JSONObject:
    card = next(c for c in gateway.cards if c.id == model_id)
    latency = gateway.stats.snapshot(card.id)
    return {
        "id": card.id,
        "object": "model",
        "created": 0,
        "owned_by": "voxgate-local" if card.is_embedded else "voxgate",
        "voxgate": {
            "capabilities": sorted(c.value for c in card.capabilities),
            "context_window": card.context_window,
            "price": {"input_per_mtok": card.price.input_per_mtok, "output_per_mtok": card.price.output_per_mtok},
            "locality": card.locality.value,
            "quality_prior": card.quality_hint,
            "health": gateway.breakers.open_reason(card.id) or ("ok" if gateway.ready.is_set() else "starting"),
            "ttft_ms": round(latency.ttft_ms, 1) if latency else None,
            "tokens_per_s": round(latency.tokens_per_s, 1) if latency else None,
            "local_server": card.base_url if card.is_embedded else None,
        },
    }


async def list_models(request: Request) -> Response:
    gateway = _gateway(request)
    models = [_model_entry(gateway, c.id) for c in gateway.cards]
    profiles = [
        {"id": p, "object": "model", "created": 0, "owned_by": "voxgate-router",
         "voxgate": {"profile": True}}
        for p in PROFILES
    ]
    return JSONResponse({"object": "list", "data": models + profiles})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 once every model is reachable and the speech engines are loaded, else 503.

    `decision_log` reports the log's state; a failing log makes the status `degraded` but not
    503: requests are still served (the rows wait in memory, see store/sqlite.py).
    """
    gateway = _gateway(request)
    decision_log = gateway.decision_log.health()
    if gateway.draining.is_set():
        return JSONResponse({"status": "draining", "decision_log": decision_log}, status_code=503)
    if gateway.ready.is_set():
        status = "ready" if decision_log["status"] == "ok" else "degraded"
        return JSONResponse({"status": status, "models": [c.id for c in gateway.cards], "decision_log": decision_log})
    status = "failed" if gateway.startup_error else ("degraded" if gateway.dispatcher else "starting")
    body = {"status": status, "error": gateway.startup_error, "unreachable": gateway.unreachable,
            "decision_log": decision_log}
    return JSONResponse(body, status_code=503)


async def metrics(request: Request) -> Response:
    return Response(_gateway(request).metrics.render(), media_type="text/plain; version=0.0.4")
