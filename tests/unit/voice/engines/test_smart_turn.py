"""smart-turn's input window: the turn's last 8 s at 16 kHz, left-padded with silence, normalised."""

from __future__ import annotations

import numpy as np

from voxgate.voice.engines.smart_turn import SAMPLE_RATE_HZ, WINDOW_S, model_window


def test_a_short_turn_is_padded_with_silence_before_it() -> None:
    turn = np.full(SAMPLE_RATE_HZ, 0.5, dtype=np.float32)
    window = model_window(turn)
    assert window.shape == (WINDOW_S * SAMPLE_RATE_HZ,)
    assert window.dtype == np.float32
    assert np.all(window[: -SAMPLE_RATE_HZ] == window[0])  # the padding: one value
    assert window[-1] > window[0]  # the speech comes last
    assert abs(float(window.mean())) < 1e-4
    assert abs(float(window.std()) - 1.0) < 1e-3


def test_a_long_turn_keeps_its_last_8_s() -> None:
    turn = np.concatenate([np.zeros(SAMPLE_RATE_HZ * 5, dtype=np.float32),
                           np.random.default_rng(3).normal(0, 0.1, SAMPLE_RATE_HZ * 8).astype(np.float32)])
    window = model_window(turn)
    expected = turn[-WINDOW_S * SAMPLE_RATE_HZ :]
    np.testing.assert_allclose(window, (expected - expected.mean()) / np.sqrt(expected.var() + 1e-7), rtol=1e-4,
                               atol=1e-4)
