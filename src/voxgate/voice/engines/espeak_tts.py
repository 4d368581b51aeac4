"""Text to speech with the `espeak-ng` program (Debian package `espeak-ng`): the fallback voice.

A formant synthesiser: robotic but tiny, instant (first audio in milliseconds) and always there.
Each `synthesize` call runs `espeak-ng --stdout`, writes the text to its standard input and
streams the WAV it prints, header stripped, as PCM16 at 22050 Hz. Closing the iterator kills the
process. No worker threads: the process runs beside the event loop.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from voxgate.core.errors import ModelAssemblyError

ESPEAK_SAMPLE_RATE_HZ = 22_050
_READ_BYTES = 8192
_MAX_HEADER_BYTES = 4096


@dataclass(frozen=True)
class EspeakConfig:
    """`voice` is an espeak-ng voice name; `words_per_minute` its speed."""

    binary: str = "espeak-ng"
    voice: str = "en-us"
    words_per_minute: int = 175


class EspeakTTS:
    """TextToSpeech backed by the espeak-ng command-line program."""

    def __init__(self, config: EspeakConfig | None = None) -> None:
        self._config = config or EspeakConfig()

    @property
    def sample_rate_hz(self) -> int:
        return ESPEAK_SAMPLE_RATE_HZ

    async def load(self) -> None:
        """Check that the program is installed."""
        self._binary_path()

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Yield PCM16 at 22050 Hz as espeak-ng writes it."""
        if not text.strip():
            return
        process = await asyncio.create_subprocess_exec(
            self._binary_path(),
            "--stdout",
            "-v",
            self._config.voice,
            "-s",
            str(self._config.words_per_minute),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            if process.stdin is None or process.stdout is None:
                raise ModelAssemblyError("espeak-ng started without pipes")
            process.stdin.write(text.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()
            pending = await _skip_wav_header(process.stdout)
            while True:
                whole = len(pending) - len(pending) % 2
                if whole:
                    yield pending[:whole]
                pending = pending[whole:]
                chunk = await process.stdout.read(_READ_BYTES)
                if not chunk:
                    return
                pending += chunk
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()

    def close(self) -> None:
        """Nothing to release: each synthesis owns its process."""

    def _binary_path(self) -> str:
        path = shutil.which(self._config.binary)
        if path is None:
            raise ModelAssemblyError(
                f"{self._config.binary!r} is not installed; on Debian: apt-get install -y espeak-ng"
            )
        return path


async def _skip_wav_header(stream: asyncio.StreamReader) -> bytes:
    """Read up to the start of the WAV `data` chunk; return the sample bytes read past it."""
    buffer = b""
    while True:
        chunk = await stream.read(_READ_BYTES)
        if not chunk:
            if buffer:
                raise ModelAssemblyError("espeak-ng wrote a truncated WAV header")
            return b""
        buffer += chunk
        data_offset = _data_offset(buffer)
        if data_offset is not None:
            return buffer[data_offset:]
        if len(buffer) > _MAX_HEADER_BYTES:
            raise ModelAssemblyError("espeak-ng output is not a WAV stream")


def _data_offset(header: bytes) -> int | None:
    """Offset of the first sample in a RIFF/WAVE stream, or None if more bytes are needed."""
    if len(header) < 12:
        return None
    if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise ModelAssemblyError("espeak-ng output is not a WAV stream")
    offset = 12
    while offset + 8 <= len(header):
        chunk_id, chunk_size = header[offset : offset + 4], struct.unpack_from("<I", header, offset + 4)[0]
        if chunk_id == b"fmt ":
            _check_format(header, offset + 8, chunk_size)
        if chunk_id == b"data":
            return offset + 8
        offset += 8 + chunk_size + chunk_size % 2
    return None


def _check_format(header: bytes, start: int, size: int) -> None:
    if start + 16 > len(header) or size < 16:
        return
    channels, rate_hz = struct.unpack_from("<HI", header, start + 2)
    bits = struct.unpack_from("<H", header, start + 14)[0]
    if (channels, rate_hz, bits) != (1, ESPEAK_SAMPLE_RATE_HZ, 16):
        raise ModelAssemblyError(
            f"espeak-ng wrote {channels} channel(s) at {rate_hz} Hz, {bits} bit; expected mono 16-bit"
        )
