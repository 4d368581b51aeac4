"""Audio files: decoding uploads, streaming encoders (PyAV in-process, no sockets)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_samples
from voxgate.voice.audio.containers import (
    OUTPUT_FORMATS,
    AudioFileEncoder,
    decode_recording,
    wav_file,
    wav_stream_header,
)


def _tone(rate_hz: int, seconds: float, frequency_hz: float = 440.0) -> bytes:
    times_s = np.arange(int(rate_hz * seconds)) / rate_hz
    return float_to_pcm16(0.5 * np.sin(2 * np.pi * frequency_hz * times_s))



def _dominant_hz(pcm16: bytes, rate_hz: int) -> float:
    samples = pcm16_samples(pcm16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / rate_hz)[int(np.argmax(spectrum))])


def test_a_wav_is_decoded_and_resampled_to_the_asked_rate() -> None:
    pcm = decode_recording(wav_file(_tone(44_100, 1.0), 44_100), 16_000, max_duration_s=10)
    assert abs(len(pcm) / 2 - 16_000) <= 200
    assert abs(_dominant_hz(pcm, 16_000) - 440.0) < 5


@pytest.mark.parametrize("data", [b"", b"hello, not audio at all", b"RIFF\x00\x00\x00\x00WAVEjunk"])
def test_what_is_not_audio_is_an_invalid_request(data: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_recording(data, 16_000, max_duration_s=10)
    assert caught.value.code == "invalid_audio"
    assert caught.value.param == "file"


def test_a_recording_over_the_length_limit_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="longer than 2 s"):
        decode_recording(wav_file(_tone(16_000, 3.0), 16_000), 16_000, max_duration_s=2)


def test_a_wav_file_reads_back() -> None:
    tone = _tone(16_000, 0.5)
    with wave.open(io.BytesIO(wav_file(tone, 16_000)), "rb") as audio:
        assert (audio.getnchannels(), audio.getframerate(), audio.getnframes()) == (1, 16_000, 8_000)
        assert audio.readframes(8_000) == tone


def test_the_streaming_wav_header_describes_mono_pcm16() -> None:
    header = wav_stream_header(24_000)
    assert len(header) == 44
    with wave.open(io.BytesIO(header + _tone(24_000, 0.1)), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 24_000)


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_each_format_streams_and_decodes_back_to_the_tone(output_format: str) -> None:
    encoder = AudioFileEncoder(output_format, 24_000)  # type: ignore[arg-type]
    tone = _tone(24_000, 1.0)
    pieces = [encoder.push(tone[start : start + 4800]) for start in range(0, len(tone), 4800)]
    pieces.append(encoder.finish())
    encoded = b"".join(pieces)
    if output_format == "pcm":
        assert encoded == tone
        return
    assert sum(1 for piece in pieces[:-1] if piece) >= (1 if output_format == "opus" else 3)  # streamed
    decoded = decode_recording(encoded, 24_000, max_duration_s=10)
    assert abs(len(decoded) / 2 - 24_000) <= 2_400
    assert abs(_dominant_hz(decoded, 24_000) - 440.0) < 5


def test_an_empty_wav_stream_is_still_a_header() -> None:
    assert AudioFileEncoder("wav", 24_000).finish() == wav_stream_header(24_000)
