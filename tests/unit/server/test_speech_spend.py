"""A voice session's speech charges: seconds x `voice.price`, recorded as spend rows and added to
the key's budget counters, so the key's next turn is admitted against them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from voxgate.config import RemoteAudioSettings, VoiceSettings
from voxgate.core.clock import ManualClock
from voxgate.core.errors import QuotaExceededError
from voxgate.core.keys import BudgetPeriod, KeyPolicy, VirtualKey
from voxgate.core.types import RoutingConstraints, SpeechPrice
from voxgate.server.gateway import Gateway
from voxgate.server.limits import KeyGate
from voxgate.server.metrics import GatewayMetrics
from voxgate.server.speech_spend import SpeechBilling, engines_label
from voxgate.server.validation import parse_chat_request
from voxgate.store.sqlite import SQLiteDecisionLog

NOON_S = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC).timestamp()
PRICED = VoiceSettings(stt_model="openai-audio", tts_engine="openai-audio",
                       remote=RemoteAudioSettings(base_url="http://127.0.0.1:9/v1"),
                       price=SpeechPrice(stt_per_minute=6.0, tts_per_minute=12.0))


def _gateway(tmp_path: Path, voice: VoiceSettings = PRICED) -> Any:
    clock = ManualClock(NOON_S)
    return SimpleNamespace(settings=SimpleNamespace(voice=voice), clock=clock, key_gate=KeyGate(clock),
                           decision_log=SQLiteDecisionLog(tmp_path / "log.db"), metrics=GatewayMetrics())


def test_speech_rows_name_the_engines() -> None:
    assert engines_label(VoiceSettings()) == "stt:whisper-base tts:piper"
    assert engines_label(PRICED) == "stt:whisper-1 tts:tts-1"


async def test_each_turns_seconds_are_charged_to_the_key_once(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path)
    key = VirtualKey("0123456789ab", "team-a", "", 0.0, KeyPolicy(budget_usd={BudgetPeriod.DAY: 1.0}))
    billing = SpeechBilling(cast(Gateway, gateway), key)
    seen: list[str] = []
    after_turn = billing.after_turn(lambda metrics: seen.append(str(metrics["type"])))
    billing.meter.stt_s, billing.meter.tts_s = 3.0, 2.0
    after_turn({"type": "voxgate.turn.metrics"})
    assert seen == ["voxgate.turn.metrics"]
    assert billing.charge() is None, "nothing heard or spoken since: no row"
    try:
        (row,) = await gateway.decision_log.spend(key_id=key.id, model=None, since_s=0.0, group_by="key")
        assert (row["stt_s"], row["tts_s"]) == (3.0, 2.0)
        assert row["cost_usd"] == pytest.approx(3.0 / 60 * 6.0 + 2.0 / 60 * 12.0)  # 0.3 + 0.4
        await gateway.key_gate.flush()
        assert (await gateway.key_gate.spent_usd(key.id))[BudgetPeriod.DAY] == pytest.approx(0.7)
        assert gateway.metrics.key_audio.labels(key.id, "tts")._value.get() == 2.0
        billing.meter.stt_s = 30.0  # 3 USD more: past the day's budget
        billing.charge()
        await gateway.key_gate.flush()
        chat = parse_chat_request({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
        with pytest.raises(QuotaExceededError):
            await gateway.key_gate.admit(key, chat, RoutingConstraints())
    finally:
        await gateway.decision_log.close()


async def test_a_session_without_a_key_is_recorded_but_charged_to_nobody(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path, VoiceSettings())
    billing = SpeechBilling(cast(Gateway, gateway), None)
    billing.meter.stt_s = 5.0
    entry = billing.charge()
    assert entry is not None
    assert (entry["key_id"], entry["cost_usd"], entry["engines"]) == (None, 0.0, "stt:whisper-base tts:piper")
    try:
        (row,) = await gateway.decision_log.spend(key_id=None, model=None, since_s=0.0, group_by="none")
        assert (row["stt_s"], row["requests"]) == (5.0, 0)
    finally:
        await gateway.decision_log.close()
