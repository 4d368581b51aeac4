"""The audio formats a realtime client may send and receive, named as the beta protocol names them.

    PCM16   16-bit little-endian PCM, 24 kHz mono   (GA `audio/pcm`)
    PCMU    G.711 μ-law, 8 kHz mono                 (GA `audio/pcmu`)
    PCMA    G.711 A-law, 8 kHz mono                 (GA `audio/pcma`)
"""

from __future__ import annotations

from enum import StrEnum

from voxgate.core.types import JSONObject


class AudioFormat(StrEnum):
    PCM16 = "pcm16"
    PCMU = "g711_ulaw"
    PCMA = "g711_alaw"

    @property
    def sample_rate_hz(self) -> int:
        return 24_000 if self is AudioFormat.PCM16 else 8_000

    @property
    def ga_json(self) -> JSONObject:
        if self is AudioFormat.PCM16:
            return {"type": "audio/pcm", "rate": 24_000}
        return {"type": "audio/pcmu" if self is AudioFormat.PCMU else "audio/pcma"}
