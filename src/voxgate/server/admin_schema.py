"""The OpenAPI description of `/v1/admin/keys` and `/v1/spend` (`server/admin`), merged into
`/openapi.json` by `server/openapi`. The key spec's schema states what `parse_key_spec` checks."""

from __future__ import annotations

from collections.abc import Callable

from voxgate.core.keys import KEY_NAME_PATTERN, BudgetPeriod
from voxgate.core.types import JSONObject
from voxgate.server.admin import KEY_ID_PATTERN, MAX_BUDGET_USD, MAX_KEY_SPEC_BYTES, MAX_LIMIT
from voxgate.server.api_schema import ref
from voxgate.server.constraints import PROFILES
from voxgate.store.spend import GROUPINGS

ADMIN_SECURITY: list[JSONObject] = [{"bearer": []}]
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "the virtual key's requests per minute",
    "x-ratelimit-remaining-requests": "requests left in this minute",
    "x-ratelimit-reset-requests": "time until the window resets, e.g. 12s",
    "x-ratelimit-limit-tokens": "the virtual key's tokens per minute",
    "x-ratelimit-remaining-tokens": "tokens left in this minute",
    "x-ratelimit-reset-tokens": "time until the window resets, e.g. 12s",
}


def _nullable(schema: JSONObject) -> JSONObject:
    return {"anyOf": [schema, {"type": "null"}]}


def key_spec_schema(model_ids: tuple[str, ...]) -> JSONObject:
    limit = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
    usd = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_BUDGET_USD}
    budget = {"type": "object", "properties": {p.value: usd for p in BudgetPeriod}, "additionalProperties": False}
    return {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "description": f"at most {MAX_KEY_SPEC_BYTES} bytes",
        "properties": {
            "name": {"type": "string", "pattern": KEY_NAME_PATTERN},
            "budget_usd": _nullable({**budget, "description": "USD per UTC day and/or calendar month"}),
            "rpm": _nullable(limit), "tpm": _nullable(limit),
            "max_voice_sessions": _nullable({"type": "integer", "minimum": 0, "maximum": MAX_LIMIT}),
            "models": _nullable({"type": "array", "minItems": 1, "items": {"enum": list(model_ids)}}),
            "profiles": _nullable({"type": "array", "minItems": 1, "items": {"enum": list(PROFILES)}}),
            "routing": _nullable(ref("Routing")),
        },
    }


def key_schemas(model_ids: tuple[str, ...]) -> JSONObject:
    key: JSONObject = {"type": "object", "required": ["id", "object", "name", "active", "spent_usd"],
           "properties": {"id": {"type": "string"}, "object": {"const": "virtual_key"}, "name": {"type": "string"},
                          "active": {"type": "boolean"}, "spent_usd": {"type": "object"}}}
    created = {**key, "required": [*key["required"], "key"],
               "properties": {**key["properties"], "key": {"type": "string", "description": "shown only once"}}}
    spend = {"type": "object", "required": ["object", "group_by", "data"],
             "properties": {"object": {"const": "list"}, "group_by": {"enum": list(GROUPINGS)},
                            "data": {"type": "array", "items": {"type": "object"}}}}
    return {"KeySpec": key_spec_schema(model_ids), "VirtualKey": key, "VirtualKeyWithSecret": created,
            "SpendReport": spend}


def admin_paths(json_response: Callable[[JSONObject, str], JSONObject],
                errors: Callable[..., JSONObject], max_since_s: float) -> JSONObject:
    """The admin and spend operations, laid out with openapi's response helpers."""
    key_id = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": KEY_ID_PATTERN}}
    keys = {"type": "object", "required": ["object", "data"],
            "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": ref("VirtualKey")}}}
    spec = {"required": True, "content": {"application/json": {"schema": ref("KeySpec")}}}
    one = json_response(ref("VirtualKey"), "the key (never its secret)")
    spend_parameters = [
        {"name": "key", "in": "query", "required": False, "schema": {"type": "string", "pattern": KEY_ID_PATTERN},
         "description": "a key id (a virtual key caller always sees only its own spend)"},
        {"name": "model", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "since", "in": "query", "required": False,
         "schema": {"type": "number", "minimum": 0, "maximum": max_since_s}, "description": "unix time in seconds"},
        {"name": "group_by", "in": "query", "required": False, "schema": {"enum": list(GROUPINGS)}},
    ]
    return {
        "/v1/admin/keys": {
            "post": {"summary": "create a virtual key (its secret is in this answer only)", "security": ADMIN_SECURITY,
                     "requestBody": spec, "responses": {
                         "201": json_response(ref("VirtualKeyWithSecret"), "created"), **errors("400", "413")}},
            "get": {"summary": "every virtual key, revoked ones too", "security": ADMIN_SECURITY,
                    "responses": {"200": json_response(keys, "keys"), **errors()}},
        },
        "/v1/admin/keys/{key_id}": {
            "get": {"summary": "one key with its spend", "security": ADMIN_SECURITY, "parameters": [key_id],
                    "responses": {"200": one, **errors("404")}},
            "delete": {"summary": "revoke a key (its spend history stays)", "security": ADMIN_SECURITY,
                       "parameters": [key_id], "responses": {"200": one, **errors("404")}},
        },
        "/v1/admin/keys/{key_id}/rotate": {"post": {
            "summary": "a new secret for a key; the old one stops working", "security": ADMIN_SECURITY,
            "parameters": [key_id],
            "responses": {"200": json_response(ref("VirtualKeyWithSecret"), "rotated"), **errors("404")}}},
        "/v1/spend": {"get": {
            "summary": "spend in USD from the spend table, grouped", "parameters": spend_parameters,
            "responses": {"200": json_response(ref("SpendReport"), "totals, largest first"), **errors("400", "503")}}},
    }
