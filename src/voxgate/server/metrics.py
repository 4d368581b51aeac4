"""Prometheus metrics, one registry per app so tests and several apps never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from voxgate.routing.decision import Decision


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        self.request_latency = Histogram(
            "voxgate_request_latency_seconds", "Time from request to the end of the answer", ["route"],
            registry=self.registry,
        )
        self.decision_overhead = Histogram(
            "voxgate_decision_overhead_seconds", "Time spent deciding which model to call",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05), registry=self.registry,
        )

    def observe_decision(self, decision: Decision) -> None:
        """Called by the dispatcher when a decision is finished."""
        self.decisions.labels(decision.chosen or "none", decision.mode).inc()
        self.answers.labels(decision.answered_by or "none", decision.outcome).inc()
        self.decision_overhead.observe(decision.overhead_us / 1e6)
        for attempt in decision.attempts:
            if attempt.status == "error":
                self.fallbacks.labels(attempt.model).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
