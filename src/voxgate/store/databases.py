"""Which database the settings name: SQLite (a file path, the embedded default) or Postgres
(`database: postgresql://...`). The server and the CLI open their stores through here."""

from __future__ import annotations

from voxgate.config import Settings
from voxgate.store.keys import SQLiteKeyStore
from voxgate.store.sqlite import SQLiteDecisionLog


def open_decision_log(settings: Settings) -> SQLiteDecisionLog:
    if settings.database_url is not None:
        from voxgate.store.postgres import PostgresDecisionLog

        return PostgresDecisionLog(settings.database_url, max_pending=settings.decision_log_max_pending,
                                   retention_days=settings.decision_retention_days)
    return SQLiteDecisionLog(settings.database_path, max_pending=settings.decision_log_max_pending,
                             retention_days=settings.decision_retention_days)


def open_key_store(settings: Settings) -> SQLiteKeyStore:
    if settings.database_url is not None:
        from voxgate.store.postgres import PostgresKeyStore

        return PostgresKeyStore(settings.database_url)
    return SQLiteKeyStore(settings.database_path)
