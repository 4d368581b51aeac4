"""Voice sessions charged for their speech engines, not only for the LLM's tokens.

Each realtime session meters its speech-to-text and text-to-speech (`voice/engines/metering`).
After every voice turn, and once more when the session ends, `SpeechBilling.charge` turns the
seconds since the last charge into USD at `voice.price` (per minute of audio; the bundled engines
cost 0 unless priced) and
- queues a spend row of kind `speech` (`store/spend.speech_row`: the engines, `stt_s`, `tts_s`);
- adds the USD to the session key's budget counters (`KeyGate.observe_spend`), so the next turn,
  on any replica sharing Redis, is admitted against it;
- adds the seconds and USD to the key's Prometheus counters.
A turn's LLM tokens are charged by its decision, as for any HTTP request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from voxgate.config import REMOTE_AUDIO, VoiceSettings
from voxgate.core.keys import VirtualKey
from voxgate.core.types import JSONObject
from voxgate.server.gateway import Gateway
from voxgate.voice.engines.metering import SpeechMeter


def engines_label(voice: VoiceSettings) -> str:
    """What the spend table's `model` says for speech rows, e.g. `stt:whisper-base tts:piper`."""
    remote = voice.remote
    stt = remote.stt_model if voice.stt_model == REMOTE_AUDIO and remote else f"whisper-{voice.stt_model}"
    tts = remote.tts_model if voice.tts_engine == REMOTE_AUDIO and remote else voice.tts_engine
    return f"stt:{stt} tts:{tts}"


class SpeechBilling:
    """One session's speech charges: its meter, its key (None: recorded, charged to nobody)."""

    def __init__(self, gateway: Gateway, key: VirtualKey | None) -> None:
        self._gateway = gateway
        self._key = key
        self._price = gateway.settings.voice.price
        self._engines = engines_label(gateway.settings.voice)
        self.meter = SpeechMeter()

    def charge(self) -> JSONObject | None:
        """Record what the engines did since the last charge; the spend entry, or None when nothing."""
        stt_s, tts_s = self.meter.take()
        if stt_s <= 0 and tts_s <= 0:
            return None
        cost_usd = self._price.cost_usd(stt_s, tts_s)
        created_at = self._gateway.clock.wall_s()
        key_id = self._key.id if self._key is not None else None
        entry: JSONObject = {"id": f"speech-{uuid.uuid4().hex}", "created_at": created_at, "key_id": key_id,
                             "engines": self._engines, "cost_usd": cost_usd, "stt_s": stt_s, "tts_s": tts_s}
        self._gateway.decision_log.record_speech(entry)
        if key_id is not None:
            self._gateway.key_gate.observe_spend(key_id, cost_usd, created_at)
            self._gateway.metrics.observe_key_speech(key_id, stt_s, tts_s, cost_usd)
        return entry

    def after_turn(self, observe: Callable[[JSONObject], None]) -> Callable[[JSONObject], None]:
        """A turn-metrics callback that charges the turn's speech, then passes the metrics on."""
        def charged(metrics: JSONObject) -> None:
            self.charge()
            observe(metrics)
        return charged
