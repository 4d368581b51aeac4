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

from voxgate.config import VoiceSettings
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
    """The default stack: Silero VAD, Whisper (base or tiny.en), Piper (or espeak-ng)."""
    from voxgate.voice.engines.silero_vad import SileroVAD
    from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

    stt = WhisperSTT(WhisperConfig(cache_dir=cache_dir, model=WhisperModelName(settings.stt_model),
                                   utterance_window=settings.stt_window == "utterance"))
    tts: TextToSpeech
    if settings.tts_engine == "piper" and importlib.util.find_spec("piper") is None:
        log.warning("piper-tts is not installed (pip install 'voxgate[piper]'); speaking with espeak-ng")
    if settings.tts_engine == "piper" and importlib.util.find_spec("piper") is not None:
        from voxgate.voice.engines.piper_tts import PiperTTS

        tts = PiperTTS()
    else:
        from voxgate.voice.engines.espeak_tts import EspeakTTS

        tts = EspeakTTS()
    turn_model: EndOfTurnModel | None = None
    if settings.turn_model == "smart-turn":
        from voxgate.voice.engines.smart_turn import SmartTurn

        turn_model = SmartTurn()
    return VoiceEngines(stt=stt, tts=tts, new_vad=SileroVAD, turn_model=turn_model)
