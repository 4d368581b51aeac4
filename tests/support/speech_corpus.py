"""Real recorded speech: the LibriVox clips of Debian's `pocketsphinx-testdata`, with transcripts.

    clips = load_librivox()     # five clips of read speech, 3-7 s, 16 kHz mono PCM16, in file order
    samples = await synthesised(tts, "Five five.", 16_000)   # a TTS engine's speech, float32 at any rate

One loader for the tests (a `librivox` fixture that fails without the package) and the benches
(which exit with the same hint). Raises LibriVoxMissing when the package is not installed.
"""

from __future__ import annotations

import contextlib
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxgate.voice.audio.codecs import pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.protocols import TextToSpeech

LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
INSTALL_HINT = "real speech needs Debian's pocketsphinx-testdata: apt-get install -y pocketsphinx-testdata"
_LINE = re.compile(r"^<s>\s*(?P<text>.*?)\s*</s>\s*\((?P<clip>[^)]+)\)\s*$")


class LibriVoxMissing(FileNotFoundError):
    """The clips are not installed; the message says how to install them."""


@dataclass(frozen=True)
class Clip:
    name: str
    pcm16: bytes  # 16 kHz mono
    transcript: str

    @property
    def duration_s(self) -> float:
        return len(self.pcm16) / 2 / 16_000


def load_librivox(directory: Path = LIBRIVOX_DIR) -> list[Clip]:
    """Every clip named in `transcription`, in its order, with its reference text."""
    transcription = directory / "transcription"
    if not transcription.is_file():
        raise LibriVoxMissing(INSTALL_HINT)
    clips = []
    for line in transcription.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        with wave.open(str(directory / f"{match['clip']}.wav"), "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (16_000, 1, 2):
                raise ValueError(f"{match['clip']}.wav is not 16 kHz mono PCM16")
            clips.append(Clip(match["clip"], wav.readframes(wav.getnframes()), match["text"]))
    return clips


async def synthesised(tts: TextToSpeech, text: str, rate_hz: int) -> npt.NDArray[np.float32]:
    """`text` spoken by `tts`, as float32 samples resampled to `rate_hz`."""
    async with contextlib.aclosing(tts.synthesize(text)) as chunks:
        pcm16 = b"".join([chunk async for chunk in chunks])
    return resample(pcm16_to_float(pcm16), tts.sample_rate_hz, rate_hz)
