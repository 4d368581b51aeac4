"""The decision log survives restarts and answers by id, time and model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.core.types import JSONObject
from voxgate.store.sqlite import SQLiteDecisionLog, retry_delay_s


def _decision(decision_id: str, created_at: float, model: str) -> JSONObject:
    return {"id": decision_id, "created_at": created_at, "chosen": model, "answered_by": model, "outcome": "ok",
            "candidates": [{"model": model, "reason": "chosen"}]}


async def test_records_are_readable_before_and_after_flush_and_survive_restart(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = SQLiteDecisionLog(path)
    await log.open()
    log.record(_decision("dec_1", 10.0, "a"))
    assert (await log.get("dec_1")) == _decision("dec_1", 10.0, "a"), "queued decisions are readable at once"
    log.record(_decision("dec_2", 20.0, "b"))
    log.record(_decision("dec_3", 30.0, "a"))
    await log.close()

    reopened = SQLiteDecisionLog(path)
    await reopened.open()
    try:
        assert (await reopened.get("dec_2")) == _decision("dec_2", 20.0, "b")
        assert await reopened.get("dec_missing") is None
        newest_first = await reopened.query(since=None, model=None, limit=10)
        assert [d["id"] for d in newest_first] == ["dec_3", "dec_2", "dec_1"]
        assert [d["id"] for d in await reopened.query(since=15.0, model=None, limit=10)] == ["dec_3", "dec_2"]
        assert [d["id"] for d in await reopened.query(since=None, model="a", limit=10)] == ["dec_3", "dec_1"]
        assert len(await reopened.query(since=None, model=None, limit=1)) == 1
    finally:
        await reopened.close()


async def test_writer_flushes_in_background_and_stops_on_close(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db", flush_interval_s=0.01)
    await log.open()
    async with asyncio.TaskGroup() as tasks:
        writer = tasks.create_task(log.run_writer())
        log.record(_decision("dec_1", 1.0, "a"))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not log._pending:
                break
        assert not log._pending, "the writer flushed the queue"
        await log.close()
        writer.cancel()
    assert writer.done()


async def test_wal_mode_is_on(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    await log.open()
    log.record(_decision("dec_1", 1.0, "a"))
    await log.flush()
    assert (tmp_path / "log.db-wal").exists()
    await log.close()


async def test_feedback_is_stored_with_the_decision(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    await log.open()
    try:
        log.record(_decision("dec_1", 1.0, "a"))
        assert await log.add_feedback("dec_1", 2.0, 0.75, "helpful")
        assert await log.add_feedback("dec_1", 3.0, 0.0, None)
        assert not await log.add_feedback("dec_missing", 2.0, 1.0, None)
        found = await log.get("dec_1")
        assert found is not None
        assert found["feedback"] == [
            {"created_at": 2.0, "score": 0.75, "label": "helpful"},
            {"created_at": 3.0, "score": 0.0, "label": None},
        ]
    finally:
        await log.close()


async def test_a_database_that_cannot_be_opened_queues_rows_counts_losses_and_recovers(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    log = SQLiteDecisionLog(blocker / "log.db", max_pending=3)
    await log.open()
    assert log.health()["status"] == "failing"
    for index in range(5):
        log.record(_decision(f"dec_{index}", float(index), "a"))
    assert await log.flush() is False
    health = log.health()
    assert (health["pending"], health["lost"], health["written"]) == (3, 2, 0)
    assert health["write_failures"] == 2
    assert await log.get("dec_4") is not None, "queued rows stay readable"
    with pytest.raises(DecisionLogUnavailableError):
        await log.query(since=None, model=None, limit=10)

    blocker.unlink()
    assert await log.flush() is True
    health = log.health()
    assert (health["status"], health["pending"], health["lost"], health["written"]) == ("ok", 0, 2, 3)
    assert [d["id"] for d in await log.query(since=None, model=None, limit=10)] == ["dec_4", "dec_3", "dec_2"]
    await log.close()


async def test_rows_that_cannot_be_written_at_shutdown_are_counted_lost(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    log = SQLiteDecisionLog(blocker / "log.db")
    await log.open()
    log.record(_decision("dec_1", 1.0, "a"))
    await log.close()
    assert log.health()["lost"] == 1


def test_write_retries_back_off_to_a_ceiling() -> None:
    assert [retry_delay_s(n) for n in range(5)] == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert retry_delay_s(50) == 30.0


async def test_spend_rows_are_written_with_their_decisions_and_grouped(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    await log.open()
    try:
        for index, (key_id, model, cost, estimated) in enumerate(
            [("k1", "a", 0.5, False), ("k1", "b", 0.25, True), ("k2", "a", 1.0, False)]
        ):
            usage = {"prompt_tokens": 10, "completion_tokens": 5, **({"estimated": True} if estimated else {})}
            log.record({**_decision(f"dec_{index}", 100.0 + index, model), "key_id": key_id, "usage": usage,
                        "cost_usd": cost})
        log.record(_decision("dec_no_usage", 50.0, "a"))
        assert await log.spend_by_key(0.0) == {"k1": 0.75, "k2": 1.0}
        assert await log.spend_by_key(101.5) == {"k2": 1.0}
        by_key = await log.spend(key_id=None, model=None, since_s=0.0, group_by="key")
        assert [(r["key"], r["cost_usd"], r["requests"], r["estimated_requests"]) for r in by_key] == [
            ("k2", 1.0, 1, 0), ("k1", 0.75, 2, 1)]
        by_model = await log.spend(key_id="k1", model=None, since_s=0.0, group_by="model")
        assert [(r["model"], r["cost_usd"], r["prompt_tokens"]) for r in by_model] == [("a", 0.5, 10), ("b", 0.25, 10)]
    finally:
        await log.close()


async def test_retention_prunes_old_decisions_feedback_and_spend_hourly(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db", retention_days=32)
    await log.open()
    day_s = 86_400.0
    usage = {"usage": {"prompt_tokens": 1, "completion_tokens": 1}, "cost_usd": 1.0, "key_id": "k"}
    try:
        log.record({**_decision("dec_old", 0.0, "a"), **usage})
        await log.flush()
        assert await log.add_feedback("dec_old", 1.0, 1.0, None)
        log.record({**_decision("dec_kept", 10 * day_s, "a"), **usage})
        log.record({**_decision("dec_new", 40 * day_s, "a"), **usage})
        await log.flush()
        assert await log.get("dec_old") is None
        assert [d["id"] for d in await log.query(since=None, model=None, limit=10)] == ["dec_new", "dec_kept"]
        assert await log.spend_by_key(0.0) == {"k": 2.0}
        assert log.pruned == 1
        log.record({**_decision("dec_later", 40 * day_s + 60, "a"), **usage})
        await log.flush()
        assert log.pruned == 1, "at most once an hour of decision time"
    finally:
        await log.close()
