"""The `spend` table: one row per finished decision that used tokens, written with the decision,
one per voice turn whose speech engines heard or spoke audio (kind `speech`), and one per HTTP
audio request (`/v1/audio/*`, kind `audio`: a request, with the seconds it was charged).

A row carries the key id (never the key), the answering model (for speech: the engines), tokens,
seconds of audio transcribed (`stt_s`) and synthesised (`tts_s`), the cost in USD at the catalog's
prices and whether the usage was estimated (a stream without a usage chunk). The decision log's
writer inserts these rows in the same transaction as the decisions (`store/sqlite`); `GET
/v1/spend` and the budget counters read them back. Tables made before the audio columns existed
get them on open (`SPEND_MIGRATIONS`, default 0).
"""

from __future__ import annotations

from typing import Any

from voxgate.core.types import JSONObject

SPEND_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    decision_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    key_id TEXT,
    model TEXT,
    kind TEXT NOT NULL,
    cost_usd REAL NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    stt_s REAL NOT NULL DEFAULT 0,
    tts_s REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS spend_key_time ON spend (key_id, created_at);
CREATE INDEX IF NOT EXISTS spend_time ON spend (created_at);
"""
SPEND_COLUMNS = ("decision_id, created_at, key_id, model, kind, cost_usd, prompt_tokens, completion_tokens, "
                 "estimated, stt_s, tts_s")
AUDIO_COLUMNS = ("stt_s", "tts_s")
INSERT_SPEND = f"INSERT OR REPLACE INTO spend ({SPEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SPEECH = "speech"
"""The kind of a voice turn's speech-engine row (not a request: `requests` does not count it)."""
AUDIO = "audio"
"""The kind of an HTTP audio request's row (`/v1/audio/*`: a request, with its seconds)."""
GROUPINGS = ("key", "model", "day", "none")
_GROUP_COLUMNS = {"key": "key_id", "model": "model"}


def spend_row(decision: JSONObject) -> tuple[Any, ...] | None:
    """The spend row of a finished decision, or None when it used no tokens."""
    usage = decision.get("usage")
    if not isinstance(usage, dict):
        return None
    return (
        decision["id"], decision["created_at"], decision.get("key_id"), decision.get("answered_by"),
        decision.get("kind", "chat"), float(decision.get("cost_usd") or 0.0), int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0), 1 if usage.get("estimated") else 0, 0.0, 0.0,
    )


def speech_row(entry: JSONObject) -> tuple[Any, ...]:
    """The row of speech-engine use: `{id, created_at, key_id, engines, cost_usd, stt_s, tts_s}`, kind `speech`
    (a voice turn's) unless the entry says `audio` (an HTTP audio request's)."""
    return (entry["id"], entry["created_at"], entry.get("key_id"), entry["engines"], entry.get("kind", SPEECH),
            float(entry["cost_usd"]), 0, 0, 0, float(entry["stt_s"]), float(entry["tts_s"]))


def add_audio_columns(connection: Any) -> None:
    """Give a spend table made before `stt_s`/`tts_s` existed those columns (SQLite)."""
    have = {row[1] for row in connection.execute("PRAGMA table_info(spend)").fetchall()}
    for column in AUDIO_COLUMNS:
        if column not in have:
            connection.execute(f"ALTER TABLE spend ADD COLUMN {column} REAL NOT NULL DEFAULT 0")


def spend_by_key_since(connection: Any, since_s: float) -> dict[str, float]:
    """USD spent per key id since `since_s` (unix seconds)."""
    rows = connection.execute(
        "SELECT key_id, SUM(cost_usd) FROM spend WHERE key_id IS NOT NULL AND created_at >= ? GROUP BY key_id",
        (since_s,),
    ).fetchall()
    return {str(key_id): float(total) for key_id, total in rows}


def select_spend(
    connection: Any, *, key_id: str | None, model: str | None, since_s: float, group_by: str,
    day_sql: str = "date(created_at, 'unixepoch')",
) -> list[JSONObject]:
    """Spend totals grouped by `key`, `model`, `day` (UTC; `day_sql` is the database's way to
    write it) or `none`, largest first. `connection` is sqlite3's, or one that takes `?` too."""
    column = {**_GROUP_COLUMNS, "day": day_sql}.get(group_by, "'all'")
    sql = (f"SELECT {column}, SUM(cost_usd), COUNT(*), SUM(CASE WHEN kind = '{SPEECH}' THEN 0 ELSE 1 END), "
           "SUM(prompt_tokens), SUM(completion_tokens), SUM(estimated), SUM(stt_s), SUM(tts_s) "
           "FROM spend WHERE created_at >= ?")
    args: list[Any] = [since_s]
    if key_id is not None:
        sql += " AND key_id = ?"
        args.append(key_id)
    if model is not None:
        sql += " AND model = ?"
        args.append(model)
    if group_by != "none":  # Postgres refuses GROUP BY a constant
        sql += f" GROUP BY {column} ORDER BY SUM(cost_usd) DESC, {column}"
    return [
        {group_by: group, "cost_usd": round(float(cost or 0.0), 9), "requests": int(requests or 0),
         "prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0),
         "estimated_requests": int(estimated or 0), "stt_s": round(float(stt_s or 0.0), 3),
         "tts_s": round(float(tts_s or 0.0), 3)}
        for group, cost, count, requests, prompt, completion, estimated, stt_s, tts_s
        in connection.execute(sql, args).fetchall()
        if count
    ]
