"""Prometheus metrics, one registry per app so tests and several apps never collide."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxgate.routing.decision import Decision


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # by area, registered in this order (the order /metrics lists them in)
        self._register_requests_and_decisions()
        self._register_voice_turns()
        self._register_virtual_keys()
        self._register_redis()
        self._register_realtime_sessions()

    def _register_requests_and_decisions(self) -> None:
        """HTTP requests and routing decisions (`observe_decision`, the middleware)."""
        self.requests = Counter(
            "voxgate_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.decisions = Counter(
            "voxgate_decisions", "Routing decisions by chosen model and mode", ["model", "mode"],
            registry=self.registry,
        )
        self.answers = Counter(
            "voxgate_answers", "Finished requests by answering model and outcome", ["model", "outcome"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "voxgate_fallbacks", "Attempts that failed and moved on to the next model", ["model"],
            registry=self.registry,
        )
        self.cascade_stages = Counter(
            "voxgate_cascade_stages", "Cascade stages by model and verdict (accept, escalate, stop)",
            ["model", "action"], registry=self.registry,
        )
        self.request_latency = Histogram(
            "voxgate_request_latency_seconds", "Time from request to the end of the answer", ["route"],
            registry=self.registry,
        )
        self.decision_overhead = Histogram(
            "voxgate_decision_overhead_seconds", "Time spent deciding which model to call",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05), registry=self.registry,
        )

    def _register_voice_turns(self) -> None:
        """Voice turns (`observe_voice_turn`): stage latencies, statuses, prepared replies."""
        self.voice_stage_latency = Histogram(
            "voxgate_voice_stage_latency_seconds",
            "Per voice turn: transcription, first token, first audio, total (speech stopped -> first audio)",
            ["stage"], buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.voice_turns = Counter(
            "voxgate_voice_turns", "Voice responses by final status", ["status"], registry=self.registry
        )
        self.voice_prepared = Counter(
            "voxgate_voice_prepared_replies", "Voice responses by whether their reply was prepared during the "
            "user's pause (used) or not (unprepared)", ["outcome"], registry=self.registry,
        )
        self.voice_prepared_wasted = Counter(
            "voxgate_voice_prepared_wasted", "Prepared replies discarded (speech resumed, the turn asked something "
            "else): their count, streamed LLM tokens and synthesised seconds", ["unit"], registry=self.registry,
        )

    def _register_virtual_keys(self) -> None:
        """Per virtual key: spend, requests, tokens, audio seconds, refusals."""
        self.key_spend = Counter(
            "voxgate_key_spend_usd", "USD spent per virtual key id (at catalog prices; estimated usage included)",
            ["key_id"], registry=self.registry,
        )
        self.key_requests = Counter(
            "voxgate_key_requests", "Finished requests per virtual key id and outcome", ["key_id", "outcome"],
            registry=self.registry,
        )
        self.key_tokens = Counter(
            "voxgate_key_tokens", "Tokens per virtual key id, prompt or completion", ["key_id", "kind"],
            registry=self.registry,
        )
        self.key_audio = Counter(
            "voxgate_key_audio_seconds", "Seconds of audio the speech engines handled per virtual key id, stt or tts",
            ["key_id", "kind"], registry=self.registry,
        )
        self.key_refusals = Counter(
            "voxgate_key_refusals", "Requests refused for a virtual key: rate_limit_exceeded, insufficient_quota, "
            "model_not_allowed, voice_session_limit", ["key_id", "code"], registry=self.registry,
        )

    def _register_redis(self) -> None:
        """The shared Redis the key limits count in (`set_redis_up`)."""
        self.redis_up = Gauge(
            "voxgate_redis_up", "1 while the shared Redis answers; 0 while limits fail open to this replica's counts",
            registry=self.registry,
        )
        self.redis_failures = Counter(
            "voxgate_redis_failures", "Times the shared Redis stopped answering (limits failed open)",
            registry=self.registry,
        )

    def _register_realtime_sessions(self) -> None:
        """Realtime sessions: untranslated dialect events and server-closed sessions."""
        self.realtime_untranslated = Counter(
            "voxgate_realtime_untranslated_events", "Events between a realtime client and a native model of the "
            "other protocol shape with no translation: no_equivalent and unknown (passed unchanged), refused "
            "(a client event answered with an error)", ["outcome"], registry=self.registry,
        )
        self.voice_sessions_ended = Counter(
            "voxgate_voice_sessions_ended", "Realtime sessions the server closed, by reason (slow_client, ...)",
            ["reason"], registry=self.registry,
        )

    def watch_decision_log(self, health: Callable[[], Mapping[str, Any]]) -> None:
        """Export the decision log's own counts (read at each scrape)."""
        self.registry.register(_DecisionLogCollector(health))

    def observe_voice_turn(self, metrics: Mapping[str, Any]) -> None:
        """Called with each `voxgate.turn.metrics` event a realtime session emits."""
        self.voice_turns.labels(str(metrics.get("status"))).inc()
        if "prepared" in metrics:
            self.voice_prepared.labels("used" if metrics["prepared"] else "unprepared").inc()
        for unit, key in (("replies", "prepared_discarded"), ("tokens", "prepared_wasted_tokens"),
                          ("tts_seconds", "prepared_wasted_tts_s")):
            if isinstance(wasted := metrics.get(key), int | float) and wasted > 0:
                self.voice_prepared_wasted.labels(unit).inc(wasted)
        for stage, value_ms in (metrics.get("latency") or {}).items():
            if isinstance(value_ms, int | float):
                self.voice_stage_latency.labels(stage.removesuffix("_ms")).observe(value_ms / 1000)

    def observe_decision(self, decision: Decision) -> None:
        """Called by the dispatcher when a decision is finished."""
        self.decisions.labels(decision.chosen or "none", decision.mode).inc()
        self.answers.labels(decision.answered_by or "none", decision.outcome).inc()
        self.decision_overhead.observe(decision.overhead_us / 1e6)
        for attempt in decision.attempts:
            if attempt.status == "error":
                self.fallbacks.labels(attempt.model).inc()
        if decision.key_id is not None:
            self._observe_key(decision.key_id, decision)
        for stage in (decision.cascade or {}).get("stages") or []:
            self.cascade_stages.labels(str(stage["model"]), str(stage["action"])).inc()

    def _observe_key(self, key_id: str, decision: Decision) -> None:
        self.key_requests.labels(key_id, decision.outcome).inc()
        self.key_spend.labels(key_id).inc(decision.cost_usd or 0.0)
        for kind in ("prompt", "completion"):
            self.key_tokens.labels(key_id, kind).inc(int((decision.usage or {}).get(f"{kind}_tokens", 0)))

    def observe_key_speech(self, key_id: str, stt_s: float, tts_s: float, cost_usd: float) -> None:
        """Called with each voice turn's speech-engine charge (server/speech_spend)."""
        self.key_spend.labels(key_id).inc(cost_usd)
        self.key_audio.labels(key_id, "stt").inc(stt_s)
        self.key_audio.labels(key_id, "tts").inc(tts_s)

    def set_redis_up(self, up: bool) -> None:
        """Called by the counters (server/counters) when Redis fails or comes back."""
        self.redis_up.set(1.0 if up else 0.0)
        if not up:
            self.redis_failures.inc()

    def count_key_refusal(self, key_id: str, code: str) -> None:
        """Called by the key gate (server/limits) for each request it refuses."""
        self.key_refusals.labels(key_id, code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _DecisionLogCollector:
    """`voxgate_decision_log_*`: rows written, queued, lost; failed writes; whether it fails now."""

    def __init__(self, health: Callable[[], Mapping[str, Any]]) -> None:
        self._health = health

    def collect(self) -> Iterator[Any]:
        health = self._health()
        for name, key, text in (
            ("voxgate_decision_log_rows_written", "written", "Decision rows written to the database"),
            ("voxgate_decision_log_rows_lost", "lost", "Decision rows dropped: the database failed too long"),
            ("voxgate_decision_log_write_failures", "write_failures", "Failed attempts to write decision rows"),
        ):
            yield CounterMetricFamily(name, text, value=float(health[key]))
        yield GaugeMetricFamily("voxgate_decision_log_rows_pending", "Decision rows waiting to be written",
                                value=float(health["pending"]))
        yield GaugeMetricFamily("voxgate_decision_log_failing", "1 while the decision log cannot be written",
                                value=1.0 if health["status"] != "ok" else 0.0)


_ROUTE_LABELS = ("/v1/chat/completions", "/v1/route", "/v1/decisions", "/v1/models", "/v1/realtime", "/metrics")


def _route_label(path: str) -> str:
    return next((label for label in _ROUTE_LABELS if path.startswith(label)), "other")


class RequestMetricsMiddleware:
    """Counts HTTP requests by route and status and times them (pure ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started_s = time.perf_counter()
        status = [500]

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        route = _route_label(scope.get("path", ""))
        try:
            await self._app(scope, receive, send_with_status)
        finally:
            self._metrics.requests.labels(route, str(status[0])).inc()
            self._metrics.request_latency.labels(route).observe(time.perf_counter() - started_s)
