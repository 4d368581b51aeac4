"""Sample formats: PCM16 <-> float32, and ITU-T G.711 μ-law and A-law.

All functions are pure and vectorised with numpy. G.711 follows the ITU-T reference
(the classic Sun `g711.c`, also used by CPython's `audioop`): μ-law works on the top 14 bits of a
16-bit sample with a bias of 0x84 (33 in 14-bit units), A-law on the top 13 bits with even bits
inverted (0x55).
Silence encodes as 0xFF (μ-law) and 0xD5 (A-law).

    pcm16_seconds(len(pcm), hz)   -> seconds of mono PCM16 audio
    pcm16_to_float(b"...")        -> float32 array in [-1, 1)
    float_to_pcm16(samples)       -> little-endian PCM16 bytes (clipped)
    encode_ulaw(pcm16) / decode_ulaw(ulaw)    bytes in, bytes out
    encode_alaw(pcm16) / decode_alaw(alaw)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voxgate.core.errors import InvalidRequestError

FloatSamples = npt.NDArray[np.float32]
Int16Samples = npt.NDArray[np.int16]

_PCM16_SCALE = 32768.0
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


PCM16_BYTES_PER_SAMPLE = 2


def pcm16_seconds(pcm16_bytes: int, sample_rate_hz: int) -> float:
    """Seconds of mono 16-bit audio in `pcm16_bytes` bytes."""
    return pcm16_bytes / PCM16_BYTES_PER_SAMPLE / sample_rate_hz


def pcm16_samples(pcm16: bytes) -> Int16Samples:
    """View little-endian PCM16 bytes as int16 samples; an odd byte count is an InvalidRequestError."""
    if len(pcm16) % 2:
        raise InvalidRequestError(
            f"PCM16 audio must have an even number of bytes, got {len(pcm16)}", code="invalid_audio"
        )
    return np.frombuffer(pcm16, dtype="<i2").astype(np.int16, copy=False)


def pcm16_to_float(pcm16: bytes) -> FloatSamples:
    """Decode little-endian PCM16 bytes to float32 samples in [-1, 1)."""
    return (pcm16_samples(pcm16).astype(np.float32) / np.float32(_PCM16_SCALE)).astype(np.float32)


def float_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Encode float samples (nominally [-1, 1]) as little-endian PCM16, clipping out-of-range values."""
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * _PCM16_SCALE)
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


def encode_ulaw(pcm16: bytes) -> bytes:
    """Encode PCM16 bytes as G.711 μ-law, one byte per sample."""
    samples = pcm16_samples(pcm16).astype(np.int32) >> 2
    mask = np.where(samples < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(samples), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude, side="left")
    mantissa = (magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ mask).astype(np.uint8).tobytes()


def decode_ulaw(ulaw: bytes) -> bytes:
    """Decode G.711 μ-law bytes to PCM16 bytes."""
    code = ~np.frombuffer(ulaw, dtype=np.uint8).astype(np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    linear = np.where(code & 0x80, _ULAW_BIAS - magnitude, magnitude - _ULAW_BIAS)
    return linear.astype("<i2").tobytes()


def encode_alaw(pcm16: bytes) -> bytes:
    """Encode PCM16 bytes as G.711 A-law, one byte per sample."""
    samples = pcm16_samples(pcm16).astype(np.int32) >> 3
    negative = samples < 0
    magnitude = np.where(negative, -samples - 1, samples)
    mask = np.where(negative, 0x55, 0xD5)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude, side="left")
    shift = np.where(segment < 2, 1, segment)
    mantissa = (magnitude >> shift) & 0x0F
    code = np.where(segment >= 8, 0x7F, (np.minimum(segment, 7) << 4) | mantissa)
    return (code ^ mask).astype(np.uint8).tobytes()


def decode_alaw(alaw: bytes) -> bytes:
    """Decode G.711 A-law bytes to PCM16 bytes."""
    code = np.frombuffer(alaw, dtype=np.uint8).astype(np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    base = ((code & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    magnitude = np.where(segment > 1, base << np.maximum(segment - 1, 0), base)
    linear = np.where(code & 0x80, magnitude, -magnitude)
    return linear.astype("<i2").tobytes()
