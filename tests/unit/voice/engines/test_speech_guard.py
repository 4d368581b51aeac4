"""`GuardedSTT` on fake engines: words over audio without speech are withheld, speech passes."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.protocols import DecodeSignals, SpeechToText
from voxgate.voice.engines.speech_guard import GuardedSTT, measure_speech
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT

RATE_HZ = 16_000
DOUBTED = DecodeSignals(no_speech_probability=0.5, average_logprob=-1.5, compression_ratio=0.5)


def _tone(duration_s: float, amplitude: float = 0.3) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * 300.0 * np.arange(int(RATE_HZ * duration_s)) / RATE_HZ)


def _pcm16(*parts: np.ndarray) -> bytes:
    return float_to_pcm16(np.concatenate(parts))


def _guarded(*transcripts: str, signals: DecodeSignals | None = None) -> tuple[GuardedSTT, ScriptedSTT]:
    inner = ScriptedSTT(transcripts, signals=signals)
    return GuardedSTT(inner, new_vad=EnergyVAD), inner


def test_measure_speech_counts_the_frames_the_vad_calls_speech() -> None:
    samples = np.concatenate([np.zeros(RATE_HZ), _tone(0.512)]).astype(np.float32)
    speech = measure_speech(samples, EnergyVAD())
    assert speech.voiced_s == pytest.approx(0.512)
    assert speech.duration_s == pytest.approx(1.512)
    assert speech.share == pytest.approx(0.512 / 1.512)


def test_is_a_speech_to_text() -> None:
    assert isinstance(_guarded()[0], SpeechToText)


async def test_words_over_silence_are_withheld_with_their_reasons() -> None:
    stt, inner = _guarded("Thank you.")
    try:
        transcript = await stt.transcribe(bytes(2 * RATE_HZ))
    finally:
        stt.close()
    assert (transcript.text, transcript.withheld) == ("", ("vad_heard_nothing",))
    assert transcript.duration_s == pytest.approx(1.0)
    assert inner.received == [bytes(2 * RATE_HZ)]
    assert inner.closed


async def test_words_over_speech_pass_untouched() -> None:
    stt, _ = _guarded("what time is it", "you", signals=DecodeSignals(0.05, -0.2, 0.9))
    try:
        first = await stt.transcribe(_pcm16(np.zeros(8_000), _tone(0.6), np.zeros(8_000)))
        second = await stt.transcribe(_pcm16(_tone(0.4)))
    finally:
        stt.close()
    assert (first.text, first.withheld) == ("what time is it", ())
    assert (second.text, second.withheld) == ("you", ())


async def test_a_doubted_known_phrase_is_withheld_even_over_loud_audio() -> None:
    stt, _ = _guarded("you", signals=DOUBTED)
    try:
        transcript = await stt.transcribe(_pcm16(_tone(1.0)))
    finally:
        stt.close()
    assert (transcript.text, transcript.withheld) == ("", ("known_phrase",))


async def test_odd_audio_is_refused_before_any_work() -> None:
    stt, inner = _guarded("never")
    try:
        with pytest.raises(InvalidRequestError):
            await stt.transcribe(b"\x00\x01\x02")
    finally:
        stt.close()
    assert inner.received == []


async def test_load_makes_the_detector_and_a_mismatched_rate_is_refused() -> None:
    stt = GuardedSTT(ScriptedSTT(), new_vad=lambda: EnergyVAD(sample_rate_hz=8_000, frame_samples=256))
    try:
        with pytest.raises(ValueError, match="8000 Hz"):
            await stt.load()
    finally:
        stt.close()
