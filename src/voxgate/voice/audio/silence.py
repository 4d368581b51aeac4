"""Leading silence: where audible sound starts in a PCM16 stream. Pure.

    trim = LeadingSilenceTrim(rate_hz)
    for pcm16 in chunks:
        pcm16 = trim.process(pcm16)     # b"" until the first audible sample, then everything

A reply's first audio should start with the voice: Piper opens each sentence with 10-50 ms of
near-silence, which a client plays before anything is heard. The trim keeps `keep_ms` before the
first sample louder than `threshold` (so the onset is not clipped) and passes every later sample
through untouched.
"""

from __future__ import annotations

import numpy as np

AUDIBLE_THRESHOLD = 330  # about -40 dBFS in PCM16
KEEP_MS = 5


class LeadingSilenceTrim:
    """Drops the quiet samples before the first audible one; after that, a pass-through."""

    def __init__(self, rate_hz: int, threshold: int = AUDIBLE_THRESHOLD, keep_ms: int = KEEP_MS) -> None:
        self._keep_samples = rate_hz * keep_ms // 1000
        self._threshold = threshold
        self._tail = b""  # the last `keep_ms` of the silence so far, put back before the onset
        self.heard = False

    def process(self, pcm16: bytes) -> bytes:
        if self.heard:
            return pcm16
        data = self._tail + pcm16
        samples = np.frombuffer(data, dtype="<i2")
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > self._threshold)
        if loud.size == 0:
            self._tail = data[2 * max(0, samples.size - self._keep_samples) :]
            return b""
        self.heard, self._tail = True, b""
        return data[2 * max(0, int(loud[0]) - self._keep_samples) :]
