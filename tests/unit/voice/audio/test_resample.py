"""The resampler keeps a tone's frequency and amplitude, removes what cannot be represented, and
gives the same samples whether fed in one piece or in chunks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxgate.voice.audio.resample import StreamingResampler, resample

RATE_PAIRS = [
    (24_000, 16_000),
    (16_000, 24_000),
    (8_000, 16_000),
    (16_000, 8_000),
    (22_050, 24_000),
    (22_050, 8_000),
    (22_050, 16_000),
]


def _tone(
    frequency_hz: float, rate_hz: int, duration_s: float, amplitude: float = 0.5
) -> npt.NDArray[np.float64]:
    return amplitude * np.sin(2 * np.pi * frequency_hz * np.arange(int(rate_hz * duration_s)) / rate_hz)


def _dominant_frequency_hz(signal: npt.NDArray[np.float32], rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1 / rate_hz)[np.argmax(spectrum)])


@pytest.mark.parametrize(("from_hz", "to_hz"), RATE_PAIRS)
def test_tone_keeps_frequency_amplitude_and_phase(from_hz: int, to_hz: int) -> None:
    output = resample(_tone(440.0, from_hz, 1.0), from_hz, to_hz)
    assert output.dtype == np.float32
    assert output.size == to_hz
    assert _dominant_frequency_hz(output, to_hz) == pytest.approx(440.0, abs=1.5)
    middle = output[200:-200]
    assert np.max(np.abs(middle)) == pytest.approx(0.5, abs=0.005)
    expected = _tone(440.0, to_hz, 1.0)[200:-200]
    assert np.max(np.abs(middle - expected)) < 0.002  # delay removed exactly: same phase


@pytest.mark.parametrize(("from_hz", "to_hz"), [p for p in RATE_PAIRS if p[1] < p[0]])
def test_frequencies_above_the_new_nyquist_are_removed(from_hz: int, to_hz: int) -> None:
    alias_source_hz = min(to_hz / 2 * 1.1, from_hz / 2 * 0.95)
    output = resample(_tone(alias_source_hz, from_hz, 1.0), from_hz, to_hz)
    rms = float(np.sqrt(np.mean(output[500:-500] ** 2)))
    assert rms < 0.5 * 10 ** (-60 / 20)  # at least 60 dB down


@pytest.mark.parametrize(("from_hz", "to_hz"), [(24_000, 16_000), (22_050, 24_000), (8_000, 16_000)])
def test_passband_is_flat_to_eight_tenths_of_nyquist(from_hz: int, to_hz: int) -> None:
    edge_hz = 0.8 * min(from_hz, to_hz) / 2
    output = resample(_tone(edge_hz, from_hz, 1.0), from_hz, to_hz)
    amplitude = float(np.sqrt(2 * np.mean(output[500:-500].astype(np.float64) ** 2)))
    assert amplitude == pytest.approx(0.5, rel=0.01)


@settings(max_examples=40, deadline=None)
@given(
    rates=st.sampled_from(RATE_PAIRS),
    chunk_sizes=st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=30),
)
def test_chunked_equals_one_piece(rates: tuple[int, int], chunk_sizes: list[int]) -> None:
    from_hz, to_hz = rates
    signal = np.random.default_rng(7).uniform(-1, 1, sum(chunk_sizes)).astype(np.float32)
    whole = StreamingResampler(from_hz, to_hz)
    expected = np.concatenate([whole.process(signal), whole.flush()])
    chunked = StreamingResampler(from_hz, to_hz)
    pieces, start = [], 0
    for size in chunk_sizes:
        pieces.append(chunked.process(signal[start : start + size]))
        start += size
    pieces.append(chunked.flush())
    actual = np.concatenate(pieces)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_output_count_tracks_input_time() -> None:
    resampler = StreamingResampler(24_000, 16_000)
    produced = sum(resampler.process(np.zeros(480, dtype=np.float32)).size for _ in range(50))
    assert produced == 16_000 * 50 * 480 // 24_000
    assert resampler.delay_samples > 0


def test_equal_rates_pass_through() -> None:
    signal = np.linspace(-1, 1, 101, dtype=np.float32)
    assert np.array_equal(resample(signal, 16_000, 16_000), signal)
    resampler = StreamingResampler(16_000, 16_000)
    assert np.array_equal(resampler.process(signal), signal)
    assert resampler.flush().size == 0
    assert resampler.delay_samples == 0


def test_empty_input_gives_empty_output() -> None:
    assert resample(np.zeros(0, dtype=np.float32), 24_000, 16_000).size == 0


def test_rejects_non_positive_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        StreamingResampler(0, 16_000)
