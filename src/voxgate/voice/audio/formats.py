"""The audio formats a realtime client may send and receive, named as the beta protocol names them.

    PCM16   16-bit little-endian PCM, 24 kHz mono   (GA `audio/pcm`)
    PCMU    G.711 μ-law, 8 kHz mono                 (GA `audio/pcmu`)
    PCMA    G.711 A-law, 8 kHz mono                 (GA `audio/pcma`)

    decode_to_pcm16(raw, audio_format)     # a client's input bytes -> PCM16 at the format's rate
    encode_from_pcm16(pcm16, audio_format) # PCM16 at the format's rate -> bytes for the client
"""

from __future__ import annotations

from enum import StrEnum

from voxgate.core.types import JSONObject
from voxgate.voice.audio.codecs import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw, pcm16_samples


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


def decode_to_pcm16(raw: bytes, audio_format: AudioFormat) -> bytes:
    """Input bytes in `audio_format` to PCM16 at the format's rate; odd PCM16 byte counts are refused."""
    if audio_format is AudioFormat.PCMU:
        return decode_ulaw(raw)
    if audio_format is AudioFormat.PCMA:
        return decode_alaw(raw)
    pcm16_samples(raw)  # raises on an odd byte count
    return raw


def encode_from_pcm16(pcm16: bytes, audio_format: AudioFormat) -> bytes:
    """PCM16 at the format's rate to the bytes `audio_format` carries."""
    if audio_format is AudioFormat.PCMU:
        return encode_ulaw(pcm16)
    if audio_format is AudioFormat.PCMA:
        return encode_alaw(pcm16)
    return pcm16
