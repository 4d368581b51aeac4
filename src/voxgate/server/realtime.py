"""The realtime voice WebSocket: `/v1/realtime` (GA events; beta with `OpenAI-Beta: realtime=v1`),
and Azure-style `/openai/realtime` and `/openai/v1/realtime` (`api-key` header). Authentication is
the app's ApiKeyMiddleware, as for every other route.

A voice turn is a routed request: `RoutedReplySource` turns the session's conversation into a chat
completion body, validates it like any HTTP request, routes it with the session's latency budget
(`voice.max_latency_ms`, `voice.mode`, or a profile/`x-voxgate-*` headers on the handshake) and
streams it through the dispatcher, with fallback. Close codes come from `server.errors`.

voxgate's extension event `voxgate.turn.metrics` goes to clients unless the URL says
`voxgate_events=off`, or the handshake's User-Agent is the openai-agents SDK (`Agents/Python ...`),
which validates every server event against OpenAI's schema and reports unknown ones as errors
(`voxgate_events=on` sends them anyway). Server-side metrics are recorded either way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from voxgate.core.errors import (
    BackendProtocolError,
    NoEligibleModelError,
    RequestError,
    SessionEndedError,
    VoxgateError,
)
from voxgate.core.keys import BudgetStatus, VirtualKey
from voxgate.core.priority import voice_priority
from voxgate.core.types import ChatRequest, JSONObject, Mode, RoutingConstraints, Strategy, Usage
from voxgate.routing.cascade.streamed import asks_a_question, first_sentence_plan
from voxgate.routing.decision import Decision
from voxgate.server.cascading import cascade_header, settings_for
from voxgate.server.constraints import PROFILES, parse_constraints
from voxgate.server.errors import (
    WS_CLOSE_INTERNAL_ERROR,
    WS_CLOSE_NO_ELIGIBLE_MODEL,
    WS_CLOSE_NORMAL,
    WS_CLOSE_POLICY_VIOLATION,
    WS_CLOSE_TRY_AGAIN_LATER,
    realtime_close_code,
)
from voxgate.server.gateway import Gateway
from voxgate.server.http_io import read_json
from voxgate.server.keys import connection_key
from voxgate.server.native_audio import (
    chosen_native,
    decide_session,
    open_native_upstream,
    record_chain,
    routes_sessions,
    run_native_session,
)
from voxgate.server.speech_spend import SpeechBilling
from voxgate.server.validation import parse_chat_request
from voxgate.voice.engines.metering import metered_engines
from voxgate.voice.realtime.protocol import error_event
from voxgate.voice.realtime.reply import (
    ROUTED_BEST_BELOW_FLOOR,
    ROUTED_FASTEST_OVER_BUDGET,
    ROUTED_QUALITY_OVER_BUDGET,
    ROUTED_WITHIN_BOTH,
    ROUTED_WITHIN_BUDGET,
    ReplyEvent,
    ReplyFinished,
    ReplyRequest,
    ReplyRouted,
    ReplyText,
    ReplyToolCall,
)
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

log = logging.getLogger("voxgate.realtime")


class RoutedReplySource:
    """ReplySource backed by the gateway's router and dispatcher."""

    def __init__(self, gateway: Gateway, constraints: RoutingConstraints, profile: str,
                 key: VirtualKey | None = None) -> None:
        self._gateway = gateway
        self._constraints = constraints
        self._profile = profile
        self._key = key

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        body: JSONObject = {"model": self._profile, "messages": request.messages, "stream": True,
                            "max_tokens": request.max_tokens}
        if request.tools:
            body.update(tools=request.tools, tool_choice=request.tool_choice or "auto")
        if request.temperature is not None:
            body["temperature"] = request.temperature
        chat = parse_chat_request(body, self._gateway.settings.tools.shortlist)
        constraints = replace(self._constraints, session_id=self._constraints.session_id or request.session_id)
        admission = await self._gateway.key_gate.admit(self._key, chat, constraints)  # 429/403 end the turn
        decision, routed_by = await self._decide(chat, admission.constraints, admission.budget)
        decision.key_id = admission.key_id
        over_budget = routed_by in (ROUTED_QUALITY_OVER_BUDGET, ROUTED_FASTEST_OVER_BUDGET)
        yield ReplyRouted(decision.id, decision.chosen or "", over_budget, routed_by)
        chunks = await self._open(chat, decision, admission.constraints)
        usage = Usage(0, 0)
        try:
            async for chunk in chunks:
                for event in _reply_events(chunk):
                    yield event
                usage = Usage.from_payload(chunk) or usage
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
            self._gateway.router.remember_answer(constraints.session_id, decision.answered_by or "")
        yield ReplyFinished(decision.answered_by or "", *usage, stages=cascade_header(decision))

    async def _open(
        self, chat: ChatRequest, decision: Decision, constraints: RoutingConstraints
    ) -> AsyncIterator[JSONObject]:
        """The reply's stream: through the first-sentence check when the strategy is `cascade` (profile
        `auto` or `auto:cascade`), `voice.answer_check` is on, the turn asks a question, offers no tools
        and went to a model cheaper than the strongest it may use (`routing.cascade.accept` sets the
        bar); else straight."""
        gateway = self._gateway
        assert gateway.dispatcher is not None
        checked = gateway.settings.voice.answer_check and constraints.strategy is Strategy.CASCADE
        cascade = gateway.voice_cascade if checked else None
        plan = None
        if cascade is not None and not chat.body.get("tools") and asks_a_question(chat.prompt_text):
            settings = settings_for(gateway.cascade_settings, constraints.cascade)
            plan = first_sentence_plan(decision, constraints, settings)
        if cascade is not None and plan is not None:
            return cascade.stream(chat, decision, plan)
        with voice_priority():  # a bundled model's waiting voice calls go before its chat calls
            return await gateway.dispatcher.open_stream(chat, decision)

    async def _decide(
        self, chat: ChatRequest, constraints: RoutingConstraints, budget: BudgetStatus | None = None
    ) -> tuple[Decision, str]:
        """Route within the latency budget and above the quality floor (`voice.min_quality`); when no
        model meets both, the floor wins: an answer late rather than one that can't answer.

        1. both constraints; 2. the floor without the budget (mode `fast`: the quickest model above
        it; metadata `voxgate_over_budget: "true"`); 3. nothing above the floor: the best predicted
        quality (mode `quality`). Without a floor: the budget, then the fastest model. Which one held
        is the turn's `routed_by`. A learned predictor embeds the prompt off the event loop
        (`Gateway.decide`), so other sessions' audio never waits on it.
        """
        floor = constraints.min_quality
        try:
            decision = await self._gateway.decide(chat, constraints, self._profile, budget)
            return decision, ROUTED_WITHIN_BOTH if floor is not None else ROUTED_WITHIN_BUDGET
        except NoEligibleModelError as exc:
            if not _rejected_for(exc, ("latency", "min_quality")):
                raise
        if floor is None:
            relaxed = replace(constraints, max_latency_ms=None, mode=Mode.FAST)
            return await self._gateway.decide(chat, relaxed, self._profile, budget), ROUTED_FASTEST_OVER_BUDGET
        try:
            relaxed = replace(constraints, max_latency_ms=None, mode=Mode.FAST)
            return await self._gateway.decide(chat, relaxed, self._profile, budget), ROUTED_QUALITY_OVER_BUDGET
        except NoEligibleModelError as exc:
            if not _rejected_for(exc, ("min_quality",)):
                raise
        best = replace(constraints, max_latency_ms=None, min_quality=None, mode=Mode.QUALITY)
        return await self._gateway.decide(chat, best, self._profile, budget), ROUTED_BEST_BELOW_FLOOR


def _rejected_for(exc: NoEligibleModelError, constraints: tuple[str, ...]) -> bool:
    """Whether some model was refused only for one of these soft constraints (not a capability)."""
    return any(name in reason for reason in exc.rejections.values() for name in constraints)


def _reply_events(chunk: JSONObject) -> list[ReplyEvent]:
    if "error" in chunk:
        raise BackendProtocolError(str(chunk["error"].get("message", "the model stream failed")))
    events: list[ReplyEvent] = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if delta.get("content"):
            events.append(ReplyText(str(delta["content"])))
        for call in delta.get("tool_calls") or []:
            function = call.get("function") or {}
            events.append(ReplyToolCall(int(call.get("index", 0)), call.get("id"), function.get("name"),
                                        function.get("arguments") or ""))
    return events


def _profile(gateway: Gateway, requested: str | None) -> str:
    """`model` from the URL: a catalog id or routing profile is honoured; anything else means `auto`."""
    if requested and (requested in PROFILES or any(c.id == requested for c in gateway.cards)):
        return requested
    return "auto"


def _constraints(gateway: Gateway, profile: str, headers: Mapping[str, str], routing: Any = None) -> RoutingConstraints:
    voice = gateway.settings.voice
    constraints = parse_constraints(profile, routing, headers, voice.mode)
    if constraints.max_latency_ms is None:
        constraints = replace(constraints, max_latency_ms=voice.max_latency_ms)
    if constraints.min_quality is None:
        constraints = replace(constraints, min_quality=voice.min_quality)
    return constraints


class _WebSocketTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def receive(self) -> str | bytes | None:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def send(self, text: str) -> None:
        """Send one server event; a client that has gone drops it (the reader then ends the session).

        Found by the realtime fuzzer: a client closing while events were going out raised
        WebSocketDisconnect inside the session's task group, logged as a failed session.
        """
        with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
            await self._websocket.send_text(text)


def wants_extension_events(query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    """Whether to send voxgate's own server events (see the module docstring)."""
    choice = query.get("voxgate_events", "").lower()
    if choice in ("on", "1", "true"):
        return True
    if choice in ("off", "0", "false"):
        return False
    return not any(headers.get("user-agent", "").startswith(agent) for agent in _STRICT_SCHEMA_CLIENTS)


_STRICT_SCHEMA_CLIENTS = ("Agents/Python",)


def _limits(gateway: Gateway) -> SessionLimits:
    voice = gateway.settings.voice
    return SessionLimits(max_session_s=voice.max_session_s, max_append_bytes=voice.max_append_bytes,
                         max_buffered_audio_s=voice.max_buffered_audio_s,
                         send_queue_events=voice.send_queue_events, max_output_tokens=voice.max_output_tokens,
                         first_piece_chars=voice.first_piece_chars, backchannels=voice.backchannels,
                         prepare_replies=voice.prepare_replies,
                         partial_transcripts=voice.partial_transcripts,
                         partial_transcript_interval_ms=voice.partial_transcript_interval_ms)


def new_session(gateway: Gateway, profile: str, headers: Mapping[str, str], *, beta: bool,
                extension_events: bool, key: VirtualKey | None = None,
                billing: SpeechBilling | None = None) -> RealtimeSession:
    """A realtime session on the gateway's engines, its replies routed under `profile` and the headers'
    constraints, and charged to the virtual `key` if any: LLM tokens by each turn's decision, speech
    seconds by `billing` after each turn (`server/speech_spend`; the caller charges the rest at the end)."""
    assert gateway.voice is not None
    billing = billing or SpeechBilling(gateway, key)
    replies = RoutedReplySource(gateway, _constraints(gateway, profile, headers), profile, key)
    return RealtimeSession(metered_engines(gateway.voice, billing.meter), replies, _limits(gateway), beta=beta,
                           clock=gateway.clock, on_turn_metrics=billing.after_turn(gateway.metrics.observe_voice_turn),
                           extension_events=extension_events, shutdown=gateway.draining,
                           tracer=gateway.telemetry.tracer)


async def realtime_endpoint(websocket: WebSocket) -> None:
    """One realtime session per connection."""
    gateway: Gateway = websocket.app.state.gateway
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
    profile = _profile(gateway, websocket.query_params.get("model") or websocket.query_params.get("deployment"))
    chain_needed = not routes_sessions(gateway, profile)  # native-audio models need no speech engines here
    if (chain_needed and gateway.voice is None) or gateway.dispatcher is None or not gateway.ready.is_set():
        reason = "voice is disabled" if not gateway.settings.voice.enabled else "voxgate is still starting"
        await websocket.close(WS_CLOSE_TRY_AGAIN_LATER, reason)
        return
    beta = "realtime=v1" in websocket.headers.get("openai-beta", "") or any(
        p.startswith("openai-beta.realtime-v1") for p in offered)
    try:
        await _run_session(websocket, gateway, profile, beta)
    except SessionEndedError as exc:
        gateway.metrics.voice_sessions_ended.labels(exc.code or "ended").inc()
        await _close_ended(websocket, exc)
        return
    except NoEligibleModelError as exc:
        await _refuse(websocket, exc, WS_CLOSE_NO_ELIGIBLE_MODEL)
        return
    except RequestError as exc:  # the virtual key may not open this session (allow-list, budget, rate)
        await _refuse(websocket, exc, WS_CLOSE_POLICY_VIOLATION)
        return
    except WebSocketDisconnect:
        return
    except VoxgateError as exc:
        await _close(websocket, WS_CLOSE_INTERNAL_ERROR, str(exc)[:120])
        return
    except Exception:
        log.exception("realtime session failed")
        await _close(websocket, WS_CLOSE_INTERNAL_ERROR, "internal error")
        return
    await _close(websocket, WS_CLOSE_NORMAL, "")


async def _run_session(websocket: WebSocket, gateway: Gateway, profile: str, beta: bool) -> None:
    """Route the session when native-audio models are candidates (`server.native_audio`), then run
    it: proxied to the native model that won, or on voxgate's chain."""
    extension_events = wants_extension_events(websocket.query_params, websocket.headers)
    key = connection_key(websocket)
    if routes_sessions(gateway, profile):
        decision = await decide_session(gateway, profile, _constraints(gateway, profile, websocket.headers), key)
        opened = None
        if chosen_native(gateway, decision) is not None:
            opened = await open_native_upstream(websocket, gateway, decision, beta=beta)
        if opened is not None:
            await run_native_session(_WebSocketTransport(websocket), gateway, decision, *opened,
                                     beta=beta, extension_events=extension_events)
            return
        record_chain(gateway, decision)
    billing = SpeechBilling(gateway, key)
    session = new_session(gateway, profile, websocket.headers, beta=beta, extension_events=extension_events, key=key,
                          billing=billing)
    try:
        await session.run(_WebSocketTransport(websocket))
    finally:
        billing.charge()  # audio heard after the last turn (a commit the client left without an answer)


async def explain_session_route(request: Request) -> Response:
    """POST /v1/realtime/route {"model": "auto", "routing": {...}}: the decision a voice session under
    these constraints (and the request's `x-voxgate-*` headers and key) would get; nothing is opened."""
    gateway: Gateway = request.app.state.gateway
    body = await read_json(request, MAX_ROUTE_BODY_BYTES)
    requested = body.get("model")
    profile = _profile(gateway, requested if isinstance(requested, str) else None)
    constraints = _constraints(gateway, profile, request.headers, body.get("routing"))
    decision = await decide_session(gateway, profile, constraints, connection_key(request), count=False)
    decision.outcome = "explained"
    return JSONResponse(decision.to_dict())


MAX_ROUTE_BODY_BYTES = 64 * 1024


async def _refuse(websocket: WebSocket, exc: RequestError, code: int) -> None:
    """A session that may not start: an `error` event saying why, then the close."""
    message = exc.message
    if isinstance(exc, NoEligibleModelError):
        message = f"{message} (rejections: {exc.rejections})"
    try:
        await websocket.send_json(error_event("event_refused", exc.code, message[:2000], exc.param))
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    await _close(websocket, code, exc.code or "")


async def _close_ended(websocket: WebSocket, exc: SessionEndedError) -> None:
    code = realtime_close_code(exc)
    log.info("realtime session closed: %s", exc.code)
    if exc.code in ("session_expired", "server_shutting_down"):
        try:
            await websocket.send_json(error_event("event_closing", exc.code, exc.message))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the client is already gone
    await _close(websocket, code, exc.code or "")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):  # the client is already gone
        await websocket.close(code, reason)
