"""The request span (`RequestTracingMiddleware`) and the tracer the settings ask for, over an ASGI app in
memory (httpx's ASGI transport: no sockets)."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracer, SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voxgate.config import TelemetrySettings
from voxgate.server.telemetry import RequestTracingMiddleware, Telemetry


def _app(telemetry: Telemetry) -> httpx.AsyncClient:
    async def work(request: Request) -> Response:
        with telemetry.tracer.start_as_current_span("inner"):
            return JSONResponse({"ok": True})

    async def broken(request: Request) -> Response:
        return JSONResponse({"error": {"message": "down"}}, status_code=503)

    app = Starlette(routes=[Route("/v1/work", work, methods=["POST"]), Route("/v1/broken", broken),
                            Route("/healthz", broken)])
    traced = RequestTracingMiddleware(app, telemetry.tracer)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=traced), base_url="http://gateway")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


async def test_each_request_is_one_server_span_holding_the_route_s_spans(exporter: InMemorySpanExporter) -> None:
    telemetry = Telemetry.with_processor("voxgate-test", SimpleSpanProcessor(exporter))
    async with _app(telemetry) as client:
        assert (await client.post("/v1/work?key=sk-not-in-the-span", json={"q": 1})).status_code == 200
        assert (await client.get("/v1/broken")).status_code == 503
        assert (await client.get("/healthz")).status_code == 503
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["GET /v1/broken", "POST /v1/work", "inner"]
    request = next(s for s in spans if s.name == "POST /v1/work")
    inner = next(s for s in spans if s.name == "inner")
    assert request.kind is SpanKind.SERVER
    assert request.parent is None
    assert inner.parent is not None
    assert inner.parent.span_id == request.context.span_id
    assert inner.context.trace_id == request.context.trace_id
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["url.path"] == "/v1/work"
    assert request.resource.attributes["service.name"] == "voxgate-test"
    assert "sk-not-in-the-span" not in request.to_json()
    broken = next(s for s in spans if s.name == "GET /v1/broken")
    assert broken.status.status_code is StatusCode.ERROR
    assert broken.context.trace_id != request.context.trace_id


async def test_without_an_endpoint_the_tracer_is_a_no_op_with_nothing_to_shut_down() -> None:
    telemetry = Telemetry.from_settings(TelemetrySettings())
    assert isinstance(telemetry.tracer, NoOpTracer)
    assert telemetry.provider is None
    async with _app(telemetry) as client:
        assert (await client.post("/v1/work", json={})).status_code == 200
    await telemetry.shutdown()


async def test_an_endpoint_gets_an_exporting_provider_that_shuts_down() -> None:
    telemetry = Telemetry.from_settings(TelemetrySettings(otlp_endpoint="http://127.0.0.1:9", export_timeout_s=0.5))
    assert telemetry.provider is not None
    assert not isinstance(telemetry.tracer, NoOpTracer)
    await telemetry.shutdown()  # nothing recorded: nothing to send, so no socket is opened
