"""The decision record: everything the router considered, chose and tried, for one request.

It never holds prompt text unless content logging is switched on; the fingerprint is a hash.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Protocol

from voxgate.core.types import JSONObject


@dataclass
class CandidateRecord:
    model: str
    eligible: bool
    predicted_quality: float | None = None
    quality_source: str | None = None
    estimated_cost_usd: float | None = None
    estimated_latency_ms: float | None = None
    reason: str = ""


@dataclass
class Attempt:
    model: str
    status: str
    latency_ms: float
    ttft_ms: float | None = None
    error: str | None = None
    retryable: bool | None = None


@dataclass
class Decision:
    id: str
    created_at: float
    profile: str
    mode: str
    constraints: JSONObject
    request: JSONObject
    candidates: list[CandidateRecord]
    chosen: str | None
    fallback_plan: list[str]
    reason: str
    predictor_version: str
    overhead_us: float
    affinity: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    answered_by: str | None = None
    outcome: str = "pending"
    usage: JSONObject | None = None
    cost_usd: float | None = None
    content: JSONObject | None = None
    key_id: str | None = None
    strategy: str = "predict"
    cascade: JSONObject | None = None
    """With strategy "cascade": the plan, every stage tried (checks, bar, verdict, tokens, cost,
    latency), the answering stage and why; None otherwise."""
    checker_version: str | None = None
    """The learned answer checker a cascade ran (`answer_checker:` in the catalog), None without one."""
    tools: list[JSONObject] = field(default_factory=list)
    """What the tool-call layer did to the request (`backends/toolcall_record`), in order: each action
    with its model, reason, and counts or declared names (never text); empty when it did nothing."""

    def to_dict(self) -> JSONObject:
        """`dataclasses.asdict(self)`: a deep copy, its records as dicts; written out, as the generic
        one cost ~10% of a gateway request's CPU (the record is copied for the decision log)."""
        return {name: _copied(getattr(self, name)) for name in _DECISION_FIELDS}


_SCALARS = (str, int, float, bool, type(None))
_RECORD_FIELDS = {record: tuple(f.name for f in fields(record)) for record in (CandidateRecord, Attempt)}
_DECISION_FIELDS = tuple(f.name for f in fields(Decision))


def _copied(value: Any) -> Any:
    """What `asdict` makes of a field's value: JSON containers and records copied deeply, scalars as they are."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {_copied(key): _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    names = _RECORD_FIELDS.get(kind)
    if names is not None:
        return {name: _copied(getattr(value, name)) for name in names}
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if kind is tuple:
        return tuple(_copied(item) for item in value)
    return copy.deepcopy(value)


class DecisionLog(Protocol):
    """Where finished decisions go; the SQLite store implements it."""

    def record(self, decision: JSONObject) -> None: ...

    async def get(self, decision_id: str) -> JSONObject | None: ...

    async def query(self, *, since: float | None, model: str | None, limit: int) -> list[JSONObject]: ...

    async def add_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> bool: ...
