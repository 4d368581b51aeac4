"""`LeadingSilenceTrim`: a reply's audio starts at its first audible sample (less a few ms)."""

from __future__ import annotations

import numpy as np

from voxgate.voice.audio.silence import AUDIBLE_THRESHOLD, LeadingSilenceTrim


def _pcm(samples: list[int] | np.ndarray) -> bytes:
    return np.asarray(samples, dtype="<i2").tobytes()


def test_quiet_samples_before_the_onset_are_dropped_keeping_a_few_ms() -> None:
    rate_hz, keep = 1_000, 5  # 5 samples of 1 ms
    trim = LeadingSilenceTrim(rate_hz, keep_ms=keep)
    quiet = [3, -7, 12] * 10  # 30 samples of noise under the threshold
    voice = [2_000, -2_500, 100, 40]
    out = np.frombuffer(trim.process(_pcm(quiet + voice)), dtype="<i2")
    assert out.tolist() == quiet[-keep:] + voice


def test_silence_split_over_chunks_is_dropped_and_its_end_put_back() -> None:
    trim = LeadingSilenceTrim(1_000, keep_ms=4)
    assert trim.process(_pcm([1] * 50)) == b""
    assert trim.process(_pcm([2] * 3)) == b""
    assert not trim.heard
    out = np.frombuffer(trim.process(_pcm([0, AUDIBLE_THRESHOLD + 1, 5])), dtype="<i2")
    assert out.tolist() == [2, 2, 2, 0, AUDIBLE_THRESHOLD + 1, 5]


def test_after_the_onset_everything_passes_untouched() -> None:
    trim = LeadingSilenceTrim(24_000)
    trim.process(_pcm([9_000]))
    later = _pcm([0] * 480 + [1] * 10)
    assert trim.process(later) == later
    assert trim.heard
