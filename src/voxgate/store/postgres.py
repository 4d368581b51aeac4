"""The decision log, spend rows and virtual keys in PostgreSQL (`database: postgresql://...`), for
replicas on several hosts. psycopg 3 (libpq), imported only when a Postgres URL is configured.

The SQLite classes do the work: batched writes on one database thread, rows kept queued
(bounded, `decision_log_max_pending`) and retried with backoff while the database fails,
drops counted as lost, hourly retention pruning. Here they get a connection that speaks their
dialect (`?` placeholders, `with connection:` as one transaction), Postgres's upserts and
schema, and Postgres's errors. Messages and `/readyz` show the URL without its password.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import Any

from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.store.keys import SQLiteKeyStore
from voxgate.store.spend import SPEND_COLUMNS
from voxgate.store.sqlite import DEFAULT_MAX_PENDING, SQLiteDecisionLog

CONNECT_TIMEOUT_S = 3
_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS decisions (id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL,
       chosen TEXT, answered_by TEXT, outcome TEXT NOT NULL, body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS decisions_created_at ON decisions (created_at)",
    "CREATE INDEX IF NOT EXISTS decisions_answered_by ON decisions (answered_by, created_at)",
    """CREATE TABLE IF NOT EXISTS feedback (decision_id TEXT NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
       created_at DOUBLE PRECISION NOT NULL, score DOUBLE PRECISION NOT NULL, label TEXT)""",
    "CREATE INDEX IF NOT EXISTS feedback_decision ON feedback (decision_id)",
    """CREATE TABLE IF NOT EXISTS spend (decision_id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL,
       key_id TEXT, model TEXT, kind TEXT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
       prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL, estimated INTEGER NOT NULL)""",
    "ALTER TABLE spend ADD COLUMN IF NOT EXISTS stt_s DOUBLE PRECISION NOT NULL DEFAULT 0",
    "ALTER TABLE spend ADD COLUMN IF NOT EXISTS tts_s DOUBLE PRECISION NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS spend_key_time ON spend (key_id, created_at)",
    "CREATE INDEX IF NOT EXISTS spend_time ON spend (created_at)",
    """CREATE TABLE IF NOT EXISTS virtual_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL,
       created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION, policy TEXT NOT NULL)""",
]
_SCHEMA_LOCK = threading.Lock()


def redacted(url: str) -> str:
    """The URL without a password: postgresql://user@host:port/db."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1@", url)


class _Connection:
    """psycopg behind the calls the SQLite classes make: `?` placeholders; `with` is one transaction."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._transactions: list[Any] = []

    def execute(self, sql: str, args: Any = ()) -> Any:
        return self._connection.execute(sql.replace("?", "%s"), args)

    def executemany(self, sql: str, rows: list[Any]) -> None:
        if rows:
            with self._connection.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)

    def __enter__(self) -> _Connection:
        transaction = self._connection.transaction()
        transaction.__enter__()
        self._transactions.append(transaction)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._transactions.pop().__exit__(*exc)

    def close(self) -> None:
        self._connection.close()


def connect(url: str) -> _Connection:
    """An autocommit connection with the schema in place (created once per process)."""
    import psycopg

    connection = _Connection(psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S))
    try:
        with _SCHEMA_LOCK, connection:
            connection.execute("SELECT pg_advisory_xact_lock(7261)")  # replicas starting together
            for statement in _SCHEMA:
                connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    return connection


def _database_errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (psycopg.Error, OSError)


class PostgresDecisionLog(SQLiteDecisionLog):
    """The decision log in Postgres; same behaviour as the SQLite one (see module docstring)."""

    INSERT_DECISION = ("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                       "created_at = EXCLUDED.created_at, chosen = EXCLUDED.chosen, "
                       "answered_by = EXCLUDED.answered_by, outcome = EXCLUDED.outcome, body = EXCLUDED.body")
    INSERT_SPEND = (f"INSERT INTO spend ({SPEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (decision_id) DO UPDATE SET cost_usd = EXCLUDED.cost_usd, "
                    "prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens, "
                    "estimated = EXCLUDED.estimated, stt_s = EXCLUDED.stt_s, tts_s = EXCLUDED.tts_s")
    DAY_SQL = "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def __init__(self, url: str, flush_interval_s: float = 0.05, max_pending: int = DEFAULT_MAX_PENDING,
                 retention_days: float | None = None) -> None:
        super().__init__(Path("."), flush_interval_s, max_pending, retention_days)
        self._url = url
        self._where = redacted(url)
        self.DB_ERRORS = _database_errors()

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = connect(self._url)  # type: ignore[assignment]
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*self.DB_ERRORS):
                connection.close()

    async def _reading(self, fn: Any, *args: Any) -> Any:
        """A read; a failed one drops the connection, so the next read connects again."""
        try:
            return await super()._reading(fn, *args)
        except DecisionLogUnavailableError:
            await self._on_db_thread(self._drop_connection)
            raise


class PostgresKeyStore(SQLiteKeyStore):
    """The `virtual_keys` table in Postgres."""

    def __init__(self, url: str) -> None:
        super().__init__(Path("."))
        self._url = url
        self.DB_ERRORS = _database_errors()

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = connect(self._url)  # type: ignore[assignment]
        return self._connection

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            connection = self._connect()
            try:
                with connection:
                    cursor = connection.execute(sql, args)
                    return list(cursor.fetchall()) if cursor.description is not None else []
            except _database_errors():
                self._connection = None  # connect again next time
                with contextlib.suppress(*_database_errors()):
                    connection.close()
                raise
