"""/openapi.json describes the routes the app serves, with schemas the validators agree with."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from voxgate.config import Settings
from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Mode
from voxgate.routing.decision import Attempt, CandidateRecord, Decision
from voxgate.server.app import create_app
from voxgate.server.constraints import ROUTING_FIELDS, parse_constraints
from voxgate.server.openapi import build_openapi, documented_operations
from voxgate.server.validation import TOOL_NAME_PATTERN, parse_chat_request

DOCUMENT = build_openapi(("model-a", "model-b"))


def _validator(name: str) -> jsonschema_rs.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def test_every_http_route_is_documented_and_nothing_else() -> None:
    app: Any = create_app(Settings())
    while not hasattr(app, "routes"):
        app = app._app  # the middlewares wrap the Starlette app
    served = {(method, route.path) for route in app.routes if isinstance(route, Route)
              for method in route.methods or () if method != "HEAD"}
    assert served == documented_operations(DOCUMENT)


def test_schemathesis_loads_the_document_as_openapi() -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    labels = {result.ok().label for result in schema.get_all_operations()}  # type: ignore[union-attr]
    assert "POST /v1/chat/completions" in labels
    assert len(labels) == len(documented_operations(DOCUMENT))


def test_model_is_a_profile_or_a_catalog_id() -> None:
    model = DOCUMENT["components"]["schemas"]["ChatCompletionRequest"]["properties"]["model"]
    assert {"auto", "auto:cost", "model-a", "model-b"} <= set(model["enum"])


def test_a_real_decision_matches_its_schema() -> None:
    decision = Decision(
        id="dec_1", created_at=1.5, profile="auto", mode="balanced", constraints={"mode": "balanced"},
        request={"fingerprint": "x"}, candidates=[CandidateRecord("m", True, 0.7, "prior", 0.001, 120.0, "chosen"),
                                                   CandidateRecord("n", False, reason="excluded")],
        chosen="m", fallback_plan=[], reason="best", predictor_version="heuristic-v1", overhead_us=12.5,
        attempts=[Attempt("m", "ok", 150.0, 90.0)], answered_by="m", outcome="ok",
        usage={"prompt_tokens": 3, "completion_tokens": 4}, cost_usd=0.0001,
    )
    _validator("Decision").validate(decision.to_dict())
    with pytest.raises(jsonschema_rs.ValidationError):
        _validator("Decision").validate({**decision.to_dict(), "chosen": 7})


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}, True),
        ({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}]}]}, True),
        ({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}, True),
        ({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}]}]}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "ftp://example.com/cat.png"}}]}]}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": "  "}]}, False),
        ({"model": "auto", "messages": [{"role": "assistant", "content": None, "tool_calls": [{}]}]}, True),
        ({"model": "auto", "messages": []}, False),
        ({"model": "gpt-17", "messages": [{"role": "user", "content": "hi"}]}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 16.0}, True),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "logprobs": None, "stop": None}, True),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "logprobs": "yes"}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "auto"}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"speed": 1}}, False),
        ({"model": "auto", "messages": [{"role": "user", "content": "hi"}], "routing": {"require": "tools,json"}},
         True),
    ],
)
def test_chat_request_schema(body: dict[str, Any], valid: bool) -> None:
    assert _validator("ChatCompletionRequest").is_valid(body) is valid


@pytest.mark.parametrize(
    "field", [f for f in ROUTING_FIELDS if f.kind not in ("mode", "string") and f.has_header], ids=lambda f: f.name
)
# Header values never hold a newline, and the patterns' whitespace classes draw many: the filter drops
# them, which Hypothesis's health check may call too much filtering on a slow run.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_header_values_the_schema_allows_are_accepted(field: Any, data: st.DataObject) -> None:
    value = data.draw(st.from_regex(field.header_pattern, fullmatch=True).filter(lambda v: "\n" not in v))
    parse_constraints("auto", None, {field.header: value}, Mode.BALANCED)


@pytest.mark.parametrize("field", [f for f in ROUTING_FIELDS if f.kind in ("number", "boolean")], ids=lambda f: f.name)
@settings(max_examples=40, deadline=None)
@given(value=st.text(max_size=12))
def test_header_values_the_schema_forbids_are_refused(field: Any, value: str) -> None:
    if re.fullmatch(field.header_pattern, value):
        return
    with pytest.raises(Exception, match="does not match"):
        parse_constraints("auto", None, {field.header: value}, Mode.BALANCED)


@pytest.mark.parametrize("value", ["\x1cname", "a\x1f,b", "\ta ,\x0b b\r"])
def test_list_strings_with_control_characters_are_read_as_the_schema_reads_them(value: str) -> None:
    """ECMA-262's `\\s` (the schema's) excludes \\x1c-\\x1f, which Python's `\\s` matches; CI's fuzzer
    found a schema-valid `routing.exclude` string that the parser refused."""
    field = next(f for f in ROUTING_FIELDS if f.name == "exclude")
    assert re.fullmatch(field.header_pattern, value)
    constraints = parse_constraints("auto", {"exclude": value}, {}, Mode.BALANCED)
    assert constraints.exclude == tuple(v.strip(" \t\n\r\f\v") for v in value.split(","))
    assert all(constraints.exclude)


@settings(max_examples=60, deadline=None)
@given(name=st.text(alphabet=st.sampled_from("aZ09_-.\n é"), max_size=66))
def test_function_names_are_accepted_exactly_when_the_published_schema_allows_them(name: str) -> None:
    schema = jsonschema_rs.validator_for({"type": "string", "pattern": TOOL_NAME_PATTERN})
    tools = [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}]
    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    if schema.is_valid(name):
        parse_chat_request(body)
    else:
        with pytest.raises(InvalidRequestError):
            parse_chat_request(body)
