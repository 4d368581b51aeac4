"""Audio files in and out: any container FFmpeg reads -> PCM16, and PCM16 -> a streamed file.

    pcm16 = decode_recording(data, sample_rate_hz=16_000, max_duration_s=600)   # mono PCM16
    encoder = AudioFileEncoder("mp3", sample_rate_hz=24_000)
    first = encoder.push(pcm16_chunk)        # bytes ready to send (maybe b"")
    last = encoder.finish()                  # the rest

Decoding and compressed encoding use PyAV (FFmpeg's libraries; a dependency of faster-whisper).
`wav` is written without FFmpeg: a RIFF header whose sizes say "unknown" (0xFFFFFFFF, as streaming
servers write it), then the samples; `pcm` is the bare samples. Compressed formats come out as
streams that need no seeking: `mp3`, `opus` (Ogg), `aac` (ADTS), `flac`.
Errors are `InvalidRequestError` with code `invalid_audio`: they describe the caller's file.
"""

from __future__ import annotations

import io
import struct
from typing import Literal

import numpy as np

from voxgate.core.errors import InvalidRequestError

OutputFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("mp3", "opus", "aac", "flac", "wav", "pcm")
MEDIA_TYPES: dict[OutputFormat, str] = {
    "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
    "wav": "audio/wav", "pcm": "audio/pcm",
}
_CONTAINERS: dict[str, tuple[str, str]] = {  # format -> (FFmpeg muxer, encoder)
    "mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac"), "flac": ("flac", "flac"),
}
_OPUS_RATES_HZ = (8_000, 12_000, 16_000, 24_000, 48_000)
_STREAMING_SIZE = 0xFFFFFFFF


def _invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param="file", code="invalid_audio")


def decode_recording(data: bytes, sample_rate_hz: int, max_duration_s: float) -> bytes:
    """The first audio stream of `data` as mono PCM16 at `sample_rate_hz`; blocking (run it in a thread).

    A file FFmpeg cannot read, one without audio, or one longer than `max_duration_s` is refused.
    """
    import av

    max_samples = int(max_duration_s * sample_rate_hz)
    pieces: list[bytes] = []
    total_samples = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _invalid("the uploaded file holds no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate_hz)
            for frame in container.decode(container.streams.audio[0]):
                for converted in resampler.resample(frame):
                    pieces.append(converted.to_ndarray().astype("<i2").tobytes())
                    total_samples += converted.samples
                if total_samples > max_samples:
                    raise _invalid(f"the recording is longer than {max_duration_s:g} s; send a shorter one")
            for converted in resampler.resample(None):
                pieces.append(converted.to_ndarray().astype("<i2").tobytes())
    except av.FFmpegError as exc:
        raise _invalid(f"the uploaded file is not audio voxgate can decode ({type(exc).__name__})") from exc
    return b"".join(pieces)


def wav_stream_header(sample_rate_hz: int) -> bytes:
    """A mono PCM16 RIFF/WAVE header for a stream of unknown length."""
    return _wav_header(sample_rate_hz, _STREAMING_SIZE, _STREAMING_SIZE)


def wav_file(pcm16: bytes, sample_rate_hz: int) -> bytes:
    """A whole mono PCM16 WAV file holding `pcm16`."""
    return _wav_header(sample_rate_hz, 36 + len(pcm16), len(pcm16)) + pcm16


def _wav_header(sample_rate_hz: int, riff_size: int, data_size: int) -> bytes:
    byte_rate = sample_rate_hz * 2
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate_hz, byte_rate, 2, 16)
            + b"data" + struct.pack("<I", data_size))


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that hands out what was written since the last `take`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


class AudioFileEncoder:
    """Mono PCM16 at `sample_rate_hz` in, `output_format` bytes out, piece by piece (blocking calls)."""

    def __init__(self, output_format: OutputFormat, sample_rate_hz: int) -> None:
        if output_format == "opus" and sample_rate_hz not in _OPUS_RATES_HZ:
            raise ValueError(f"opus cannot encode {sample_rate_hz} Hz; use one of {_OPUS_RATES_HZ}")
        self._format = output_format
        self._rate_hz = sample_rate_hz
        self._started = False
        self._sink = _Sink()
        self._container: object | None = None
        self._stream: object | None = None

    def push(self, pcm16: bytes) -> bytes:
        """Encode more samples; return the bytes that are ready."""
        if self._format == "pcm":
            return pcm16
        if self._format == "wav":
            header = b"" if self._started else wav_stream_header(self._rate_hz)
            self._started = True
            return header + pcm16
        return self._encode(pcm16)

    def finish(self) -> bytes:
        """Flush the encoder and close the container; return the last bytes."""
        if self._format == "wav" and not self._started:
            self._started = True
            return wav_stream_header(self._rate_hz)
        if self._format in ("pcm", "wav"):
            return b""
        return self._encode(None)

    def _encode(self, pcm16: bytes | None) -> bytes:
        import av

        if self._container is None:
            muxer, codec = _CONTAINERS[self._format]
            container = av.open(self._sink, mode="w", format=muxer)
            self._stream = container.add_stream(codec, rate=self._rate_hz, layout="mono")
            self._container = container
        assert isinstance(self._container, av.container.OutputContainer)
        assert isinstance(self._stream, av.audio.stream.AudioStream)
        frame = None
        if pcm16:
            samples = np.frombuffer(pcm16, dtype="<i2").reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            frame.sample_rate = self._rate_hz
        if pcm16 is not None and frame is None:
            return b""
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        if pcm16 is None:
            self._container.close()
        return self._sink.take()
