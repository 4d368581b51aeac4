"""The speech engines a process shares across voice sessions, built from `VoiceSettings`.

    engines = build_voice_engines(settings.voice, settings.cache_dir)
    await engines.load()          # once, at start-up (off the event loop inside each engine)
    ...
    engines.close()

STT and TTS are shared (their methods are safe to call concurrently); a VAD carries per-stream
state, so each session makes its own with `engines.new_vad()`.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voxgate.config import REMOTE_AUDIO, VoiceSettings
from voxgate.voice.engines.openai_audio import OpenAIAudioSTT, OpenAIAudioTTS, RemoteAudioConfig
from voxgate.voice.engines.protocols import EndOfTurnModel, SpeechToText, TextToSpeech, VoiceActivityDetector

log = logging.getLogger("voxgate.voice")


@dataclass(frozen=True)
class VoiceEngines:
    stt: SpeechToText
    tts: TextToSpeech
    new_vad: Callable[[], VoiceActivityDetector]
    turn_model: EndOfTurnModel | None = None  # semantic_vad's audio judge (`voice.turn_model`)

    async def load(self) -> None:
        await self.stt.load()
        await self.tts.load()
        if self.turn_model is not None:
            await self.turn_model.load()
        self.new_vad().reset()  # fails now, not in the first session, if the VAD is missing

    def close(self) -> None:
        self.stt.close()
        self.tts.close()
        if self.turn_model is not None:
            self.turn_model.close()


def build_voice_engines(settings: VoiceSettings, cache_dir: Path) -> VoiceEngines:
    """The default stack: Silero VAD, Whisper (base or tiny.en) with the words it invents from
    non-speech withheld (`speech_guard`), Piper (or espeak-ng); `openai-audio` puts a remote
    server's transcription or speech (`voice.remote`) in Whisper's or Piper's place (guarded too)."""
    from voxgate.voice.engines.silero_vad import SileroVAD
    from voxgate.voice.engines.speech_guard import GuardedSTT
    from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

    recogniser: SpeechToText
    if settings.stt_model == REMOTE_AUDIO:
        recogniser = OpenAIAudioSTT(_remote_config(settings))
    else:
        recogniser = WhisperSTT(WhisperConfig(cache_dir=cache_dir, model=WhisperModelName(settings.stt_model),
                                              utterance_window=settings.stt_window == "utterance"))
    stt = GuardedSTT(recogniser, new_vad=SileroVAD)
    turn_model: EndOfTurnModel | None = None
    if settings.turn_model == "smart-turn":
        from voxgate.voice.engines.smart_turn import SmartTurn

        turn_model = SmartTurn()
    tts: TextToSpeech
    if settings.tts_engine == REMOTE_AUDIO:
        tts = OpenAIAudioTTS(_remote_config(settings))
        return VoiceEngines(stt=stt, tts=tts, new_vad=SileroVAD, turn_model=turn_model)
    if settings.tts_engine == "piper" and importlib.util.find_spec("piper") is None:
        log.warning("piper-tts is not installed (pip install 'voxgate[piper]'); speaking with espeak-ng")
    if settings.tts_engine == "piper" and importlib.util.find_spec("piper") is not None:
        from voxgate.voice.engines.piper_tts import PiperTTS

        tts = PiperTTS()
    else:
        from voxgate.voice.engines.espeak_tts import EspeakTTS

        tts = EspeakTTS()
    return VoiceEngines(stt=stt, tts=tts, new_vad=SileroVAD, turn_model=turn_model)


def _remote_config(settings: VoiceSettings) -> RemoteAudioConfig:
    remote = settings.remote
    assert remote is not None  # VoiceSettings checks it
    return RemoteAudioConfig(base_url=remote.base_url, api_key=remote.api_key, stt_model=remote.stt_model,
                             tts_model=remote.tts_model, voice=remote.voice)
