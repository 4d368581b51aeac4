"""Routing constraints from the `routing` body extension, `x-voxgate-*` headers and the profile.

Precedence: the body's `routing` object, then headers, then the profile in `model`.

`ROUTING_FIELDS` is the one definition of what each field accepts: the parser below checks it,
and `server/api_schema` turns the same table into the OpenAPI schema of the `routing` object and
of the `x-voxgate-*` headers, so the published schema cannot drift from what is enforced.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Capability, CascadeOptions, Mode, RoutingConstraints, Strategy, is_whole_number

PROFILES = ("auto", "auto:quality", "auto:balanced", "auto:cost", "auto:fast", "auto:local", "auto:cascade")
CASCADE_PROFILES = frozenset({"auto", "auto:cascade"})
"""Profiles that answer through a cascade unless `routing.strategy` says otherwise: `auto:cascade`,
and `auto` (the default profile: a newcomer's first questions must come back right; measured in
the README's Cascade section) unless the request names a `mode`. The profiles that name a mode
keep `predict`."""
MAX_CASCADE_STAGES = 8
MAX_LIST_ITEMS = 256
MAX_SESSION_ID_CHARS = 256
_CAPABILITY = "(" + "|".join(c.value for c in Capability) + ")"
# Whitespace spelled out: Python's `\s` also matches \x1c-\x1f, JSON Schema's (ECMA-262) does not,
# so `\s` would let the published pattern accept names the parser refuses (a fuzzer found it).
_SPACE = r"[ \t\n\r\f\v]"
_SPACE_CHARS = " \t\n\r\f\v"
_NAME = r"[^, \t\n\r\f\v]+"


@dataclass(frozen=True)
class RoutingField:
    """One routing constraint: its JSON type in the body and the pattern of its header value."""

    name: str
    kind: str  # "number" | "boolean" | "mode" | "list" | "capabilities" | "string" | "strategy" | "cascade"
    description: str
    maximum: float = 0.0
    header_pattern: str = ""

    @property
    def header(self) -> str:
        return "x-voxgate-" + self.name.replace("_", "-")

    @property
    def has_header(self) -> bool:
        """Every field but the `cascade` object also comes as an `x-voxgate-*` header."""
        return self.kind != "cascade"


def _list_pattern(item: str) -> str:
    return rf"^{_SPACE}*{item}({_SPACE}*,{_SPACE}*{item})*{_SPACE}*$"


ROUTING_FIELDS = (
    RoutingField("mode", "mode", "routing mode: what the policy optimises", header_pattern=""),
    RoutingField("max_latency_ms", "number", "hard limit on predicted latency, milliseconds", 3_600_000.0,
                 r"^[0-9]{1,6}(\.[0-9]{1,3})?$"),
    RoutingField("max_cost_usd", "number", "hard limit on predicted cost, USD", 1_000.0,
                 r"^[0-9]{1,3}(\.[0-9]{1,9})?$"),
    RoutingField("min_quality", "number", "hard floor on predicted quality (probability of a good answer)", 1.0,
                 r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"),
    RoutingField("require", "capabilities", "capabilities the model must have",
                 header_pattern=_list_pattern(_CAPABILITY)),
    RoutingField("local_only", "boolean", "only models that run on this machine",
                 header_pattern="^(true|false|1|0|yes|no)$"),
    RoutingField("models", "list", "allow-list of model ids", header_pattern=_list_pattern(_NAME)),
    RoutingField("exclude", "list", "deny-list of model ids", header_pattern=_list_pattern(_NAME)),
    RoutingField("session_id", "string", "keep a conversation on one model (defaults to `user`)",
                 header_pattern=f"^.{{0,{MAX_SESSION_ID_CHARS}}}$"),
    RoutingField("strategy", "strategy", "predict: one predicted model answers; cascade: a cheap model answers "
                 "first and checks on its answer decide whether to escalate", header_pattern="^(predict|cascade)$"),
    RoutingField("cascade", "cascade", "cascade settings: `models` (stage order), `accept` (the bar, 0-1), "
                 f"`max_stages` (1-{MAX_CASCADE_STAGES}), `agreement` (the first two stages answer side by side "
                 "and their final answers are compared), `middle_cost_share` (0-1: a stage before the last "
                 "may cost at most this share of the last one)", 1.0),
)
CASCADE_KEYS = ("models", "accept", "max_stages", "agreement", "middle_cost_share")
_FIELDS = {f.name: f for f in ROUTING_FIELDS}


def _fail(name: str, expected: str) -> InvalidRequestError:
    return InvalidRequestError(f"routing.{name} {expected}", param=f"routing.{name}", code="invalid_routing")


def _number(field: RoutingField, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field.name, f"must be a number, got {value!r}")
    if not 0 <= value <= field.maximum:
        raise _fail(field.name, f"must be between 0 and {field.maximum:g}, got {value}")
    return float(value)


def _string_list(field: RoutingField, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        if not re.fullmatch(field.header_pattern, value):
            raise _fail(field.name, f"must be a list of strings, or one string of comma-separated names; got {value!r}")
        value = [v.strip(_SPACE_CHARS) for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(field.name, "must be a list of strings")
    if len(value) > MAX_LIST_ITEMS:
        raise _fail(field.name, f"has {len(value)} items; at most {MAX_LIST_ITEMS}")
    return tuple(value)


def _capabilities(value: tuple[str, ...]) -> frozenset[Capability]:
    allowed = [c.value for c in Capability]
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise _fail("require", f"has unknown capabilities {unknown}; use any of {allowed}")
    return frozenset(Capability(v) for v in value)


def _mode(value: Any) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise _fail("mode", f"must be one of {[m.value for m in Mode]}, got {value!r}") from None


def _header_value(field: RoutingField, value: str) -> Any:
    """An `x-voxgate-*` header's text as the body field's JSON value, or an error naming the header.

    Every header is checked, even one the body's `routing` overrides (the schema says so; a
    fuzzer found bad list headers passing unchecked behind a body field).
    """
    if field.kind == "mode":
        return _mode(value)
    if not field.has_header:
        return None
    if not re.fullmatch(field.header_pattern, value):
        raise InvalidRequestError(
            f"header {field.header}: {value!r} does not match {field.header_pattern}", param=field.header,
            code="invalid_routing",
        )
    if field.kind == "number":
        return float(value)
    if field.kind == "boolean":
        return value in ("true", "1", "yes")
    return value


def _headers_as_fields(headers: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for field in ROUTING_FIELDS:
        value = headers.get(field.header) if field.has_header else None
        if value is not None:
            fields[field.name] = _header_value(field, value)
    return fields


def _merged_fields(routing: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    if routing is None:
        routing = {}
    if not isinstance(routing, dict):
        raise InvalidRequestError("`routing` must be an object, e.g. {\"mode\": \"cost\"}.", param="routing")
    unknown = sorted(set(routing) - set(_FIELDS))
    if unknown:
        raise InvalidRequestError(
            f"unknown routing fields {unknown}; allowed: {list(_FIELDS)}",
            param="routing",
            code="invalid_routing",
        )
    return {**_headers_as_fields(headers), **routing}


def _optional_number(fields: Mapping[str, Any], name: str) -> float | None:
    return None if fields.get(name) is None else _number(_FIELDS[name], fields[name])


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("local_only", f"must be true or false, got {value!r}")
    return value


def _strategy(value: Any, profile: str, mode_named: bool) -> Strategy:
    """Unset: `auto:cascade` cascades; `auto` cascades unless the request names a mode (like the
    profiles that name one, it then asks for that mode's single predicted choice)."""
    if value is None:
        cascades = profile == "auto:cascade" or (profile in CASCADE_PROFILES and not mode_named)
        return Strategy.CASCADE if cascades else Strategy.PREDICT
    try:
        return Strategy(value)
    except ValueError:
        raise _fail("strategy", f"must be one of {[s.value for s in Strategy]}, got {value!r}") from None


def _cascade_models(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _fail("cascade", "`models` must be a non-empty list of model ids")
    if len(value) > MAX_LIST_ITEMS:
        raise _fail("cascade", f"`models` has {len(value)} items; at most {MAX_LIST_ITEMS}")
    return tuple(value)


def _cascade(value: Any) -> CascadeOptions | None:
    """`routing.cascade`: {"models": [...], "accept": 0..1, "max_stages": 1..MAX_CASCADE_STAGES}, all optional."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail("cascade", "must be an object such as {\"accept\": 0.8, \"max_stages\": 2}")
    unknown = sorted(set(value) - set(CASCADE_KEYS))
    if unknown:
        raise _fail("cascade", f"has unknown fields {unknown}; allowed: {list(CASCADE_KEYS)}")
    accept = value.get("accept")
    if accept is not None:
        accept = _number(_FIELDS["cascade"], accept)
    stages = value.get("max_stages")
    if stages is not None and (not is_whole_number(stages) or not 1 <= stages <= MAX_CASCADE_STAGES):  # 5.0 is whole
        raise _fail("cascade", f"`max_stages` must be a whole number from 1 to {MAX_CASCADE_STAGES}, got {stages!r}")
    stages = int(stages) if stages is not None else None
    agreement = value.get("agreement")
    if agreement is not None and not isinstance(agreement, bool):
        raise _fail("cascade", f"`agreement` must be true or false, got {agreement!r}")
    share = value.get("middle_cost_share")
    if share is not None:
        share = _number(_FIELDS["cascade"], share)
    return CascadeOptions(_cascade_models(value.get("models")), accept, stages, agreement, share)


def parse_constraints(
    model: str, routing: Any, headers: Mapping[str, str], default_mode: Mode, user: str | None = None
) -> RoutingConstraints:
    """Build constraints for a request whose `model` is a profile or a concrete model id."""
    fields = _merged_fields(routing, headers)
    profile_mode = model.split(":", 1)[1] if model.startswith("auto:") else None
    mode = default_mode if profile_mode in (None, "local", "cascade") else _mode(profile_mode)
    local_only = profile_mode == "local"
    if "mode" in fields:
        mode = _mode(fields["mode"])
    lists = {
        name: _string_list(_FIELDS[name], fields[name])
        for name in ("require", "models", "exclude") if fields.get(name) is not None
    }
    session_id = fields.get("session_id", user)
    if session_id is not None and (not isinstance(session_id, str) or len(session_id) > MAX_SESSION_ID_CHARS):
        raise _fail("session_id", f"must be a string of at most {MAX_SESSION_ID_CHARS} characters")
    return RoutingConstraints(
        mode=mode,
        max_latency_ms=_optional_number(fields, "max_latency_ms"),
        max_cost_usd=_optional_number(fields, "max_cost_usd"),
        min_quality=_optional_number(fields, "min_quality"),
        require=_capabilities(lists.get("require", ())),
        local_only=local_only or _boolean(fields.get("local_only", False)),
        models=lists.get("models"),
        exclude=lists.get("exclude", ()),
        session_id=session_id,
        strategy=_strategy(fields.get("strategy"), model, "mode" in fields),
        cascade=_cascade(fields.get("cascade")),
    )
