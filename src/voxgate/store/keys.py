"""Virtual keys in SQLite: the `virtual_keys` table of the decision log's database file.

Only the SHA-256 of a key string is stored (`core/keys`). The table is small and read rarely:
the server caches what it reads (`server/keys`), so every call here is synchronous and the
server runs it on a worker thread. The CLI (`voxgate keys ...`) uses the same class on the same
file, with or without a server running.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from voxgate.core.keys import BudgetPeriod, KeyPolicy, VirtualKey, hash_key, new_key_id, new_key_string

_SCHEMA = """
CREATE TABLE IF NOT EXISTS virtual_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL,
    policy TEXT NOT NULL
);
"""


def policy_from_json(text: str) -> KeyPolicy:
    raw: dict[str, Any] = json.loads(text)
    models, profiles = raw.get("models"), raw.get("profiles")
    return KeyPolicy(
        budget_usd={BudgetPeriod(p): float(usd) for p, usd in (raw.get("budget_usd") or {}).items()},
        rpm=raw.get("rpm"),
        tpm=raw.get("tpm"),
        max_voice_sessions=raw.get("max_voice_sessions"),
        models=tuple(models) if models is not None else None,
        profiles=tuple(profiles) if profiles is not None else None,
        routing=raw.get("routing"),
    )


def _key_from_row(row: tuple[Any, ...]) -> VirtualKey:
    key_id, name, key_hash, created_at, revoked_at, policy = row
    return VirtualKey(id=key_id, name=name, key_hash=key_hash, created_at=created_at,
                      policy=policy_from_json(policy), revoked_at=revoked_at)


class SQLiteKeyStore:
    """Create, read, revoke and rotate virtual keys. Thread-safe; opens the file lazily."""

    DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
    """What a database that cannot be reached raises (the server answers 503 for those)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, check_same_thread=False, timeout=10.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            connection = self._connect()
            with connection:
                return connection.execute(sql, args).fetchall()

    def create(self, name: str, policy: KeyPolicy, now_s: float) -> tuple[VirtualKey, str]:
        """A new key and its secret string (the only time the string exists outside the caller)."""
        key_id = new_key_id()
        secret = new_key_string(key_id)
        key = VirtualKey(id=key_id, name=name, key_hash=hash_key(secret), created_at=now_s, policy=policy)
        self._run("INSERT INTO virtual_keys VALUES (?, ?, ?, ?, NULL, ?)",
                  (key.id, key.name, key.key_hash, key.created_at, json.dumps(policy.as_dict())))
        return key, secret

    def get(self, key_id: str) -> VirtualKey | None:
        rows = self._run("SELECT * FROM virtual_keys WHERE id = ?", (key_id,))
        return _key_from_row(rows[0]) if rows else None

    def find(self, id_or_name: str) -> VirtualKey | None:
        """The key with this id, else the newest active key with this name."""
        rows = self._run(
            "SELECT * FROM virtual_keys WHERE id = ? OR (name = ? AND revoked_at IS NULL) "
            "ORDER BY id = ? DESC, created_at DESC LIMIT 1", (id_or_name, id_or_name, id_or_name))
        return _key_from_row(rows[0]) if rows else None

    def list(self, *, include_revoked: bool = True) -> list[VirtualKey]:
        sql = "SELECT * FROM virtual_keys" + ("" if include_revoked else " WHERE revoked_at IS NULL")
        return [_key_from_row(row) for row in self._run(sql + " ORDER BY created_at")]

    def revoke(self, key_id: str, now_s: float) -> VirtualKey | None:
        """Revoke a key (kept for its spend history); None when there is no such key."""
        self._run("UPDATE virtual_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_s, key_id))
        return self.get(key_id)

    def rotate(self, key_id: str) -> tuple[VirtualKey, str] | None:
        """A new secret for an active key (same id, policy and spend); the old string stops working."""
        secret = new_key_string(key_id)
        self._run("UPDATE virtual_keys SET key_hash = ? WHERE id = ? AND revoked_at IS NULL",
                  (hash_key(secret), key_id))
        key = self.get(key_id)
        if key is None or not key.active:
            return None
        return key, secret

    def update_policy(self, key_id: str, policy: KeyPolicy) -> VirtualKey | None:
        self._run("UPDATE virtual_keys SET policy = ? WHERE id = ?", (json.dumps(policy.as_dict()), key_id))
        return self.get(key_id)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
