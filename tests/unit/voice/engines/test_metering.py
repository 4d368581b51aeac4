"""Metered speech engines count the seconds of audio each session's engines handled."""

from __future__ import annotations

import contextlib

import pytest

from voxgate.voice.audio.codecs import pcm16_seconds
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.metering import MeteredTTS, SpeechMeter, engine_name, metered_engines
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT, ToneTTS


def test_pcm16_seconds_follow_the_sample_rate() -> None:
    assert pcm16_seconds(32_000, 16_000) == 1.0
    assert pcm16_seconds(48_000, 24_000) == 1.0
    assert pcm16_seconds(0, 8_000) == 0.0


async def test_a_session_meter_counts_transcribed_and_synthesised_seconds_then_starts_again() -> None:
    shared = VoiceEngines(ScriptedSTT(["hello", "again"]), ToneTTS(tone_ms_per_char=100), EnergyVAD)
    meter = SpeechMeter()
    engines = metered_engines(shared, meter)
    assert (await engines.stt.transcribe(b"\0\0" * 24_000)).text == "hello"  # 1.5 s at 16 kHz
    assert (await engines.stt.transcribe(b"\0\0" * 8_000)).text == "again"   # 0.5 s
    pieces = [piece async for piece in engines.tts.synthesize("abcde")]     # 5 chars x 100 ms
    assert sum(map(len, pieces)) == 2 * 24_000 // 2
    assert meter.take() == pytest.approx((2.0, 0.5))
    assert meter.take() == (0.0, 0.0), "a take starts the count again"
    other = SpeechMeter()
    await metered_engines(shared, other).stt.transcribe(b"\0\0" * 16_000)
    assert (other.stt_s, meter.stt_s) == (1.0, 0.0), "each session has its own meter over the shared engines"


async def test_a_synthesis_stopped_early_counts_only_what_it_yielded() -> None:
    meter = SpeechMeter()
    tts = MeteredTTS(ToneTTS(tone_ms_per_char=100, chunk_ms=100), meter)
    async with contextlib.aclosing(tts.synthesize("a long sentence here")) as stream:
        async for _ in stream:
            break  # barge-in after the first 100 ms piece
    assert meter.tts_s == pytest.approx(0.1)


def test_closing_a_metered_engine_leaves_the_shared_one_open_and_traces_name_the_real_engine() -> None:
    stt, tts = ScriptedSTT(), ToneTTS()
    engines = metered_engines(VoiceEngines(stt, tts, EnergyVAD), SpeechMeter())
    engines.stt.close()
    engines.tts.close()
    assert (stt.closed, tts.closed) == (False, False)
    assert (engine_name(engines.stt), engine_name(engines.tts)) == ("ScriptedSTT", "ToneTTS")
