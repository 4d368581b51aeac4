"""Durable state: the decision log (SQLite in WAL mode)."""
