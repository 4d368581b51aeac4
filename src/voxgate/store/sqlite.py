"""The decision log in SQLite (WAL mode), written in batches off the event loop.

`record` never blocks: it queues the decision. `run_writer` (started in the server's task
group) flushes the queue every `flush_interval_s` on a single database thread. Reads see
queued decisions too, so a decision is queryable as soon as its response is sent.

When the database cannot be opened or written (a read-only file system, a full disk, a broken
file), requests go on being served: queued rows stay queued and the writer retries with backoff
(`retry_delay_s`), up to `max_pending` rows; older rows beyond that are dropped and counted as
lost. `health()` says which (the server shows it on /readyz and /metrics). Reads that need the
database raise `DecisionLogUnavailableError` (HTTP 503) while it fails.

With a retention (`decision_retention_days`), the writer deletes older decisions, feedback and
spend rows in the same transaction as a batch, at most hourly, so the log does not grow forever.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.core.types import JSONObject
from voxgate.store.spend import (
    INSERT_SPEND,
    SPEND_SCHEMA,
    add_audio_columns,
    select_spend,
    speech_row,
    spend_by_key_since,
    spend_row,
)

log = logging.getLogger("voxgate.store")
DEFAULT_MAX_PENDING = 10_000
RETRY_BASE_S = 0.5
RETRY_MAX_S = 30.0
PRUNE_EVERY_S = 3600.0


def retry_delay_s(consecutive_failures: int) -> float:
    """Backoff before the next write attempt: 0.5 s, 1 s, 2 s, ... up to 30 s."""
    if consecutive_failures <= 0:
        return 0.0
    return float(min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (consecutive_failures - 1)))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    chosen TEXT,
    answered_by TEXT,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_created_at ON decisions (created_at);
CREATE INDEX IF NOT EXISTS decisions_answered_by ON decisions (answered_by, created_at);
CREATE TABLE IF NOT EXISTS feedback (
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    created_at REAL NOT NULL,
    score REAL NOT NULL,
    label TEXT
);
CREATE INDEX IF NOT EXISTS feedback_decision ON feedback (decision_id);
"""


class SQLiteDecisionLog:
    """The decision log; with `retention_days`, rows older than that (by the newest decision's
    time) are deleted by the writer, at most once per `PRUNE_EVERY_S` of decision time."""

    DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
    """What a failing database raises; these and the statements below are what `store/postgres` changes."""
    INSERT_DECISION = "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?)"
    INSERT_SPEND = INSERT_SPEND
    DAY_SQL = "date(created_at, 'unixepoch')"

    def __init__(self, path: Path, flush_interval_s: float = 0.05, max_pending: int = DEFAULT_MAX_PENDING,
                 retention_days: float | None = None) -> None:
        self._path = path
        self._where = str(path)
        """Where the log is, for messages and `health()` (no credentials)."""
        self._retention_s = None if retention_days is None else retention_days * 86_400
        self._pruned_at_s = 0.0
        self.pruned = 0
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._pending: dict[str, JSONObject] = {}
        self._pending_speech: list[JSONObject] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxgate-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.written = 0
        self.lost = 0
        self.write_failures = 0
        self._consecutive_failures = 0
        self._last_error: str | None = None
        self._flushing = asyncio.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, check_same_thread=False)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.executescript(_SCHEMA + SPEND_SCHEMA)
                add_audio_columns(connection)
            except sqlite3.Error:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    async def _on_db_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _reading(self, fn: Any, *args: Any) -> Any:
        """A read on the database thread; a database that cannot be read is a 503, not a crash."""
        try:
            return await self._on_db_thread(fn, *args)
        except self.DB_ERRORS as exc:
            raise DecisionLogUnavailableError(
                f"the decision log at {self._where} cannot be read ({exc}); decisions are queued in memory "
                "and written when it recovers (see /readyz)", code="decision_log_unavailable",
            ) from exc

    async def open(self) -> None:
        """Open (or create) the database; a failure is reported by `health()` and retried by the writer."""
        try:
            await self._on_db_thread(self._connect)
        except self.DB_ERRORS as exc:
            self._note_failure(exc)

    def record(self, decision: JSONObject) -> None:
        self._pending[decision["id"]] = decision
        while len(self._pending) > self._max_pending:
            del self._pending[next(iter(self._pending))]
            self.lost += 1
        self._wake.set()

    def record_speech(self, entry: JSONObject) -> None:
        """Queue a voice turn's speech-engine spend row (`store/spend.speech_row`), written with the next batch."""
        self._pending_speech.append(entry)
        if len(self._pending_speech) > self._max_pending:
            del self._pending_speech[0]
            self.lost += 1
        self._wake.set()

    def health(self) -> JSONObject:
        """`ok` or `failing`, with counts: rows written, waiting, lost; the last error."""
        return {"status": "failing" if self._last_error else "ok", "path": self._where,
                "written": self.written, "pending": len(self._pending) + len(self._pending_speech), "lost": self.lost,
                "write_failures": self.write_failures, "error": self._last_error}

    def _note_failure(self, exc: BaseException) -> None:
        self.write_failures += 1
        self._consecutive_failures += 1
        if self._last_error is None:
            log.error("decision log %s cannot be written (%s); serving on, %d rows queued", self._where, exc,
                      len(self._pending))
        self._last_error = f"{type(exc).__name__}: {exc}"

    def _write(self, batch: list[JSONObject], speech: list[JSONObject]) -> None:
        connection = self._connect()
        rows = [
            (d["id"], d["created_at"], d.get("chosen"), d.get("answered_by"), d["outcome"], json.dumps(d))
            for d in batch
        ]
        spend = [row for row in map(spend_row, batch) if row is not None] + [speech_row(e) for e in speech]
        newest_s = max((float(d["created_at"]) for d in batch), default=0.0)
        try:
            with connection:
                connection.executemany(self.INSERT_DECISION, rows)
                connection.executemany(self.INSERT_SPEND, spend)
                if self._retention_s is not None and newest_s - self._pruned_at_s >= PRUNE_EVERY_S:
                    self.pruned += _prune(connection, newest_s - self._retention_s)
                    self._pruned_at_s = newest_s
        except self.DB_ERRORS:
            self._connection = None  # reopen next time: the file may have been replaced or remounted
            connection.close()
            raise

    async def flush(self) -> bool:
        """Write every queued decision; False (rows kept queued) when the database fails."""
        async with self._flushing:
            return await self._flush_pending()

    async def _flush_pending(self) -> bool:
        if not self._pending and not self._pending_speech:
            return True
        batch, speech = list(self._pending.values()), list(self._pending_speech)
        try:
            await self._on_db_thread(self._write, batch, speech)
        except self.DB_ERRORS as exc:
            self._note_failure(exc)
            return False
        if self._last_error is not None:
            log.warning("decision log %s writable again; %d queued rows written", self._where, len(batch))
        self._last_error = None
        self._consecutive_failures = 0
        self.written += len(batch)
        written_speech = {id(entry) for entry in speech}
        self._pending_speech = [entry for entry in self._pending_speech if id(entry) not in written_speech]
        for decision in batch:
            if self._pending.get(decision["id"]) is decision:
                del self._pending[decision["id"]]
        return True

    async def run_writer(self) -> None:
        """Flush queued decisions until `close` is called; run it in a task group."""
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            if not await self.flush():
                self._wake.set()  # retry after the backoff even if nothing new arrives
            if not self._closing:
                await asyncio.sleep(max(self._flush_interval_s, retry_delay_s(self._consecutive_failures)))

    async def close(self) -> None:
        """Write what is queued (rows that cannot be written are counted as lost and logged)."""
        self._closing = True
        self._wake.set()
        written = True
        while (self._pending or self._pending_speech) and written:  # rows may arrive while a flush runs
            written = await self.flush()
        if not written:
            self.lost += len(self._pending) + len(self._pending_speech)
            log.error("decision log %s: %d queued decisions could not be written at shutdown", self._where,
                      len(self._pending) + len(self._pending_speech))
            self._pending.clear()
            self._pending_speech.clear()
        if self._connection is not None:
            await self._on_db_thread(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=True)

    def _select_one(self, decision_id: str) -> str | None:
        row = self._connect().execute("SELECT body FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        return None if row is None else str(row[0])

    def _select_feedback(self, decision_id: str) -> list[JSONObject]:
        rows = self._connect().execute(
            "SELECT created_at, score, label FROM feedback WHERE decision_id = ? ORDER BY created_at", (decision_id,)
        ).fetchall()
        return [{"created_at": row[0], "score": row[1], "label": row[2]} for row in rows]

    async def get(self, decision_id: str) -> JSONObject | None:
        """The decision with any feedback given on it, or None."""
        if decision_id in self._pending:
            return self._pending[decision_id]
        body = await self._reading(self._select_one, decision_id)
        if body is None:
            return None
        decision = dict(json.loads(body))
        feedback = await self._reading(self._select_feedback, decision_id)
        if feedback:
            decision["feedback"] = feedback
        return decision

    def _insert_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> None:
        with self._connect() as connection:
            connection.execute("INSERT INTO feedback VALUES (?, ?, ?, ?)", (decision_id, created_at, score, label))

    async def add_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> bool:
        """Store a quality score in [0, 1] for a decision; False when the decision does not exist."""
        await self.flush()
        if await self._reading(self._select_one, decision_id) is None:
            return False
        await self._reading(self._insert_feedback, decision_id, created_at, score, label)
        return True

    def _select_many(self, since: float | None, model: str | None, limit: int) -> list[str]:
        sql = "SELECT body FROM decisions WHERE created_at >= ?"
        args: list[Any] = [since or 0.0]
        if model is not None:
            sql += " AND (answered_by = ? OR chosen = ?)"
            args += [model, model]
        sql += " ORDER BY created_at DESC LIMIT ?"
        args.append(limit)
        return [str(row[0]) for row in self._connect().execute(sql, args).fetchall()]

    async def query(self, *, since: float | None, model: str | None, limit: int) -> list[JSONObject]:
        await self.flush()
        bodies = await self._reading(self._select_many, since, model, limit)
        return [dict(json.loads(b)) for b in bodies]

    async def spend_by_key(self, since_s: float) -> dict[str, float]:
        """USD per key id since `since_s`, queued decisions included (budget counters start from it)."""
        await self.flush()
        totals: dict[str, float] = await self._reading(lambda: spend_by_key_since(self._connect(), since_s))
        return totals

    async def spend(self, *, key_id: str | None, model: str | None, since_s: float, group_by: str) -> list[JSONObject]:
        """`GET /v1/spend`: totals grouped by key, model, day or none (see store/spend)."""
        await self.flush()
        rows: list[JSONObject] = await self._reading(
            lambda: select_spend(self._connect(), key_id=key_id, model=model, since_s=since_s, group_by=group_by,
                                 day_sql=self.DAY_SQL))
        return rows


def _prune(connection: Any, cutoff_s: float) -> int:
    """Delete decisions, their feedback and spend rows older than `cutoff_s`; how many decisions."""
    connection.execute("DELETE FROM feedback WHERE decision_id IN (SELECT id FROM decisions WHERE created_at < ?)",
                       (cutoff_s,))
    connection.execute("DELETE FROM spend WHERE created_at < ?", (cutoff_s,))
    deleted: int = connection.execute("DELETE FROM decisions WHERE created_at < ?", (cutoff_s,)).rowcount
    return deleted


def read_decisions_with_feedback(path: Path) -> list[tuple[JSONObject, float]]:
    """Every decision that got feedback, oldest first, with the mean of its scores (read-only)."""
    if not path.is_file():
        raise FileNotFoundError(f"no decision log at {path}")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT d.body, AVG(f.score) FROM decisions d JOIN feedback f ON f.decision_id = d.id "
                "GROUP BY d.id ORDER BY d.created_at"
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise ValueError(f"{path} is not a voxgate decision log ({exc})") from exc
    return [(dict(json.loads(body)), float(score)) for body, score in rows]
