"""The key table: created keys persist hashed; revoke and rotate change what authenticates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from voxgate.core.keys import BudgetPeriod, KeyPolicy, key_matches
from voxgate.store.keys import SQLiteKeyStore

POLICY = KeyPolicy(budget_usd={BudgetPeriod.DAY: 20.0}, rpm=60, tpm=100_000, models=("a", "b"),
                   profiles=("auto:cost",), routing={"max_cost_usd": 0.01})


def test_keys_persist_with_their_policy_and_only_a_hash(tmp_path: Path) -> None:
    store = SQLiteKeyStore(tmp_path / "v.db")
    key, secret = store.create("team-a", POLICY, 100.0)
    store.close()
    reopened = SQLiteKeyStore(tmp_path / "v.db")
    try:
        found = reopened.get(key.id)
        assert found is not None
        assert found.policy == POLICY
        assert found.name == "team-a"
        assert found.active
        assert key_matches(secret, found)
        assert reopened.find("team-a") == found
    finally:
        reopened.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "v.db").iterdump())
    assert secret not in dump
    assert secret.split("_", 1)[1] not in dump


def test_revoke_and_rotate(tmp_path: Path) -> None:
    store = SQLiteKeyStore(tmp_path / "v.db")
    try:
        key, old_secret = store.create("team-a", POLICY, 100.0)
        rotated = store.rotate(key.id)
        assert rotated is not None
        new_key, new_secret = rotated
        assert new_key.id == key.id
        assert new_key.policy == POLICY
        assert key_matches(new_secret, new_key)
        assert not key_matches(old_secret, new_key)
        revoked = store.revoke(key.id, 200.0)
        assert revoked is not None
        assert not revoked.active
        assert revoked.revoked_at == 200.0
        assert store.rotate(key.id) is None, "a revoked key cannot be brought back by rotating"
        assert store.revoke("000000000000", 1.0) is None
        assert [k.id for k in store.list()] == [key.id]
        assert store.list(include_revoked=False) == []
    finally:
        store.close()
