"""Voice sessions and native-audio models: the session's routing decision, and a session proxied to the winner.

With a native-audio model in the catalog (`backend: openai-realtime` or `gemini-live`: the latter's
session is translated by `voice.native.gemini_live`), a realtime session is routed
at its handshake (`Router.decide_voice_session`): the session's `model` names one, or `auto` ranks
every native model and voxgate's own chain (each text model behind STT and TTS) under the session's
constraints (`voice.max_latency_ms`, `x-voxgate-*` headers: max_cost_usd, local_only, ...). A
virtual key is admitted once for the session (allow-lists, budget). The decision is in the log
(`GET /v1/decisions/{id}`, `voxgate route --voice` explains one without connecting):

- a native model won: `open_native_upstream` opens its realtime socket in the shape it speaks (the
  card's `realtime_dialect`; a client of the other shape is translated: `voice.native.dialect_socket`;
  a model that fails at session start falls back along the decision's plan, to another native
  model or the chain, the reason in the decision), and `run_native_session` runs the voice layer's `NativeSessionProxy`;
  when the session ends the decision is finished with the model's reported usage and its cost
  (budgets and spend count it) and one attempt (ok, or failed and why);
- the chain won: the decision is recorded with outcome `chain`, and the session runs as before,
  each turn routed on its own.

Without native models nothing changes: no session decision, the chain as before. Failures reach the
client as an `error` event (`upstream_auth_failed`, `upstream_unavailable`, `upstream_closed`,
`upstream_error`, `upstream_protocol_error`, `upstream_going_away`), then close 1014 (`server.errors`).
"""

from __future__ import annotations

import logging

import anyio
from starlette.websockets import WebSocket

from voxgate.backends.realtime_upstream import (
    RealtimeUpstream,
    gemini_target,
    open_realtime_upstream,
    realtime_target,
)
from voxgate.core.errors import BackendError, BackendStatusError, SessionEndedError, UpstreamSessionError
from voxgate.core.keys import VirtualKey
from voxgate.core.types import ModelCard, RealtimeDialect, RoutingConstraints
from voxgate.routing.decision import Attempt, Decision
from voxgate.server.gateway import Gateway
from voxgate.server.validation import parse_chat_request
from voxgate.voice.native.dialect_socket import DialectSocket
from voxgate.voice.native.gemini_live import GeminiLiveSocket
from voxgate.voice.native.proxy import NativeSessionProxy, ProxyOptions, UpstreamSocket
from voxgate.voice.realtime.protocol import error_event
from voxgate.voice.realtime.transport import RealtimeTransport

log = logging.getLogger("voxgate.realtime")
CHAIN_OVERHEAD_MS = 400.0
"""What voxgate's chain adds to its LLM's first tokens before audio (Whisper base on a short turn,
Piper's first piece): the README's quiet-machine voice-to-voice p50 of 0.56 s (bench/voice_latency.py)
less the bundled models' first-token priors. The chain's latency prior in the session decision."""
_SESSION_PROMPT = "(a voice session)"


def routes_sessions(gateway: Gateway, profile: str) -> bool:
    """Whether a session under `profile` gets a session decision: native models exist and the profile
    is `auto...` or names one of them."""
    native = [c for c in gateway.cards if c.is_native_audio]
    return bool(native) and (profile.startswith("auto") or any(c.id == profile for c in native))


async def decide_session(gateway: Gateway, profile: str, constraints: RoutingConstraints,
                         key: VirtualKey | None, *, count: bool = True) -> Decision:
    """The session's decision under the key's allow-lists and budget; raises NoEligibleModelError."""
    chat = parse_chat_request({"model": profile, "messages": [{"role": "user", "content": _SESSION_PROMPT}]})
    admission = await gateway.key_gate.admit(key, chat, constraints, count=count, reserve=False)
    decision = gateway.router.decide_voice_session(
        admission.constraints, profile, chain_available=gateway.voice is not None,
        chain_overhead_ms=CHAIN_OVERHEAD_MS)
    decision.key_id = admission.key_id
    return decision


def chosen_native(gateway: Gateway, decision: Decision) -> ModelCard | None:
    card = next((c for c in gateway.cards if c.id == decision.chosen), None)
    return card if card is not None and card.is_native_audio else None


def record_chain(gateway: Gateway, decision: Decision) -> None:
    """The chain won: the session's decision goes to the log; each turn is routed on its own."""
    assert gateway.dispatcher is not None
    gateway.dispatcher.finish(decision, "chain")


async def open_native_upstream(websocket: WebSocket, gateway: Gateway, decision: Decision, *,
                               beta: bool) -> tuple[ModelCard, RealtimeUpstream] | None:
    """Open the chosen native model's socket. A model that fails at session start (refused, unreachable)
    falls back along the decision's plan: each failure is an attempt, and `reason` says who fell back
    to whom and why. None: the plan reached voxgate's chain, which serves the session. When every
    candidate failed, the client gets the last failure's `error` event and UpstreamSessionError is raised."""
    failed: tuple[str, str, str] | None = None  # model, code, message
    for model_id in [decision.chosen, *decision.fallback_plan]:
        card = next((c for c in gateway.cards if c.id == model_id), None)
        if card is not None and not card.is_native_audio:
            _note_fallback(decision, failed, f"voxgate's chain ({card.id})")
            return None
        if card is None:
            continue
        try:
            upstream = await _open_upstream(gateway, decision, card, beta=beta)
        except BackendError as exc:
            refused = isinstance(exc, BackendStatusError) and exc.status in (401, 403)
            failed = (card.id, "upstream_auth_failed" if refused else "upstream_unavailable", exc.message)
            continue
        _note_fallback(decision, failed, card.id)
        return card, upstream
    assert failed is not None
    assert gateway.dispatcher is not None
    gateway.dispatcher.finish(decision, "failed")
    message = f"the native-audio model {failed[0]} could not be reached: {failed[2]}"
    await websocket.send_json(error_event("event_upstream", failed[1], message, error_type="server_error"))
    raise UpstreamSessionError(message, code=failed[1])


def _note_fallback(decision: Decision, failed: tuple[str, str, str] | None, to: str) -> None:
    if failed is not None:
        decision.reason += f"; fell back to {to}: {failed[0]} failed at session start ({failed[1]})"


async def run_native_session(transport: RealtimeTransport, gateway: Gateway, decision: Decision, card: ModelCard,
                             upstream: RealtimeUpstream, *, beta: bool, extension_events: bool) -> None:
    """Proxy the session to `card`'s model over its open `upstream`; raises SessionEndedError when it
    must close (see the module)."""
    started_s = gateway.clock.monotonic_s()
    voice = gateway.settings.voice
    options = ProxyOptions(decision.id, card.id, max_session_s=voice.max_session_s,
                           max_append_bytes=voice.max_append_bytes, extension_events=extension_events)
    socket = _client_socket(upstream, card, beta=beta)
    proxy = NativeSessionProxy(socket, options, clock=gateway.clock,
                               on_turn_metrics=gateway.metrics.observe_voice_turn,
                               on_first_audio=lambda ms: gateway.stats.observe(card.id, ms, None),
                               shutdown=gateway.draining)
    attempt = Attempt(card.id, "ok", 0.0)
    try:
        await proxy.run(transport)
    except UpstreamSessionError as exc:
        attempt = Attempt(card.id, "error", 0.0, error=exc.code, retryable=False)
        gateway.breakers.record_failure(card.id)
        raise
    except SessionEndedError as exc:
        attempt = Attempt(card.id, "ok", 0.0, error=exc.code)
        raise
    finally:
        with anyio.CancelScope(shield=True):
            await upstream.aclose()
        attempt.latency_ms = round((gateway.clock.monotonic_s() - started_s) * 1000, 1)
        _finish(gateway, decision, attempt, proxy.turns.usage, proxy.turns.responses)
        if isinstance(socket, DialectSocket):
            _report_translation(gateway, card, socket)


def _client_socket(upstream: RealtimeUpstream, card: ModelCard, *, beta: bool) -> UpstreamSocket:
    """The upstream as the proxy sees it: in the client's shape (Gemini translated; an OpenAI-realtime
    model of the other shape translated by `DialectSocket`)."""
    if card.backend == "gemini-live":
        return GeminiLiveSocket(upstream, api_model=card.upstream_model, model_id=card.id, beta=beta)
    client = RealtimeDialect.BETA if beta else RealtimeDialect.GA
    upstream_dialect = card.realtime_dialect or RealtimeDialect.GA
    if client is upstream_dialect:
        return upstream
    return DialectSocket(upstream, client=client, upstream_dialect=upstream_dialect)


def _report_translation(gateway: Gateway, card: ModelCard, socket: DialectSocket) -> None:
    """Events that crossed the shapes untranslated: counted in metrics, their types (never content) logged."""
    for (outcome, _kind), count in socket.counts.items():
        gateway.metrics.realtime_untranslated.labels(outcome).inc(count)
    if socket.counts:
        log.info("realtime session with %s: events without a translation: %s", card.id,
                 ", ".join(f"{outcome} {kind} x{count}" for (outcome, kind), count in sorted(socket.counts.items())))


async def _open_upstream(gateway: Gateway, decision: Decision, card: ModelCard, *, beta: bool) -> RealtimeUpstream:
    """`card`'s socket; a failure is recorded (attempt, breaker) and raised as its BackendError."""
    key = gateway.settings.upstream_api_keys.get(card.id)
    target = gemini_target(card, key) if card.backend == "gemini-live" else realtime_target(card, key)
    started_s = gateway.clock.monotonic_s()
    try:
        return await open_realtime_upstream(target, open_timeout_s=gateway.settings.connect_timeout_s,
                                            model_id=card.id)
    except BackendError as exc:
        elapsed_ms = round((gateway.clock.monotonic_s() - started_s) * 1000, 1)
        decision.attempts.append(Attempt(card.id, "error", elapsed_ms, error=exc.message, retryable=exc.retryable))
        gateway.breakers.record_failure(card.id)
        log.warning("native-audio model %s refused a session: %s", card.id, type(exc).__name__)
        raise


def _finish(gateway: Gateway, decision: Decision, attempt: Attempt, usage: tuple[int, int], responses: int) -> None:
    decision.attempts.append(attempt)
    decision.answered_by = attempt.model
    decision.usage = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "responses": responses}
    if attempt.status == "ok":
        gateway.breakers.record_success(attempt.model)
    assert gateway.dispatcher is not None
    gateway.dispatcher.finish(decision, "ok" if attempt.status == "ok" else "failed")
