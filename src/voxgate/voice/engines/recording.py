"""Transcribing a whole recording (an uploaded file) rather than one live turn.

    async for segment in transcribe_recording(pcm16, engines.stt, engines.new_vad()):
        segment.start_s, segment.end_s, segment.text

The voice activity detector cuts the recording into spoken stretches (a pause of
`silence_duration_ms` ends one; none is longer than `max_segment_s`, so each fits Whisper's
window), and the recogniser transcribes them one after another, so a caller can stream each
segment's text as soon as it exists. Silence is never sent to the recogniser (Whisper invents
text on silence). Segment texts are user content: never log them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.protocols import SpeechToText, VoiceActivityDetector
from voxgate.voice.engines.vad import SpeechDetector, SpeechStarted, SpeechStopped, VadConfig

RECORDING_SAMPLE_RATE_HZ = 16_000
MAX_SEGMENT_S = 25.0
_FEED_SAMPLES = 8_000  # half a second per VAD feed


@dataclass(frozen=True)
class RecordingSegment:
    """One spoken stretch: its place in the recording (seconds) and what was said."""

    index: int
    start_s: float
    end_s: float
    text: str


def find_speech(
    pcm16: bytes, detector: VoiceActivityDetector, config: VadConfig, max_segment_s: float = MAX_SEGMENT_S
) -> list[tuple[int, int]]:
    """(start, end) sample offsets of the spoken stretches of 16 kHz PCM16 (blocking, fast)."""
    samples = pcm16_to_float(pcm16)
    if detector.sample_rate_hz != RECORDING_SAMPLE_RATE_HZ:
        samples = resample(samples, RECORDING_SAMPLE_RATE_HZ, detector.sample_rate_hz)
    speech = SpeechDetector(detector, config)
    max_ms = int(max_segment_s * 1000)
    stretches: list[tuple[int, int]] = []
    start_ms: int | None = None
    for offset in range(0, samples.size, _FEED_SAMPLES):
        for event in speech.feed(samples[offset : offset + _FEED_SAMPLES]):
            if isinstance(event, SpeechStarted):
                start_ms = event.audio_start_ms
            elif isinstance(event, SpeechStopped) and start_ms is not None:
                stretches.append((start_ms, event.audio_end_ms))
                start_ms = None
        if start_ms is not None and speech.clock_ms - start_ms >= max_ms:
            speech.end_speech()
            stretches.append((start_ms, speech.clock_ms))
            start_ms = None
    total = len(pcm16) // 2
    per_ms = RECORDING_SAMPLE_RATE_HZ // 1000
    cut = [(min(total, a * per_ms), min(total, b * per_ms)) for a, b in stretches]
    if start_ms is not None:  # still speaking when the recording ends: keep it all
        cut.append((min(total, start_ms * per_ms), total))
    return cut


async def transcribe_recording(
    pcm16: bytes, stt: SpeechToText, detector: VoiceActivityDetector, config: VadConfig | None = None
) -> AsyncIterator[RecordingSegment]:
    """Yield the recording's segments in order, each as soon as it is transcribed.

    `pcm16` is mono at 16 kHz; the recogniser gets it at its own rate. Segments whose transcript is
    empty are skipped, and indexes count only the yielded ones.
    """
    stretches = await asyncio.to_thread(find_speech, pcm16, detector, config or VadConfig())
    index = 0
    for start, end in stretches:
        piece = pcm16[start * 2 : end * 2]
        if stt.sample_rate_hz != RECORDING_SAMPLE_RATE_HZ:
            piece = float_to_pcm16(resample(pcm16_to_float(piece), RECORDING_SAMPLE_RATE_HZ, stt.sample_rate_hz))
        transcript = await stt.transcribe(piece)
        text = transcript.text.strip()
        if not text:
            continue
        yield RecordingSegment(index, start / RECORDING_SAMPLE_RATE_HZ, end / RECORDING_SAMPLE_RATE_HZ, text)
        index += 1
