"""What every VoiceActivityDetector must do."""

from __future__ import annotations

import numpy as np
import pytest

from voxgate.voice.engines.protocols import VoiceActivityDetector


def _frames(vad: VoiceActivityDetector, count: int, amplitude: float) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [(amplitude * rng.uniform(-1, 1, vad.frame_samples)).astype(np.float32) for _ in range(count)]


def test_satisfies_the_protocol(vad: VoiceActivityDetector) -> None:
    assert isinstance(vad, VoiceActivityDetector)
    assert vad.sample_rate_hz in (8_000, 16_000)
    assert 0 < vad.frame_samples <= vad.sample_rate_hz // 10


def test_silence_is_not_speech(vad: VoiceActivityDetector) -> None:
    silence = np.zeros(vad.frame_samples, dtype=np.float32)
    assert all(vad.speech_probability(silence) < 0.5 for _ in range(20))


def test_probabilities_are_in_range(vad: VoiceActivityDetector) -> None:
    for frame in _frames(vad, 20, 0.8):
        assert 0.0 <= vad.speech_probability(frame) <= 1.0


def test_wrong_frame_size_is_rejected(vad: VoiceActivityDetector) -> None:
    with pytest.raises(ValueError, match="frame"):
        vad.speech_probability(np.zeros(vad.frame_samples + 1, dtype=np.float32))


def test_reset_makes_a_stream_repeatable(vad: VoiceActivityDetector) -> None:
    frames = _frames(vad, 15, 0.3)
    first = [vad.speech_probability(frame) for frame in frames]
    vad.reset()
    second = [vad.speech_probability(frame) for frame in frames]
    assert second == pytest.approx(first, abs=1e-6)


def test_does_not_modify_the_frame(vad: VoiceActivityDetector) -> None:
    frame = _frames(vad, 1, 0.5)[0]
    original = frame.copy()
    vad.speech_probability(frame)
    assert np.array_equal(frame, original)
