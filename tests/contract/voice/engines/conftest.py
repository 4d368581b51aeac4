"""Each contract test runs once per implementation of its protocol."""

from __future__ import annotations

import pytest

from tests.support.speech_engines import STT_NAMES, TTS_NAMES, VAD_NAMES, build_stt, build_tts, build_vad
from voxgate.voice.engines.protocols import SpeechToText, TextToSpeech, VoiceActivityDetector


@pytest.fixture(params=STT_NAMES)
def stt(request: pytest.FixtureRequest) -> SpeechToText:
    return build_stt(request.param)


@pytest.fixture(params=TTS_NAMES)
def tts(request: pytest.FixtureRequest) -> TextToSpeech:
    return build_tts(request.param)


@pytest.fixture(params=VAD_NAMES)
def vad(request: pytest.FixtureRequest) -> VoiceActivityDetector:
    return build_vad(request.param)
