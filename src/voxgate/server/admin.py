"""`/v1/admin/keys` (behind the admin key) and `GET /v1/spend`.

`parse_key_spec` is the one check of what a key may be created with; the CLI
(`voxgate keys create`) calls it too. `KEY_SPEC_FIELDS` feeds the published schema.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxgate.core.errors import InvalidRequestError
from voxgate.core.keys import KEY_NAME_PATTERN, BudgetPeriod, KeyPolicy, VirtualKey
from voxgate.core.types import JSONObject, Mode, is_whole_number
from voxgate.server.constraints import PROFILES, parse_constraints
from voxgate.server.errors import error_body
from voxgate.server.gateway import Gateway
from voxgate.server.http_io import read_json
from voxgate.server.keys import connection_key
from voxgate.server.routes import MAX_SINCE_S, _query_number
from voxgate.store.spend import GROUPINGS

MAX_KEY_SPEC_BYTES = 64 * 1024
MAX_LIMIT = 1_000_000_000
MAX_BUDGET_USD = 1_000_000.0
KEY_SPEC_FIELDS = ("name", "budget_usd", "rpm", "tpm", "max_voice_sessions", "models", "profiles", "routing")
KEY_ID_PATTERN = r"^[0-9a-f]{12}$"


def _fail(name: str, expected: str) -> InvalidRequestError:
    return InvalidRequestError(f"`{name}` {expected}", param=name, code="invalid_key_spec")


def _limit(body: JSONObject, name: str, minimum: int = 1) -> int | None:
    """A whole number (JSON's 3.0 is one too) in [minimum, MAX_LIMIT], or None."""
    value = body.get(name)
    if value is None:
        return None
    if not is_whole_number(value) or not minimum <= value <= MAX_LIMIT:
        raise _fail(name, f"must be a whole number between {minimum} and {MAX_LIMIT}, got {value!r}")
    return int(value)


def _budget(value: Any) -> dict[BudgetPeriod, float]:
    if value is None:
        return {}
    periods = [p.value for p in BudgetPeriod]
    if not isinstance(value, dict) or set(value) - set(periods):
        raise _fail("budget_usd", f"must be an object with keys from {periods}, e.g. {{\"day\": 20}}")
    budget = {}
    for period, usd in value.items():
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not 0 < usd <= MAX_BUDGET_USD:
            raise _fail("budget_usd", f"{period}: must be a number of USD above 0 and at most {MAX_BUDGET_USD:g}")
        budget[BudgetPeriod(period)] = float(usd)
    return budget


def _names(body: JSONObject, name: str, known: Collection[str]) -> tuple[str, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(name, "must be a non-empty list of strings")
    unknown = [v for v in value if v not in known]
    if unknown:
        raise _fail(name, f"names unknown {name} {unknown}; known: {sorted(known)}")
    return tuple(dict.fromkeys(value))


def parse_key_spec(body: JSONObject, model_ids: Collection[str]) -> tuple[str, KeyPolicy]:
    """A key's name and policy from a create request; InvalidRequestError (400) naming the field."""
    unknown = sorted(set(body) - set(KEY_SPEC_FIELDS))
    if unknown:
        raise InvalidRequestError(f"unknown fields {unknown}; allowed: {list(KEY_SPEC_FIELDS)}", param=unknown[0],
                                  code="invalid_key_spec")
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(KEY_NAME_PATTERN, name):
        raise _fail("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    routing = body.get("routing")
    if routing is not None:
        parse_constraints("auto", routing, {}, Mode.BALANCED)  # raises on anything a request would refuse
    policy = KeyPolicy(
        budget_usd=_budget(body.get("budget_usd")), rpm=_limit(body, "rpm"), tpm=_limit(body, "tpm"),
        max_voice_sessions=_limit(body, "max_voice_sessions", minimum=0), models=_names(body, "models", model_ids),
        profiles=_names(body, "profiles", PROFILES), routing=routing,
    )
    return name, policy


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _key_not_found(key_id: str) -> JSONResponse:
    body = error_body(f"no key {key_id!r}: ids are listed by GET /v1/admin/keys", "invalid_request_error",
                      "key_id", "key_not_found")
    return JSONResponse(body, status_code=404)


async def _with_spend(gateway: Gateway, key: VirtualKey) -> JSONObject:
    spent = await gateway.key_gate.spent_usd(key.id)
    return {**key.as_dict(), "spent_usd": {p.value: round(usd, 9) for p, usd in spent.items()}}


async def create_key(request: Request) -> Response:
    gateway = _gateway(request)
    body = await read_json(request, MAX_KEY_SPEC_BYTES)
    name, policy = parse_key_spec(body, [c.id for c in gateway.cards])
    key, secret = await gateway.run_on_key_store(gateway.keys.store.create, name, policy, gateway.clock.wall_s())
    return JSONResponse({**await _with_spend(gateway, key), "key": secret}, status_code=201)


async def list_keys(request: Request) -> Response:
    gateway = _gateway(request)
    keys = await gateway.run_on_key_store(gateway.keys.store.list)
    return JSONResponse({"object": "list", "data": [await _with_spend(gateway, k) for k in keys]})


def _key_id(request: Request) -> str:
    key_id: str = request.path_params["key_id"]
    return key_id


async def get_key(request: Request) -> Response:
    gateway = _gateway(request)
    key = await gateway.run_on_key_store(gateway.keys.store.get, _key_id(request))
    return _key_not_found(_key_id(request)) if key is None else JSONResponse(await _with_spend(gateway, key))


async def revoke_key(request: Request) -> Response:
    gateway = _gateway(request)
    key = await gateway.run_on_key_store(gateway.keys.store.revoke, _key_id(request), gateway.clock.wall_s())
    gateway.keys.forget(_key_id(request))
    return _key_not_found(_key_id(request)) if key is None else JSONResponse(await _with_spend(gateway, key))


async def rotate_key(request: Request) -> Response:
    gateway = _gateway(request)
    rotated = await gateway.run_on_key_store(gateway.keys.store.rotate, _key_id(request))
    gateway.keys.forget(_key_id(request))
    if rotated is None:
        return _key_not_found(_key_id(request))
    key, secret = rotated
    return JSONResponse({**await _with_spend(gateway, key), "key": secret})


async def get_spend(request: Request) -> Response:
    """GET /v1/spend?key=&model=&since=&group_by=: a virtual key sees only its own spend."""
    gateway = _gateway(request)
    caller = connection_key(request)
    key_id = caller.id if caller is not None else request.query_params.get("key")
    if key_id is not None and not re.fullmatch(KEY_ID_PATTERN, key_id):
        raise InvalidRequestError("query parameter key must be a key id (12 hex characters)", param="key")
    group_by = request.query_params.get("group_by", "key")
    if group_by not in GROUPINGS:
        raise InvalidRequestError(f"query parameter group_by must be one of {list(GROUPINGS)}", param="group_by")
    since_s = _query_number(request, "since", 0.0, MAX_SINCE_S)
    rows = await gateway.decision_log.spend(key_id=key_id, model=request.query_params.get("model"),
                                            since_s=since_s, group_by=group_by)
    return JSONResponse({"object": "list", "group_by": group_by, "data": rows})
