"""VadSegmenter on scripted probabilities (a sample-count clock, no wall time) and SpeechDetector
framing a stream for a detector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.voice.engines.testing import EnergyVAD
from voxgate.voice.engines.vad import SpeechDetector, SpeechEvent, SpeechStarted, SpeechStopped, VadConfig, VadSegmenter

FRAME = 512  # 32 ms at 16 kHz


def push_all(segmenter: VadSegmenter, probabilities: list[float]) -> list[tuple[int, SpeechEvent]]:
    events: list[tuple[int, SpeechEvent]] = []
    for index, probability in enumerate(probabilities):
        event = segmenter.push(probability, FRAME)
        if event is not None:
            events.append((index, event))
    return events


def test_start_and_stop_with_padding_and_silence() -> None:
    config = VadConfig(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
    probabilities = [0.0] * 50 + [0.9] * 40 + [0.0] * 30
    events = push_all(VadSegmenter(config), probabilities)
    # Speech begins at frame 50 = 1600 ms; padding moves it to 1300 ms.
    assert events[0] == (50, SpeechStarted(audio_start_ms=1300))
    # Silence from frame 90 (2880 ms); 500 ms is 15.6 frames, so frame 105 ends it at 106 * 32 ms.
    assert events[1] == (105, SpeechStopped(audio_end_ms=106 * 32))
    assert len(events) == 2


def test_padding_never_goes_before_the_stream() -> None:
    events = push_all(VadSegmenter(VadConfig(prefix_padding_ms=1000)), [0.0, 0.9])
    assert events == [(1, SpeechStarted(audio_start_ms=0))]


def test_hysteresis_keeps_speech_through_a_dip() -> None:
    config = VadConfig(threshold=0.5, hysteresis=0.15, silence_duration_ms=100)
    events = push_all(VadSegmenter(config), [0.9] + [0.4] * 20 + [0.3] * 4)
    assert [type(e) for _, e in events] == [SpeechStarted, SpeechStopped]
    assert events[1][0] == 24  # 0.4 >= 0.35 counts as speech; four frames of 0.3 reach 100 ms


def test_short_pause_does_not_stop_speech() -> None:
    config = VadConfig(silence_duration_ms=200)
    events = push_all(VadSegmenter(config), [0.9] * 5 + [0.0] * 6 + [0.9] * 5)
    assert [type(e) for _, e in events] == [SpeechStarted]


def test_reset_forgets_speech_but_keeps_the_clock() -> None:
    segmenter = VadSegmenter(VadConfig())
    push_all(segmenter, [0.9] * 10)
    segmenter.reset()
    assert not segmenter.speaking
    assert segmenter.clock_ms == 320


@pytest.mark.parametrize("bad", [{"threshold": 1.5}, {"prefix_padding_ms": -1}, {"silence_duration_ms": -5}])
def test_config_rejects_out_of_range(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        VadConfig(**bad)  # type: ignore[arg-type]


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=300))
def test_events_alternate_and_times_increase(probabilities: list[float]) -> None:
    events = [e for _, e in push_all(VadSegmenter(VadConfig()), probabilities)]
    assert all(isinstance(e, SpeechStarted) == (i % 2 == 0) for i, e in enumerate(events))
    times = [e.audio_start_ms if isinstance(e, SpeechStarted) else e.audio_end_ms for e in events]
    assert all(0 <= t <= len(probabilities) * 32 for t in times)
    stops = [e.audio_end_ms for e in events if isinstance(e, SpeechStopped)]
    assert stops == sorted(stops)


def _tone_in_silence(rate_hz: int = 16_000) -> np.ndarray:
    silence = np.zeros(rate_hz, dtype=np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate_hz) / rate_hz)).astype(np.float32)
    return np.concatenate([silence, tone, silence])


def test_detector_frames_any_chunking_the_same() -> None:
    signal = _tone_in_silence()
    one_piece = SpeechDetector(EnergyVAD(), VadConfig()).feed(signal)
    detector = SpeechDetector(EnergyVAD(), VadConfig())
    chunked = [
        event for start in range(0, signal.size, 333) for event in detector.feed(signal[start : start + 333])
    ]
    assert chunked == one_piece
    # The tone starts inside the frame at 992 ms; silence from 2016 ms lasts 500 ms by 2528 ms.
    assert one_piece == [SpeechStarted(audio_start_ms=992 - 300), SpeechStopped(audio_end_ms=2528)]
    assert detector.clock_ms == signal.size // FRAME * 32


def test_detector_reset_forgets_speech() -> None:
    detector = SpeechDetector(EnergyVAD(), VadConfig())
    detector.feed(_tone_in_silence()[:20_000])
    assert detector.speaking
    detector.reset()
    assert not detector.speaking
