"""OpenTelemetry for the server: the tracer the settings ask for, and one trace per HTTP request.

    telemetry = Telemetry.from_settings(settings.telemetry)   # NoOpTracer without `otlp_endpoint`
    app = RequestTracingMiddleware(app, telemetry.tracer)
    ...
    await telemetry.shutdown()                                  # flushes the spans still batched

With `telemetry.otlp_endpoint` set, spans go through the SDK's `BatchSpanProcessor` (its own
thread; the event loop never waits on the collector) to an OTLP/HTTP protobuf exporter. Without
it the tracer is `NoOpTracer`: no provider, no thread, no export.

A request's trace (`POST /v1/chat/completions`, kind SERVER) holds `voxgate.route` (the
decision: `Gateway.decide`), one `chat <model>` span per upstream attempt (`routing/tracing`)
and, for a cascade, one `cascade stage <model>` per stage with its attempt inside. A voice turn
is its own trace (`voice/realtime/turn_trace`). Health probes and `/metrics` are not traced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NoOpTracer, SpanKind, Status, StatusCode, Tracer, get_current_span, use_span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxgate.config import TelemetrySettings
from voxgate.routing.decision import Decision
from voxgate.routing.tracing import DECISION_ID, OPERATION, REQUEST_MODEL, STRATEGY

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
SERVER_ERROR_STATUS = 500


@dataclass
class Telemetry:
    """The process's tracer and, when it exports, the provider that owns the export thread."""

    tracer: Tracer = field(default_factory=NoOpTracer)
    provider: TracerProvider | None = None

    @classmethod
    def from_settings(cls, settings: TelemetrySettings) -> Telemetry:
        url = settings.traces_url
        if url is None:
            return cls()
        exporter = OTLPSpanExporter(endpoint=url, timeout=settings.export_timeout_s)
        return cls.with_processor(settings.service_name, BatchSpanProcessor(exporter))

    @classmethod
    def with_processor(cls, service_name: str, processor: SpanProcessor) -> Telemetry:
        """A recording tracer whose spans go to `processor` (tests pass the SDK's in-memory exporter)."""
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(processor)
        return cls(provider.get_tracer("voxgate"), provider)

    @property
    def records(self) -> bool:
        """False for the no-op tracer: no span is ever recorded, so no request needs one."""
        return not isinstance(self.tracer, NoOpTracer)

    async def shutdown(self) -> None:
        """Export what is still batched and stop the export thread (bounded by the export timeout)."""
        if self.provider is not None:
            await asyncio.to_thread(self.provider.shutdown)


class RequestTracingMiddleware:
    """One SERVER span per HTTP request, current while the route and its response body run."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self._app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self._app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        span = self._tracer.start_span(f"{method} {path}", kind=SpanKind.SERVER)
        if span.is_recording():
            span.set_attributes({"http.request.method": method, "url.path": path, "url.scheme": scope["scheme"]})

        async def traced_send(message: Message) -> None:
            if message["type"] == "http.response.start" and span.is_recording():
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                if status >= SERVER_ERROR_STATUS:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        with use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            await self._app(scope, receive, traced_send)


def annotate_request_span(decision: Decision, strategy: str) -> None:
    """Name the request span's decision: `voxgate.decision_id`, `voxgate.strategy`, the model or profile asked."""
    span = get_current_span()
    if span.is_recording():
        span.set_attributes({OPERATION: "chat", REQUEST_MODEL: decision.profile, DECISION_ID: decision.id,
                             STRATEGY: strategy})
        if decision.key_id is not None:
            span.set_attribute("voxgate.key_id", decision.key_id)  # the key's id, never the key
