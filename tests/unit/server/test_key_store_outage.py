"""The admin routes while the key table's database cannot be reached: a 503 in OpenAI's error shape
(`key_store_unavailable`), not a 500 (the real Postgres outage: tests/integration/test_postgres.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from voxgate.config import Settings, VoiceSettings
from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.server.errors import error_response
from voxgate.server.gateway import Gateway


def _unreachable() -> None:
    raise sqlite3.OperationalError("unable to open database file")


def _refused_by_the_table() -> None:
    raise ValueError("a bug, not an outage")


async def test_a_key_table_that_cannot_be_reached_answers_503_in_openai_shape(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "voxgate.db", voice=VoiceSettings(enabled=False))
    async with Gateway(settings).run() as gateway:
        with pytest.raises(DecisionLogUnavailableError) as refused:
            await gateway.run_on_key_store(_unreachable)
        with pytest.raises(ValueError, match="a bug"):  # only database errors become 503s
            await gateway.run_on_key_store(_refused_by_the_table)
    response = error_response(refused.value)
    assert response.status_code == 503
    body = json.loads(bytes(response.body))
    assert body["error"]["type"] == "server_error"
    assert body["error"]["code"] == "key_store_unavailable"
    assert "cannot be reached" in body["error"]["message"]
