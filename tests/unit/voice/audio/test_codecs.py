"""G.711 against ITU-T reference values (and CPython's audioop where it still exists), PCM16 <-> float."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.codecs import (
    decode_alaw,
    decode_ulaw,
    encode_alaw,
    encode_ulaw,
    float_to_pcm16,
    pcm16_to_float,
)

Codec = Callable[[bytes], bytes]
ALL_PCM16 = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def _pcm(*values: int) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


def _samples(pcm16: bytes) -> list[int]:
    return [int(v) for v in np.frombuffer(pcm16, dtype="<i2")]


def _audioop() -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("audioop")
        except ImportError:  # removed in Python 3.13
            return None


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        (0, 0xFF),
        (-1, 0x7E),
        (-4, 0x7E),
        (32767, 0x80),
        (-32768, 0x00),
        (1000, 0xCE),
        (-1000, 0x4E),
        (8, 0xFE),
    ],
)
def test_ulaw_encode_reference_values(sample: int, code: int) -> None:
    assert encode_ulaw(_pcm(sample)) == bytes([code])


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xD5), (-1, 0x55), (32767, 0xAA), (-32768, 0x2A), (1000, 0xFA), (-1000, 0x7A)],
)
def test_alaw_encode_reference_values(sample: int, code: int) -> None:
    assert encode_alaw(_pcm(sample)) == bytes([code])


def test_ulaw_decode_reference_values() -> None:
    assert _samples(decode_ulaw(bytes([0xFF, 0x7F, 0x80, 0x00, 0xCE]))) == [0, 0, 32124, -32124, 988]


def test_alaw_decode_reference_values() -> None:
    assert _samples(decode_alaw(bytes([0xD5, 0x55, 0xAA, 0x2A, 0xFA]))) == [8, -8, 32256, -32256, 1008]


def test_codecs_match_audioop_for_every_sample_and_code() -> None:
    audioop = _audioop()
    if audioop is None:
        pytest.skip("audioop is not available on this Python")
    assert encode_ulaw(ALL_PCM16) == audioop.lin2ulaw(ALL_PCM16, 2)
    assert encode_alaw(ALL_PCM16) == audioop.lin2alaw(ALL_PCM16, 2)
    assert decode_ulaw(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert decode_alaw(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize(("encode", "decode"), [(encode_ulaw, decode_ulaw), (encode_alaw, decode_alaw)])
def test_codes_survive_decode_then_encode(encode: Codec, decode: Codec) -> None:
    # μ-law has two zeros: 0x7F ("negative zero") decodes to 0, which encodes as 0xFF.
    codes = bytes(c for c in ALL_CODES if c != 0x7F) if encode is encode_ulaw else ALL_CODES
    assert encode(decode(codes)) == codes


@pytest.mark.parametrize(("encode", "decode"), [(encode_ulaw, decode_ulaw), (encode_alaw, decode_alaw)])
def test_round_trip_error_is_within_the_segment_step(encode: Codec, decode: Codec) -> None:
    original = np.frombuffer(ALL_PCM16, dtype="<i2").astype(np.int64)
    decoded = np.frombuffer(decode(encode(ALL_PCM16)), dtype="<i2").astype(np.int64)
    error = np.abs(decoded - original)
    # Logarithmic quantisation: the error grows with the magnitude, never past ~3 % plus one low step.
    assert np.all(error <= np.abs(original) * 0.032 + 16)
    assert error.max() <= 1024


@pytest.mark.parametrize(("encode", "decode"), [(encode_ulaw, decode_ulaw), (encode_alaw, decode_alaw)])
def test_round_trip_signal_to_noise_on_a_tone(encode: Codec, decode: Codec) -> None:
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    decoded = pcm16_to_float(decode(encode(float_to_pcm16(tone))))
    noise = decoded - tone
    snr_db = 10 * np.log10(np.mean(tone**2) / np.mean(noise**2))
    assert snr_db > 35  # G.711 gives ~38 dB on a loud signal


def test_one_byte_per_sample() -> None:
    assert len(encode_ulaw(_pcm(*range(100)))) == 100
    assert len(decode_alaw(bytes(50))) == 100


def test_pcm16_float_round_trip_is_exact() -> None:
    assert float_to_pcm16(pcm16_to_float(ALL_PCM16)) == ALL_PCM16


def test_pcm16_to_float_scale() -> None:
    assert pcm16_to_float(_pcm(-32768, 0, 16384)).tolist() == [-1.0, 0.0, 0.5]
    assert pcm16_to_float(b"").dtype == np.float32


def test_float_to_pcm16_clips() -> None:
    assert _samples(float_to_pcm16([2.0, -2.0, 1.0, 0.25])) == [32767, -32768, 32767, 8192]


@pytest.mark.parametrize("function", [pcm16_to_float, encode_ulaw, encode_alaw])
def test_odd_byte_count_is_an_invalid_request(function: Callable[[bytes], object]) -> None:
    with pytest.raises(InvalidRequestError, match="even number of bytes") as caught:
        function(b"\x00\x01\x02")
    assert caught.value.code == "invalid_audio"
