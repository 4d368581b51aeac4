"""Key strings: the id is readable from the string, only a hash is kept, periods start at UTC bounds."""

from __future__ import annotations

from datetime import UTC, datetime

from voxgate.core.keys import (
    BudgetPeriod,
    KeyPolicy,
    VirtualKey,
    hash_key,
    key_id_of,
    key_matches,
    new_key_id,
    new_key_string,
    period_start_s,
)


def test_a_key_string_carries_its_id_and_matches_only_its_hash() -> None:
    key_id = new_key_id()
    secret = new_key_string(key_id)
    assert key_id_of(secret) == key_id
    stored = VirtualKey(id=key_id, name="a", key_hash=hash_key(secret), created_at=0.0, policy=KeyPolicy())
    assert key_matches(secret, stored)
    assert not key_matches(new_key_string(key_id), stored), "same id, other secret"
    assert secret not in repr(stored)
    assert stored.key_hash not in str(stored.as_dict())


def test_strings_that_are_not_virtual_keys_have_no_id() -> None:
    for text in ("", "sk-local-1", "sk-vg-", "sk-vg-XYZ_abc", f"sk-vg-{'a' * 12}_short", "sk-vg-0123456789ab"):
        assert key_id_of(text) is None, text


def test_periods_start_at_utc_midnight_and_the_first_of_the_month() -> None:
    now_s = datetime(2026, 12, 2, 13, 45, 10, tzinfo=UTC).timestamp()
    assert period_start_s(BudgetPeriod.DAY, now_s) == datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    assert period_start_s(BudgetPeriod.MONTH, now_s) == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
