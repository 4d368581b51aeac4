"""Virtual keys: what a team's key may do, and the key strings themselves (plain data, no I/O).

A key string is `sk-vg-<id>_<secret>`: the id (12 hex characters) is public and names the key in
decisions, spend rows and metrics; only the SHA-256 of the whole string is stored, so a key is
shown once, when it is created or rotated, and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from voxgate.core.types import JSONObject

KEY_PREFIX = "sk-vg-"
_KEY_PATTERN = re.compile(r"sk-vg-([0-9a-f]{12})_[A-Za-z0-9_-]{20,64}")
MAX_KEY_NAME_CHARS = 64
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class BudgetPeriod(StrEnum):
    """A budget resets at the start of each UTC day or calendar month."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class KeyPolicy:
    """What a virtual key may spend and use. None means no limit."""

    budget_usd: dict[BudgetPeriod, float] = field(default_factory=dict)
    rpm: int | None = None
    tpm: int | None = None
    max_voice_sessions: int | None = None
    models: tuple[str, ...] | None = None
    profiles: tuple[str, ...] | None = None
    routing: JSONObject | None = None

    def as_dict(self) -> JSONObject:
        return {
            "budget_usd": {period.value: usd for period, usd in self.budget_usd.items()},
            "rpm": self.rpm,
            "tpm": self.tpm,
            "max_voice_sessions": self.max_voice_sessions,
            "models": list(self.models) if self.models is not None else None,
            "profiles": list(self.profiles) if self.profiles is not None else None,
            "routing": self.routing,
        }


@dataclass(frozen=True)
class VirtualKey:
    """A stored key: its public id and name, its policy, and the hash of its secret string."""

    id: str
    name: str
    key_hash: str = field(repr=False)
    created_at: float
    policy: KeyPolicy
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> JSONObject:
        """The key's public view (never the hash)."""
        return {"id": self.id, "object": "virtual_key", "name": self.name, "created_at": self.created_at,
                "revoked_at": self.revoked_at, "active": self.active, **self.policy.as_dict()}


@dataclass(frozen=True)
class BudgetStatus:
    """How much of a key's tightest budget is left: the routing policy's input."""

    key_id: str
    period: BudgetPeriod
    limit_usd: float
    spent_usd: float

    @property
    def left_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spent_usd)

    @property
    def left_fraction(self) -> float:
        return self.left_usd / self.limit_usd if self.limit_usd > 0 else 0.0


def new_key_id() -> str:
    return secrets.token_hex(6)


def new_key_string(key_id: str) -> str:
    """A fresh secret key string for `key_id` (shown to the user once)."""
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(presented: str) -> str | None:
    """The id inside a presented key string, or None when it is not a virtual key."""
    match = _KEY_PATTERN.fullmatch(presented)
    return match.group(1) if match else None


def key_matches(presented: str, key: VirtualKey) -> bool:
    return hmac.compare_digest(hash_key(presented), key.key_hash)


def period_start_s(period: BudgetPeriod, now_s: float) -> float:
    """Unix time at which the current UTC day or calendar month began."""
    now = datetime.fromtimestamp(now_s, UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is BudgetPeriod.MONTH:
        start = start.replace(day=1)
    return start.timestamp()
