"""The utterances `bench/voice_latency.py` speaks, each with where its last voiced sample lies.

    utterances = librivox_utterances() + await synthesised_utterances(PiperTTS())

Three sets: the five LibriVox clips of Debian's pocketsphinx-testdata (real read speech), short
spoken commands, and multi-clause requests with 300-800 ms pauses in the middle of the sentence.
The last two are spoken by the bundled Piper voice (synthetic speech: the only way to get pauses of
a known length where the speaker is not finished). Every clip is 24 kHz mono PCM16, as a client
sends it. `last_voiced_sample` is the end of the last 10 ms frame whose level is above the clip's
voicing threshold (`voiced_end`); for paused requests `final_clause_sample` is where the last
clause starts: a turn that ends before it was cut off mid-sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tests.support.speech_corpus import load_librivox, synthesised
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.protocols import TextToSpeech

RATE_HZ = 24_000
_FRAME = RATE_HZ // 100  # 10 ms
_MIN_VOICED_DBFS = -45.0  # never call quieter frames voiced
_NOISE_MARGIN_DB = 10.0  # voiced = this far above the clip's noise floor (its quietest 10 % of frames)

COMMANDS = [
    "Stop.", "Yes.", "What time is it?", "Five five.", "No no no.", "Call mom.",
    "Turn off the kitchen lights.", "Set a timer for ten minutes.",
]  # fmt: skip
PAUSED_REQUESTS = [
    ["I'd like to book a table", "for four people", "at seven tonight."],
    ["Can you remind me", "to call my sister", "tomorrow morning?"],
    ["What is the weather going to be", "in Paris this weekend?"],
    ["Send a message to John", "saying that I will be late", "for dinner."],
    ["How long does it take", "to drive from Boston", "to New York?"],
    ["Please add milk", "and eggs to my shopping list."],
    ["My order number is", "four two seven nine."],
    ["Turn the living room lights", "down to half."],
]
PAUSES_MS = [300, 450, 600, 800]  # taken in turn, one per gap


@dataclass(frozen=True)
class Utterance:
    name: str
    kind: str  # librivox | command | paused
    pcm16: bytes  # 24 kHz mono
    last_voiced_sample: int
    final_clause_sample: int | None = None  # paused: where the last clause starts
    pause_samples: tuple[int, ...] = ()  # paused: where each mid-sentence pause starts

    @property
    def last_voiced_ms(self) -> float:
        return self.last_voiced_sample * 1000 / RATE_HZ


def frame_levels_dbfs(samples: np.ndarray) -> np.ndarray:
    """RMS level of each 10 ms frame, in dBFS."""
    frames = samples[: samples.size // _FRAME * _FRAME].reshape(-1, _FRAME)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-9)))


def voiced_span(samples: np.ndarray) -> tuple[int, int]:
    """(first voiced sample, end of the last voiced frame) of float samples at 24 kHz."""
    levels = frame_levels_dbfs(samples)
    if levels.size == 0:
        return 0, 0
    noise_floor = float(np.percentile(levels, 10))
    voiced = np.flatnonzero(levels > max(_MIN_VOICED_DBFS, noise_floor + _NOISE_MARGIN_DB))
    if voiced.size == 0:
        return 0, 0
    return int(voiced[0]) * _FRAME, (int(voiced[-1]) + 1) * _FRAME


def voiced_end(pcm16: bytes) -> int:
    return voiced_span(pcm16_to_float(pcm16))[1]


def librivox_utterances() -> list[Utterance]:
    out = []
    for clip in sorted(load_librivox(), key=lambda clip: clip.name):
        pcm16 = float_to_pcm16(resample(pcm16_to_float(clip.pcm16), 16_000, RATE_HZ))
        out.append(Utterance(clip.name, "librivox", pcm16, voiced_end(pcm16)))
    return out


async def _speak(tts: TextToSpeech, text: str) -> np.ndarray:
    """Piper's audio for `text` at 24 kHz, its leading and trailing silence cut off."""
    samples = await synthesised(tts, text, RATE_HZ)
    start, end = voiced_span(samples)
    return samples[start:end]


def _lead_in(seconds: float) -> np.ndarray:
    return np.zeros(math.ceil(seconds * RATE_HZ), dtype=np.float32)


async def spoken_utterances(tts: TextToSpeech, texts: list[str], kind: str) -> list[Utterance]:
    """Each text spoken by `tts` after 300 ms of silence, as one utterance of `kind`."""
    out = []
    for index, text in enumerate(texts):
        samples = np.concatenate([_lead_in(0.3), await _speak(tts, text)])
        out.append(Utterance(f"{kind}-{index}", kind, float_to_pcm16(samples), samples.size))
    return out


async def synthesised_utterances(tts: TextToSpeech) -> list[Utterance]:
    """The commands and the paused requests, spoken by `tts`, each after 300 ms of silence."""
    out = await spoken_utterances(tts, COMMANDS, "command")
    gap = 0
    for index, clauses in enumerate(PAUSED_REQUESTS):
        parts: list[np.ndarray] = [_lead_in(0.3)]
        final_start = 0
        pauses: list[int] = []
        for number, clause in enumerate(clauses):
            if number:
                pauses.append(sum(part.size for part in parts))
                parts.append(_lead_in(PAUSES_MS[gap % len(PAUSES_MS)] / 1000))
                gap += 1
            final_start = sum(part.size for part in parts)
            parts.append(await _speak(tts, clause))
        samples = np.concatenate(parts)
        out.append(Utterance(f"paused-{index}", "paused", float_to_pcm16(samples), samples.size, final_start,
                             tuple(pauses)))
    return out
