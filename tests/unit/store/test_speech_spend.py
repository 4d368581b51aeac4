"""Speech-engine spend rows: written beside the decisions' rows, counted in totals and budgets,
and a spend table from before the audio columns is migrated in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voxgate.core.types import JSONObject, SpeechPrice
from voxgate.store.sqlite import SQLiteDecisionLog


def test_speech_is_priced_per_minute_of_audio() -> None:
    price = SpeechPrice(stt_per_minute=0.006, tts_per_minute=0.015)
    assert price.cost_usd(60.0, 0.0) == pytest.approx(0.006)
    assert price.cost_usd(30.0, 120.0) == pytest.approx(0.003 + 0.030)
    assert SpeechPrice().cost_usd(600.0, 600.0) == 0.0, "the bundled engines cost nothing unless priced"


def _speech(entry_id: str, key_id: str | None, stt_s: float, tts_s: float, cost_usd: float) -> JSONObject:
    return {"id": entry_id, "created_at": 100.0, "key_id": key_id, "engines": "stt:whisper-1 tts:tts-1",
            "cost_usd": cost_usd, "stt_s": stt_s, "tts_s": tts_s}


def _decision(decision_id: str, key_id: str, cost_usd: float) -> JSONObject:
    return {"id": decision_id, "created_at": 100.0, "chosen": "m", "answered_by": "m", "outcome": "ok",
            "key_id": key_id, "cost_usd": cost_usd, "usage": {"prompt_tokens": 10, "completion_tokens": 5}}


async def test_speech_rows_add_seconds_and_usd_but_not_requests(tmp_path: Path) -> None:
    log = SQLiteDecisionLog(tmp_path / "log.db")
    await log.open()
    try:
        log.record(_decision("dec_1", "k1", 0.5))
        log.record_speech(_speech("speech-1", "k1", 3.0, 4.5, 0.25))
        log.record_speech(_speech("speech-2", "k1", 1.0, 0.5, 0.05))
        log.record_speech(_speech("speech-3", None, 2.0, 2.0, 0.0))
        assert log.health()["pending"] == 4
        assert await log.spend_by_key(0.0) == {"k1": pytest.approx(0.8)}
        assert log.health()["pending"] == 0
        (k1,) = await log.spend(key_id="k1", model=None, since_s=0.0, group_by="none")
        assert (k1["cost_usd"], k1["requests"], k1["stt_s"], k1["tts_s"]) == (pytest.approx(0.8), 1, 4.0, 5.0)
        by_model = {r["model"]: r for r in await log.spend(key_id=None, model=None, since_s=0.0, group_by="model")}
        assert by_model["stt:whisper-1 tts:tts-1"]["stt_s"] == 6.0
        assert by_model["m"]["stt_s"] == 0.0
    finally:
        await log.close()


async def test_a_spend_table_from_before_the_audio_columns_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("""CREATE TABLE spend (decision_id TEXT PRIMARY KEY, created_at REAL NOT NULL, key_id TEXT,
                   model TEXT, kind TEXT NOT NULL, cost_usd REAL NOT NULL, prompt_tokens INTEGER NOT NULL,
                   completion_tokens INTEGER NOT NULL, estimated INTEGER NOT NULL)""")
    old.execute("INSERT INTO spend VALUES ('dec_old', 50.0, 'k1', 'm', 'chat', 1.0, 3, 4, 0)")
    old.commit()
    old.close()
    log = SQLiteDecisionLog(path)
    await log.open()
    try:
        log.record_speech(_speech("speech-1", "k1", 2.0, 1.0, 0.5))
        (k1,) = await log.spend(key_id="k1", model=None, since_s=0.0, group_by="key")
        assert (k1["cost_usd"], k1["requests"], k1["stt_s"], k1["tts_s"]) == (1.5, 1, 2.0, 1.0)
    finally:
        await log.close()
    again = SQLiteDecisionLog(path)  # opening a migrated table again changes nothing
    await again.open()
    assert again.health()["status"] == "ok"
    await again.close()


async def test_queued_speech_rows_are_bounded_and_drops_counted(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    log = SQLiteDecisionLog(blocker / "log.db", max_pending=2)
    for index in range(3):
        log.record_speech(_speech(f"speech-{index}", "k1", 1.0, 1.0, 0.1))
    assert (log.health()["pending"], log.health()["lost"]) == (2, 1)
    await log.close()
    assert log.health()["lost"] == 3
