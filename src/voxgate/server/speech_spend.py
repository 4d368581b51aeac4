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

The HTTP audio routes (`server/audio_routes`) are charged the same way, one `SpeechBilling` per
request with `kind` `audio` (a row that counts as a request in `/v1/spend`) and the one engine
it used as the row's model (`stt:whisper-base`, `tts:piper`): `settle` charges what the request
used so far (before its answer ends when `KeyGate.settles_first` says so), `charged_after` is the
response's background task that charges what is left (a client gone mid-stream) and writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from voxgate.config import REMOTE_AUDIO, VoiceSettings
from voxgate.core.keys import VirtualKey
from voxgate.core.types import JSONObject
from voxgate.server.gateway import Gateway
from voxgate.server.limits import Admission
from voxgate.store.spend import SPEECH
from voxgate.voice.engines.metering import SpeechMeter


def stt_label(voice: VoiceSettings) -> str:
    """The speech-to-text engine as spend rows name it, e.g. `stt:whisper-base`."""
    remote = voice.remote
    return f"stt:{remote.stt_model if voice.stt_model == REMOTE_AUDIO and remote else f'whisper-{voice.stt_model}'}"


def tts_label(voice: VoiceSettings) -> str:
    """The text-to-speech engine as spend rows name it, e.g. `tts:piper`."""
    remote = voice.remote
    return f"tts:{remote.tts_model if voice.tts_engine == REMOTE_AUDIO and remote else voice.tts_engine}"


def engines_label(voice: VoiceSettings) -> str:
    """What the spend table's `model` says for a voice session's rows, e.g. `stt:whisper-base tts:piper`."""
    return f"{stt_label(voice)} {tts_label(voice)}"


class SpeechBilling:
    """One session's (or audio request's) speech charges: its meter, its key (None: recorded, charged
    to nobody); `engines` and `kind` name its spend rows (default: a voice session's)."""

    def __init__(self, gateway: Gateway, key: VirtualKey | None, engines: str | None = None,
                 kind: str = SPEECH) -> None:
        self._gateway = gateway
        self._key = key
        self._price = gateway.settings.voice.price
        self._engines = engines or engines_label(gateway.settings.voice)
        self._kind = kind
        self.meter = SpeechMeter()

    def charge(self) -> JSONObject | None:
        """Record what the engines did since the last charge; the spend entry, or None when nothing."""
        stt_s, tts_s = self.meter.take()
        if stt_s <= 0 and tts_s <= 0:
            return None
        cost_usd = self._price.cost_usd(stt_s, tts_s)
        created_at = self._gateway.clock.wall_s()
        key_id = self._key.id if self._key is not None else None
        entry: JSONObject = {"id": f"{self._kind}-{uuid.uuid4().hex}", "created_at": created_at, "key_id": key_id,
                             "engines": self._engines, "kind": self._kind, "cost_usd": cost_usd, "stt_s": stt_s,
                             "tts_s": tts_s}
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

    async def settle(self, admission: Admission) -> None:
        """Charge what was used so far; write it to the key's counters now when it nearly uses up a
        budget (`KeyGate.settles_first`), so the key's next request is refused on every replica."""
        entry = self.charge()
        if entry is not None and self._gateway.key_gate.settles_first(admission, float(entry["cost_usd"])):
            await self._gateway.key_gate.flush()

    async def charged_after(self) -> None:
        """The response's background task: charge what is left and write the key's usage."""
        self.charge()
        await self._gateway.key_gate.flush()
