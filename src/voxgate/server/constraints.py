"""Routing constraints from the `routing` body extension, `x-voxgate-*` headers and the profile.

Precedence: the body's `routing` object, then headers, then the profile in `model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Capability, Mode, RoutingConstraints

ROUTING_FIELDS = (
    "mode", "max_latency_ms", "max_cost_usd", "min_quality", "require", "local_only", "models",
    "exclude", "session_id",
)
PROFILES = ("auto", "auto:quality", "auto:balanced", "auto:cost", "auto:fast", "auto:local")
_LIST_FIELDS = {"require", "models", "exclude"}
_MAX_LIST_ITEMS = 256
_MAX_LATENCY_MS = 3_600_000.0
_MAX_COST_USD = 1_000.0


def _fail(name: str, expected: str) -> InvalidRequestError:
    return InvalidRequestError(f"routing.{name} {expected}", param=f"routing.{name}", code="invalid_routing")


def _number(name: str, value: Any, maximum: float) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _fail(name, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(name, f"must be a number, got {value!r}")
    if not 0 <= value <= maximum:
        raise _fail(name, f"must be between 0 and {maximum:g}, got {value}")
    return float(value)


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(name, "must be a list of strings")
    if len(value) > _MAX_LIST_ITEMS:
        raise _fail(name, f"has {len(value)} items; at most {_MAX_LIST_ITEMS}")
    return tuple(value)


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise _fail(name, f"must be true or false, got {value!r}")
    return value


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


def _headers_as_fields(headers: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ROUTING_FIELDS:
        value = headers.get("x-voxgate-" + name.replace("_", "-"))
        if value is not None:
            fields[name] = value
    return fields


def _merged_fields(routing: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    if routing is None:
        routing = {}
    if not isinstance(routing, dict):
        raise InvalidRequestError("`routing` must be an object, e.g. {\"mode\": \"cost\"}.", param="routing")
    unknown = sorted(set(routing) - set(ROUTING_FIELDS))
    if unknown:
        raise InvalidRequestError(
            f"unknown routing fields {unknown}; allowed: {list(ROUTING_FIELDS)}",
            param="routing",
            code="invalid_routing",
        )
    return {**_headers_as_fields(headers), **routing}


def parse_constraints(
    model: str, routing: Any, headers: Mapping[str, str], default_mode: Mode, user: str | None = None
) -> RoutingConstraints:
    """Build constraints for a request whose `model` is a profile or a concrete model id."""
    fields = _merged_fields(routing, headers)
    profile_mode = model.split(":", 1)[1] if model.startswith("auto:") else None
    mode = default_mode if profile_mode in (None, "local") else _mode(profile_mode)
    local_only = profile_mode == "local"
    if "mode" in fields:
        mode = _mode(fields["mode"])
    lists = {name: _string_list(name, fields[name]) for name in _LIST_FIELDS if fields.get(name) is not None}
    session_id = fields.get("session_id", user)
    if session_id is not None and (not isinstance(session_id, str) or len(session_id) > 256):
        raise _fail("session_id", "must be a string of at most 256 characters")
    return RoutingConstraints(
        mode=mode,
        max_latency_ms=_number("max_latency_ms", fields["max_latency_ms"], _MAX_LATENCY_MS)
        if fields.get("max_latency_ms") is not None else None,
        max_cost_usd=_number("max_cost_usd", fields["max_cost_usd"], _MAX_COST_USD)
        if fields.get("max_cost_usd") is not None else None,
        min_quality=_number("min_quality", fields["min_quality"], 1.0)
        if fields.get("min_quality") is not None else None,
        require=_capabilities(lists.get("require", ())),
        local_only=local_only or _boolean("local_only", fields.get("local_only", False)),
        models=lists.get("models"),
        exclude=lists.get("exclude", ()),
        session_id=session_id,
    )
