"""`GET /openapi.json`: an OpenAPI 3.1 description of every HTTP route voxgate serves.

The schemas come from `server/api_schema` (built from the validators' tables and the decision
dataclasses); this module lays out paths, parameters, statuses and headers. `OPERATIONS` lists
the (method, path) pairs it documents, and a unit test holds it equal to the app's route table.
The realtime WebSocket (`/v1/realtime`) is not HTTP and is described in the README instead.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxgate.core.types import JSONObject
from voxgate.server.admin_schema import RATE_LIMIT_HEADERS, admin_paths, key_schemas
from voxgate.server.api_schema import (
    chat_request_schema,
    decision_schemas,
    error_schema,
    feedback_schema,
    ref,
    routing_header_parameters,
    routing_schema,
)
from voxgate.server.audio_schema import audio_paths, transcription_schemas
from voxgate.server.routes import MAX_DECISIONS_PAGE, MAX_SINCE_S

OPENAPI_VERSION = "3.1.0"
ERROR_STATUSES = {
    "400": "invalid request, or no model meets the constraints (`no_eligible_model`, with `rejections`)",
    "401": "missing, invalid or revoked API key (when keys are configured); admin routes without the admin key",
    "403": "a virtual key asked for a model or profile outside its allow-lists (the message names them)",
    "404": "unknown model, decision or route",
    "405": "method not allowed on this path",
    "413": "request body over `max_body_bytes`",
    "429": "a virtual key's rate limit (`rate_limit_exceeded`, with retry-after) or budget (`insufficient_quota`), "
           "or the model server rate-limited the request and no fallback could answer",
    "502": "every model in the plan failed",
    "503": "models or speech engines still starting (or voice switched off), or the decision log is unavailable",
}
DECISION_HEADERS = {
    "x-voxgate-decision-id": "the routing decision: GET /v1/decisions/{id}",
    "x-voxgate-model": "the model that answered",
    "x-voxgate-mode": "the routing mode used",
}


def _json(schema: JSONObject, description: str, headers: dict[str, str] | None = None) -> JSONObject:
    response: JSONObject = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                               for name, text in headers.items()}
    return response


def _errors(*statuses: str) -> JSONObject:
    return {status: _json(ref("Error"), ERROR_STATUSES[status]) for status in (*statuses, "401", "405")}


def _chat_operation(summary: str, ok: JSONObject, statuses: tuple[str, ...]) -> JSONObject:
    return {
        "summary": summary,
        "parameters": routing_header_parameters(),
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("ChatCompletionRequest")}}},
        "responses": {"200": ok, **_errors(*statuses)},
    }


def _chat_completions() -> JSONObject:
    ok = _json(ref("ChatCompletion"), "the completion; with `stream: true`, server-sent chunks ending in [DONE]",
               {**DECISION_HEADERS, **RATE_LIMIT_HEADERS})
    event = {"type": "object", "required": ["data"],
             "properties": {"data": {"type": "string", "description": "a chat.completion.chunk as JSON, or [DONE]"}}}
    ok["content"]["text/event-stream"] = {"schema": event}
    return _chat_operation("OpenAI chat completions, routed", ok,
                           ("400", "403", "404", "413", "429", "502", "503"))


def _query(name: str, kind: str, maximum: float, description: str) -> JSONObject:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": kind, "minimum": 0, "maximum": maximum}}


def _decision_paths() -> JSONObject:
    decision_id = {"name": "decision_id", "in": "path", "required": True, "schema": {"type": "string"}}
    listing = _json(_list_of(ref("Decision")), "decisions, newest first")
    return {
        "/v1/decisions": {"get": {
            "summary": "the decision log",
            "parameters": [
                _query("since", "number", MAX_SINCE_S, "unix time in seconds"),
                _query("limit", "integer", MAX_DECISIONS_PAGE, "decisions per page (default 100)"),
                {"name": "model", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {"200": listing, **_errors("400", "503")},
        }},
        "/v1/decisions/{decision_id}": {"get": {
            "summary": "one decision, with any feedback", "parameters": [decision_id],
            "responses": {"200": _json(ref("Decision"), "the decision record"), **_errors("404", "503")},
        }},
        "/v1/decisions/{decision_id}/feedback": {"post": {
            "summary": "a quality score for a decision: outcome data for `voxgate train`", "parameters": [decision_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Feedback")}}},
            "responses": {"201": _json(ref("FeedbackStored"), "stored"), **_errors("400", "404", "413", "503")},
        }},
    }


def _audio_paths() -> JSONObject:
    errors = _errors("400", "404", "413", "503")
    return audio_paths(errors, ref("Transcription"))


def _voice_route() -> JSONObject:
    body = {"type": "object", "properties": {"model": {"type": ["string", "null"]}, "routing": ref("Routing")}}
    return {
        "summary": "the routing decision a realtime voice session would get (native-audio models and the "
                   "local chain), nothing opened",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": _json(ref("Decision"), "the decision"),
                      **_errors("400", "403", "404", "413", "429", "503")},
    }


def _list_of(item: JSONObject) -> JSONObject:
    return {"type": "object", "required": ["object", "data"],
            "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": item}}}


def _service_paths() -> JSONObject:
    status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    plain = {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "/v1/models": {"get": {"summary": "catalog models and routing profiles",
                               "responses": {"200": _json(_list_of(ref("Model")), "models"), **_errors()}}},
        "/healthz": {"get": {"summary": "the process is up", "security": [],
                             "responses": {"200": _json(status, "up")}}},
        "/readyz": {"get": {"summary": "models reachable, speech engines loaded; the decision log's state",
                            "security": [],
                            "responses": {"200": _json(ref("Readiness"), "ready"),
                                          "503": _json(ref("Readiness"), "starting, degraded or draining")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": plain, **_errors()}}},
        "/openapi.json": {"get": {"summary": "this document",
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors()}}},
    }


def _response_schemas() -> JSONObject:
    choice = {"type": "object", "properties": {"index": {"type": "integer"}, "message": {"type": "object"},
                                               "finish_reason": {"type": ["string", "null"]}}}
    completion = {"type": "object", "required": ["object", "model", "choices"],
                  "properties": {"id": {"type": "string"}, "object": {"const": "chat.completion"},
                                 "model": {"type": "string"}, "choices": {"type": "array", "items": choice},
                                 "usage": {"type": "object"}}}
    model = {"type": "object", "required": ["id", "object"],
             "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "voxgate": {"type": "object"}}}
    readiness = {"type": "object", "required": ["status"],
                 "properties": {"status": {"enum": ["ready", "starting", "degraded", "failed", "draining"]},
                                "decision_log": {"type": "object"}}}
    stored = {"type": "object", "required": ["decision_id", "score"],
              "properties": {"decision_id": {"type": "string"}, "score": {"type": "number"},
                             "label": {"type": ["string", "null"]}}}
    decisions = decision_schemas()
    decisions["Decision"]["properties"]["feedback"] = {"type": "array", "items": {"type": "object"}}
    return {"ChatCompletion": completion, "Model": model, "Readiness": readiness, "FeedbackStored": stored,
            **decisions}


def build_openapi(model_ids: tuple[str, ...]) -> JSONObject:
    """The whole document (a plain dict, built once per app for its catalog's `model_ids`)."""
    chat = _chat_completions()
    route = _chat_operation("the routing decision for a request, no model called",
                            _json(ref("Decision"), "the decision", DECISION_HEADERS),
                            ("400", "403", "404", "413", "429", "503"))
    bearer = {"type": "http", "scheme": "bearer"}
    azure = {"type": "apiKey", "in": "header", "name": "api-key"}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "voxgate", "version": "1",
                 "description": "OpenAI-compatible model router that explains every choice. Errors use OpenAI's "
                                "shape. The realtime voice API (WebSocket /v1/realtime) is described in the README."},
        "security": [{}, {"bearer": []}, {"azure": []}],
        "paths": {"/v1/chat/completions": {"post": chat}, "/v1/route": {"post": route},
                  "/v1/realtime/route": {"post": _voice_route()},
                  **_audio_paths(), **_decision_paths(), **_service_paths(),
                  **admin_paths(_json, _errors, MAX_SINCE_S)},
        "components": {
            "securitySchemes": {"bearer": bearer, "azure": azure},
            "schemas": {"ChatCompletionRequest": chat_request_schema(model_ids), "Routing": routing_schema(),
                        "Feedback": feedback_schema(), "Error": error_schema(), **_response_schemas(),
                        **key_schemas(model_ids), **transcription_schemas()},
        },
    }


def documented_operations(document: JSONObject) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the document."""
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


async def openapi_json(request: Request) -> Response:
    document: JSONObject = request.app.state.openapi
    return JSONResponse(document)
