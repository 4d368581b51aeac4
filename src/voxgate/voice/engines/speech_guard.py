"""`GuardedSTT`: any `SpeechToText`, with the words it invents from non-speech withheld.

    stt = GuardedSTT(WhisperSTT(config), new_vad=SileroVAD)
    transcript = await stt.transcribe(pcm16)   # text "" and `withheld` set when the rules in
                                               # `hallucinations` say nobody spoke

A voice activity detector measures how much of the audio is speech on the guard's own worker
thread while the recogniser decodes, so the guard adds no wait to a turn. A withheld transcript
is an empty one: the session commits the user's turn without words and starts no response, in
server-VAD and push-to-talk sessions alike. Only reason names are logged, never the words.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from voxgate.voice.audio.codecs import pcm16_to_float
from voxgate.voice.engines.hallucinations import SpeechShare, hallucination_reasons
from voxgate.voice.engines.protocols import SpeechToText, Transcript, VoiceActivityDetector

log = logging.getLogger("voxgate.voice")
SPEECH_PROBABILITY = 0.5  # a frame at or above this counts as speech (the session VAD's default threshold)


def measure_speech(samples: npt.NDArray[np.float32], vad: VoiceActivityDetector,
                   threshold: float = SPEECH_PROBABILITY) -> SpeechShare:
    """Run `vad` (reset first) over `samples` at its own rate; the voiced time and the whole time."""
    vad.reset()
    frame = vad.frame_samples
    voiced = sum(vad.speech_probability(samples[start : start + frame]) >= threshold
                 for start in range(0, samples.size - frame + 1, frame))
    return SpeechShare(voiced_s=voiced * frame / vad.sample_rate_hz, duration_s=samples.size / vad.sample_rate_hz)


def withhold_if_invented(transcript: Transcript, speech: SpeechShare | None) -> Transcript:
    """`transcript`, or an empty one naming the reasons when its words were invented from non-speech."""
    reasons = hallucination_reasons(transcript.text, transcript.signals, speech)
    if not reasons:
        return transcript
    log.info("transcript withheld as invented from non-speech: %s", ",".join(reasons))
    return dataclasses.replace(transcript, text="", withheld=reasons)


class GuardedSTT:
    """SpeechToText that withholds transcripts `hallucinations.hallucination_reasons` rejects."""

    def __init__(self, inner: SpeechToText, new_vad: Callable[[], VoiceActivityDetector]) -> None:
        self._inner = inner
        self._new_vad = new_vad
        self._vad: VoiceActivityDetector | None = None  # made and used on the worker thread only
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxgate-speech-guard")

    @property
    def sample_rate_hz(self) -> int:
        return self._inner.sample_rate_hz

    @property
    def inner(self) -> SpeechToText:
        return self._inner

    async def load(self) -> None:
        await self._inner.load()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._detector)

    async def transcribe(self, pcm16: bytes) -> Transcript:
        samples = pcm16_to_float(pcm16)  # an odd byte count is an InvalidRequestError before any work
        speech = asyncio.get_running_loop().run_in_executor(self._executor, self._measure, samples)
        try:
            transcript = await self._inner.transcribe(pcm16)
        except BaseException:
            speech.cancel()
            raise
        return withhold_if_invented(transcript, await speech)

    def close(self) -> None:
        self._inner.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _detector(self) -> VoiceActivityDetector:
        if self._vad is None:
            self._vad = self._new_vad()
            if self._vad.sample_rate_hz != self._inner.sample_rate_hz:
                raise ValueError(f"the VAD runs at {self._vad.sample_rate_hz} Hz, the recogniser at "
                                 f"{self._inner.sample_rate_hz} Hz")
        return self._vad

    def _measure(self, samples: npt.NDArray[np.float32]) -> SpeechShare:
        return measure_speech(samples, self._detector())
