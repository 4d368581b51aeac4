"""The decision log in SQLite (WAL mode), written in batches off the event loop.

`record` never blocks: it queues the decision. `run_writer` (started in the server's task
group) flushes the queue every `flush_interval_s` on a single database thread. Reads see
queued decisions too, so a decision is queryable as soon as its response is sent.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voxgate.core.types import JSONObject

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
    def __init__(self, path: Path, flush_interval_s: float = 0.05) -> None:
        self._path = path
        self._flush_interval_s = flush_interval_s
        self._pending: dict[str, JSONObject] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxgate-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    async def _on_db_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        await self._on_db_thread(self._connect)

    def record(self, decision: JSONObject) -> None:
        self._pending[decision["id"]] = decision
        self._wake.set()

    def _write(self, batch: list[JSONObject]) -> None:
        connection = self._connect()
        rows = [
            (d["id"], d["created_at"], d.get("chosen"), d.get("answered_by"), d["outcome"], json.dumps(d))
            for d in batch
        ]
        with connection:
            connection.executemany("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?)", rows)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch = list(self._pending.values())
        await self._on_db_thread(self._write, batch)
        for decision in batch:
            if self._pending.get(decision["id"]) is decision:
                del self._pending[decision["id"]]

    async def run_writer(self) -> None:
        """Flush queued decisions until `close` is called; run it in a task group."""
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            if not self._closing:
                await asyncio.sleep(self._flush_interval_s)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self.flush()
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
        body = await self._on_db_thread(self._select_one, decision_id)
        if body is None:
            return None
        decision = dict(json.loads(body))
        feedback = await self._on_db_thread(self._select_feedback, decision_id)
        if feedback:
            decision["feedback"] = feedback
        return decision

    def _insert_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> None:
        with self._connect() as connection:
            connection.execute("INSERT INTO feedback VALUES (?, ?, ?, ?)", (decision_id, created_at, score, label))

    async def add_feedback(self, decision_id: str, created_at: float, score: float, label: str | None) -> bool:
        """Store a quality score in [0, 1] for a decision; False when the decision does not exist."""
        await self.flush()
        if await self._on_db_thread(self._select_one, decision_id) is None:
            return False
        await self._on_db_thread(self._insert_feedback, decision_id, created_at, score, label)
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
        bodies = await self._on_db_thread(self._select_many, since, model, limit)
        return [dict(json.loads(b)) for b in bodies]


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
