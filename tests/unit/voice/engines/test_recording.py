"""A recording cut at its pauses and transcribed stretch by stretch (fake engines, no models)."""

from __future__ import annotations

import itertools

import numpy as np

from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.recording import find_speech, transcribe_recording
from voxgate.voice.engines.testing import EnergyVAD, ScriptedSTT
from voxgate.voice.engines.vad import VadConfig

RATE_HZ = 16_000


def _recording(*parts: tuple[str, float]) -> bytes:
    """("tone" | "silence", seconds) pieces joined into 16 kHz PCM16."""
    pieces = []
    for kind, seconds in parts:
        times_s = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
        level = 0.3 if kind == "tone" else 0.0
        pieces.append(level * np.sin(2 * np.pi * 300.0 * times_s))
    return float_to_pcm16(np.concatenate(pieces))


def test_stretches_follow_the_pauses() -> None:
    pcm = _recording(("silence", 1.0), ("tone", 2.0), ("silence", 1.5), ("tone", 1.0), ("silence", 1.0))
    stretches = find_speech(pcm, EnergyVAD(), VadConfig(prefix_padding_ms=0, silence_duration_ms=500))
    assert len(stretches) == 2
    (a_start, a_end), (b_start, b_end) = stretches
    assert abs(a_start - RATE_HZ) <= 512
    assert abs(b_start - 4.5 * RATE_HZ) <= 512
    assert 3.0 * RATE_HZ <= a_end <= 3.6 * RATE_HZ  # the stop includes the 500 ms of silence
    assert 5.5 * RATE_HZ <= b_end <= 6.1 * RATE_HZ
    assert a_end <= b_start


def test_no_stretch_is_longer_than_the_limit_and_speech_at_the_end_is_kept() -> None:
    pcm = _recording(("tone", 7.0))
    stretches = find_speech(pcm, EnergyVAD(), VadConfig(prefix_padding_ms=0), max_segment_s=3.0)
    assert len(stretches) == 3
    assert all(end - start <= 3.5 * RATE_HZ for start, end in stretches)
    assert stretches[-1][1] == len(pcm) // 2
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(stretches))


async def test_silence_is_never_sent_to_the_recogniser() -> None:
    stt = ScriptedSTT(["should not be used"])
    segments = [s async for s in transcribe_recording(_recording(("silence", 3.0)), stt, EnergyVAD())]
    assert segments == []
    assert stt.received == []


async def test_segments_carry_times_and_empty_transcripts_are_skipped() -> None:
    pcm = _recording(("tone", 1.0), ("silence", 1.0), ("tone", 1.0), ("silence", 1.0), ("tone", 1.0))
    stt = ScriptedSTT(["first", "", "third"])
    segments = [s async for s in transcribe_recording(pcm, stt, EnergyVAD(), VadConfig(prefix_padding_ms=0))]
    assert [(s.index, s.text) for s in segments] == [(0, "first"), (1, "third")]
    assert segments[0].start_s == 0.0
    assert 4.0 <= segments[1].start_s <= 4.1
    assert len(stt.received) == 3

