"""The ASGI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from voxgate.config import Settings
from voxgate.core.errors import VoxgateError
from voxgate.server import admin, audio_routes, realtime, routes, twilio
from voxgate.server.auth import ApiKeyMiddleware
from voxgate.server.errors import handle_http_error, handle_unexpected, handle_voxgate_error
from voxgate.server.gateway import Gateway
from voxgate.server.metrics import RequestMetricsMiddleware
from voxgate.server.openapi import build_openapi, openapi_json
from voxgate.server.realtime_keys import keyed_realtime_endpoint
from voxgate.server.telemetry import RequestTracingMiddleware


def create_app(settings: Settings, gateway: Gateway | None = None) -> ASGIApp:
    """Build the app. The gateway (models, router, log) starts and stops with the app's lifespan."""
    gateway = gateway or Gateway(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with gateway.run():
            app.state.gateway = gateway
            yield

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", routes.chat_completions, methods=["POST"]),
            Route("/v1/route", routes.explain_route, methods=["POST"]),
            Route("/v1/realtime/route", realtime.explain_session_route, methods=["POST"]),
            Route("/v1/audio/transcriptions", audio_routes.transcriptions, methods=["POST"]),
            Route("/v1/audio/speech", audio_routes.speech, methods=["POST"]),
            Route("/v1/decisions", routes.list_decisions, methods=["GET"]),
            Route("/v1/decisions/{decision_id}", routes.get_decision, methods=["GET"]),
            Route("/v1/decisions/{decision_id}/feedback", routes.post_feedback, methods=["POST"]),
            Route("/v1/models", routes.list_models, methods=["GET"]),
            Route("/v1/spend", admin.get_spend, methods=["GET"]),
            Route("/v1/admin/keys", admin.create_key, methods=["POST"]),
            Route("/v1/admin/keys", admin.list_keys, methods=["GET"]),
            Route("/v1/admin/keys/{key_id}", admin.get_key, methods=["GET"]),
            Route("/v1/admin/keys/{key_id}", admin.revoke_key, methods=["DELETE"]),
            Route("/v1/admin/keys/{key_id}/rotate", admin.rotate_key, methods=["POST"]),
            Route("/healthz", routes.healthz, methods=["GET"]),
            Route("/readyz", routes.readyz, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
            WebSocketRoute("/v1/realtime", keyed_realtime_endpoint),
            WebSocketRoute("/openai/realtime", keyed_realtime_endpoint),
            WebSocketRoute("/openai/v1/realtime", keyed_realtime_endpoint),
            WebSocketRoute("/v1/twilio/media-stream", twilio.twilio_media_stream),
        ],
        exception_handlers={
            VoxgateError: handle_voxgate_error,
            HTTPException: handle_http_error,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.openapi = build_openapi(tuple(card.id for card in settings.models))
    keys = ApiKeyMiddleware(app, settings.api_keys, settings.admin_key, gateway.keys)
    counted = RequestMetricsMiddleware(keys, gateway.metrics)
    if not gateway.telemetry.records:
        return counted  # no tracing configured: no no-op span per request
    return RequestTracingMiddleware(counted, gateway.telemetry.tracer)
