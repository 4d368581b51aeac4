"""The decision record: everything the router considered, chose and tried, for one request.

It never holds prompt text unless content logging is switched on; the fingerprint is a hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

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

    def to_dict(self) -> JSONObject:
        return asdict(self)


class DecisionLog(Protocol):
    """Where finished decisions go; the SQLite store implements it."""

    def record(self, decision: JSONObject) -> None: ...

    async def get(self, decision_id: str) -> JSONObject | None: ...

    async def query(self, *, since: float | None, model: str | None, limit: int) -> list[JSONObject]: ...

    async def add_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> bool: ...
