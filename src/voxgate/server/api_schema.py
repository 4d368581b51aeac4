"""JSON Schemas of what the HTTP API accepts and returns, built from the definitions the code uses.

Request schemas come from the validators' own tables (`server/validation`: roles, content parts,
checked parameters; `server/constraints.ROUTING_FIELDS`: the `routing` object and the
`x-voxgate-*` headers); the decision record's schema comes from its dataclasses' type hints. So
`/openapi.json` (`server/openapi`) changes when the code does, and the fuzz tests hold the two
together in both directions: whatever the schema allows is served, whatever it forbids is refused.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from voxgate.core.types import Capability, JSONObject, Mode, Strategy
from voxgate.routing.decision import Attempt, CandidateRecord, Decision
from voxgate.server.constraints import (
    MAX_CASCADE_STAGES,
    MAX_LIST_ITEMS,
    MAX_SESSION_ID_CHARS,
    PROFILES,
    ROUTING_FIELDS,
    RoutingField,
)
from voxgate.server.images import IMAGE_DETAILS, IMAGE_URL_PATTERN
from voxgate.server.routes import MAX_LABEL_CHARS
from voxgate.server.validation import (
    BOOLEAN_PARAMS,
    MAX_MESSAGES,
    MAX_STOP_SEQUENCES,
    NUMBER_PARAMS,
    RESPONSE_FORMATS,
    ROLES,
    ROLES_NEEDING_TEXT,
    STRING_PARAMS,
    TOOL_CHOICES,
    TOOL_NAME_PATTERN,
)

NON_BLANK = r"\S"


def ref(name: str) -> JSONObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: JSONObject) -> JSONObject:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: JSONObject, required: tuple[str, ...] = (), *, closed: bool = False) -> JSONObject:
    schema: JSONObject = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


# --- requests ---------------------------------------------------------------------------------


def _content_parts() -> JSONObject:
    text = _object({"type": {"const": "text"}, "text": {"type": "string"}}, ("type", "text"))
    image_url = _object({"url": {"type": "string", "pattern": IMAGE_URL_PATTERN},
                         "detail": {"enum": list(IMAGE_DETAILS)}}, ("url",))
    image = _object({"type": {"const": "image_url"}, "image_url": image_url}, ("type", "image_url"))
    audio = [
        _object({"type": {"const": kind}, kind: _object({"data": {"type": "string"}}, ("data",))}, ("type", kind))
        for kind in ("input_audio", "audio")
    ]
    return {"anyOf": [text, image, *audio]}


def _message() -> JSONObject:
    parts = _content_parts()
    any_content: JSONObject = {"anyOf": [{"type": "null"}, {"type": "string"}, {"type": "array", "items": parts}]}
    carries_something = {"anyOf": [
        {"type": "string", "pattern": NON_BLANK},
        {"type": "array", "items": parts, "contains": {"anyOf": [
            {"properties": {"type": {"enum": ["image_url", "input_audio", "audio"]}}},
            {"properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": NON_BLANK}}},
        ]}},
    ]}
    common = {
        "tool_calls": {"type": "array", "items": {"type": "object"}},
        "tool_call_id": {"type": "string",
                         "description": "a `tool` message answers an earlier assistant call by its id "
                                        "(otherwise 400 `unknown_tool_call_id`)"},
        "name": {},
    }
    needs_text = _object({"role": {"enum": list(ROLES_NEEDING_TEXT)}, "content": carries_something, **common},
                         ("role", "content"))
    others = [r for r in ROLES if r not in ROLES_NEEDING_TEXT]
    free = _object({"role": {"enum": others}, "content": any_content, **common}, ("role",))
    return {"anyOf": [needs_text, free], "description": f"at most {MAX_MESSAGES} messages"}


def _tools() -> JSONObject:
    parameters = {"type": "object", "description": "a JSON Schema (otherwise 400 `invalid_function_parameters`)"}
    function = _object({"name": {"type": "string", "pattern": TOOL_NAME_PATTERN}, "description": {"type": "string"},
                        "parameters": parameters}, ("name",))
    tool = _object({"type": {"const": "function"}, "function": function}, ("type", "function"))
    return {"type": "array", "items": tool}


def _tool_choice() -> JSONObject:
    named = _object({"type": {"const": "function"}, "function": _object({"name": {"type": "string"}}, ("name",))},
                    ("type", "function"))
    return {"anyOf": [{"enum": list(TOOL_CHOICES)}, named],
            "description": "a named function must be one of `tools` (otherwise 400 `unknown_tool`)"}


def _response_format() -> JSONObject:
    plain = _object({"type": {"enum": [f for f in RESPONSE_FORMATS if f != "json_schema"]}}, ("type",))
    schema = _object({"type": {"const": "json_schema"}, "json_schema": {"type": "object"}}, ("type", "json_schema"))
    return {"anyOf": [plain, schema]}


def _scalar_params() -> JSONObject:
    """OpenAI's scalar parameters; each may be null, as in OpenAI's own spec (the validator skips null)."""
    properties: JSONObject = {}
    for param in NUMBER_PARAMS:
        properties[param.name] = {"type": "integer" if param.integer else "number",
                                  "minimum": param.minimum, "maximum": param.maximum}
    for name in BOOLEAN_PARAMS:
        properties[name] = {"type": "boolean"}
    for name in STRING_PARAMS:
        properties[name] = {"type": "string"}
    properties["stop"] = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"},
                                                         "maxItems": MAX_STOP_SEQUENCES}]}
    properties["stream_options"] = _object({"include_usage": {"type": "boolean"}})
    properties["modalities"] = {"type": "array", "items": {"enum": ["text", "audio"]}}
    return {name: _nullable(schema) for name, schema in properties.items()}


def chat_request_schema(model_ids: tuple[str, ...]) -> JSONObject:
    """`POST /v1/chat/completions` and `/v1/route`: OpenAI's body plus the `routing` extension.

    `model` is one of this server's catalog ids or a routing profile (anything else gets 404).
    """
    properties: JSONObject = {
        "model": {"enum": [*PROFILES, *model_ids], "description": "a routing profile or a catalog model id"},
        "messages": {"type": "array", "minItems": 1, "maxItems": MAX_MESSAGES, "items": _message()},
        **_scalar_params(),
        "tools": _tools(),
        "tool_choice": _tool_choice(),
        "response_format": _response_format(),
        "routing": ref("Routing"),
    }
    schema = _object(properties, ("model", "messages"))
    schema["dependentRequired"] = {"tool_choice": ["tools"]}
    schema["description"] = "Other OpenAI fields pass to the model server unchanged."
    return schema


def _routing_field_schema(field: RoutingField) -> JSONObject:
    if field.kind == "number":
        return {"type": "number", "minimum": 0, "maximum": field.maximum}
    if field.kind == "boolean":
        return {"type": "boolean"}
    if field.kind == "mode":
        return {"enum": [m.value for m in Mode]}
    if field.kind == "strategy":
        return _nullable({"enum": [s.value for s in Strategy]})
    if field.kind == "cascade":
        models = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                  "maxItems": MAX_LIST_ITEMS}
        properties = {"models": _nullable(models), "accept": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
                      "max_stages": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_CASCADE_STAGES}),
                      "agreement": _nullable({"type": "boolean"}),
                      "middle_cost_share": _nullable({"type": "number", "minimum": 0, "maximum": 1})}
        return _nullable(_object(properties, closed=True))
    if field.kind == "string":
        return _nullable({"type": "string", "maxLength": MAX_SESSION_ID_CHARS})
    item: JSONObject = {"enum": [c.value for c in Capability]} if field.kind == "capabilities" else {
        "type": "string", "minLength": 1}
    listed = {"type": "array", "items": item, "maxItems": MAX_LIST_ITEMS}
    return _nullable({"anyOf": [listed, {"type": "string", "pattern": field.header_pattern}]})


def routing_schema() -> JSONObject:
    properties = {f.name: {**_routing_field_schema(f), "description": f.description} for f in ROUTING_FIELDS}
    return _object(properties, closed=True)


def routing_header_parameters() -> list[JSONObject]:
    """The `x-voxgate-*` request headers: the same constraints as text (the body wins over them)."""
    parameters = []
    for field in ROUTING_FIELDS:
        if not field.has_header:
            continue
        if field.kind == "mode":
            schema: JSONObject = {"type": "string", "enum": [m.value for m in Mode]}
        else:
            schema = {"type": "string", "pattern": field.header_pattern}
        parameters.append({"name": field.header, "in": "header", "required": False, "schema": schema,
                           "description": f"routing.{field.name} as a header: {field.description}"})
    return parameters


def feedback_schema() -> JSONObject:
    return _object({"score": {"type": "number", "minimum": 0, "maximum": 1},
                    "label": _nullable({"type": "string", "maxLength": MAX_LABEL_CHARS})}, ("score",), closed=True)


# --- responses --------------------------------------------------------------------------------


def error_schema() -> JSONObject:
    """OpenAI's error body; voxgate adds `rejections` (model -> reason) to `no_eligible_model`."""
    nullable_string = _nullable({"type": "string"})
    inner = _object({"message": {"type": "string"}, "type": {"type": "string"}, "param": nullable_string,
                     "code": nullable_string}, ("message", "type", "param", "code"))
    return _object({"error": inner}, ("error",))


def dataclass_schema(cls: type[Any], definitions: JSONObject) -> JSONObject:
    """The JSON Schema of `dataclasses.asdict(instance)` for a dataclass of plain fields."""
    hints = typing.get_type_hints(cls)
    properties = {f.name: _hint_schema(hints[f.name], definitions) for f in dataclasses.fields(cls)}
    return _object(properties, tuple(properties), closed=True)


def _hint_schema(hint: Any, definitions: JSONObject) -> JSONObject:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_hint_schema(arg, definitions) for arg in typing.get_args(hint)]}
    if origin is list:
        return {"type": "array", "items": _hint_schema(typing.get_args(hint)[0], definitions)}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        definitions.setdefault(hint.__name__, dataclass_schema(hint, definitions))
        return ref(hint.__name__)
    simple = {str: "string", float: "number", int: "integer", bool: "boolean", type(None): "null"}
    if hint in simple:
        return {"type": simple[hint]} if hint is not float else {"type": "number"}
    raise TypeError(f"no JSON Schema for {hint!r}")


def decision_schemas() -> JSONObject:
    """`Decision`, `CandidateRecord` and `Attempt`, from the dataclasses the decision log stores."""
    definitions: JSONObject = {}
    for cls in (Attempt, CandidateRecord, Decision):
        definitions[cls.__name__] = dataclass_schema(cls, definitions)
    return definitions
