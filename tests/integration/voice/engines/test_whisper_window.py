"""Whisper base on the utterance window against its full 30 s window, on real speech.

Contracts at corpus level (one clip's decode differs between CPUs: int8 kernels for AVX2, AVX-512,
Intel and AMD round differently, e.g. "ill-disposed" vs "ill-sposed"): both windows within the
corpus WER bound, and within a corpus bound of each other."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from tests.support.speech_corpus import Clip, synthesised
from tests.support.speech_engines import piper, whisper
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.wer import corpus_word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperModelName, WhisperSTT

pytestmark = pytest.mark.integration

WER_BOUND = 0.06  # against the reference; measured here: 1.4 % on either window
WINDOWS_APART = 0.05  # the short window's words against the full window's, over the corpus (~80 words)


def _full_window(stt: WhisperSTT) -> WhisperSTT:
    return WhisperSTT(dataclasses.replace(stt._config, utterance_window=False))


async def test_the_short_window_transcribes_like_the_full_one(librivox: list[Clip]) -> None:
    short = whisper(WhisperModelName.BASE)
    full = _full_window(short)
    try:
        short_texts = [(await short.transcribe(clip.pcm16)).text for clip in librivox]
        full_texts = [(await full.transcribe(clip.pcm16)).text for clip in librivox]
    finally:
        full.close()
    references = [clip.transcript for clip in librivox]
    assert corpus_word_error_rate(zip(references, short_texts, strict=True)) < WER_BOUND
    assert corpus_word_error_rate(zip(references, full_texts, strict=True)) < WER_BOUND
    assert corpus_word_error_rate(zip(full_texts, short_texts, strict=True)) <= WINDOWS_APART


async def test_an_untrusted_short_window_falls_back_to_the_full_window(
    librivox: list[Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    stt = whisper(WhisperModelName.BASE)
    await stt.load()
    decoder = stt._utterance_decoder
    assert decoder is not None
    calls: list[int] = []

    def distrusted(samples: object, sample_rate_hz: int) -> None:
        calls.append(sample_rate_hz)

    monkeypatch.setattr(decoder, "decode", distrusted)
    transcripts = [await stt.transcribe(clip.pcm16) for clip in librivox]
    assert calls == [16_000] * len(librivox)
    pairs = zip([clip.transcript for clip in librivox], [t.text for t in transcripts], strict=True)
    assert corpus_word_error_rate(pairs) < WER_BOUND
    assert all(t.signals is not None for t in transcripts)  # the full window reports its signals too


@pytest.mark.parametrize("said", ["Five five.", "No, no, no."])
async def test_a_short_repeat_is_not_sent_to_the_full_window(said: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: the repeat guard took a spoken "five five" for a loop and paid 1.9 s for the 30 s window."""
    stt = whisper(WhisperModelName.BASE)
    await stt.load()
    full_window_runs: list[object] = []
    monkeypatch.setattr(stt._model, "transcribe", lambda *args, **kwargs: full_window_runs.append(args))
    silence = np.zeros(16_000 * 3 // 10, dtype=np.float32)
    pcm16 = float_to_pcm16(np.concatenate([silence, await synthesised(piper(), said, 16_000), silence]))
    text = (await stt.transcribe(pcm16)).text
    assert full_window_runs == []
    # a word or a lone digit each: Whisper may write "five five" as "5 5", "5-5" or "55"
    words = [{"5": "five"}.get(word, word) for word in re.findall(r"[a-z]+|\d", text.lower())]
    # the repeat kept, not collapsed to one word nor looped (Whisper's count may differ by one
    # between CPUs: on an AMD EPYC base wrote "No, no, no, no." for three)
    assert 2 <= len(words) <= len(said.split()) + 1, text
    # the word said is heard; not every word need be it: Piper samples its voice (two syntheses of
    # "Five five." differ, 14,490 and 14,676 samples), and in one clean-clone run base heard
    # "High five": no loop and no collapse, the contract under test
    assert said.split()[0].strip(",.").lower() in words, text
