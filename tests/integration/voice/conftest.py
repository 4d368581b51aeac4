"""Real recorded speech: the LibriVox clips of Debian's `pocketsphinx-testdata` with their transcripts."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
_LINE = re.compile(r"^<s>\s*(?P<text>.*?)\s*</s>\s*\((?P<clip>[^)]+)\)\s*$")


@dataclass(frozen=True)
class Clip:
    name: str
    pcm16: bytes  # 16 kHz mono
    transcript: str

    @property
    def duration_s(self) -> float:
        return len(self.pcm16) / 2 / 16_000


def load_librivox() -> list[Clip]:
    transcription = LIBRIVOX_DIR / "transcription"
    if not transcription.is_file():
        pytest.skip(
            "real speech needs Debian's pocketsphinx-testdata: apt-get install -y pocketsphinx-testdata"
        )
    clips = []
    for line in transcription.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        with wave.open(str(LIBRIVOX_DIR / f"{match['clip']}.wav"), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16_000, 1, 2)
            clips.append(Clip(match["clip"], wav.readframes(wav.getnframes()), match["text"]))
    return clips


@pytest.fixture(scope="session")
def librivox() -> list[Clip]:
    return load_librivox()
