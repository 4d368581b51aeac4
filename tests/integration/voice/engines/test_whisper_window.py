"""Whisper base on the utterance window against its full 30 s window, on real speech."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.support.speech_corpus import Clip, synthesised
from tests.support.speech_engines import piper, whisper
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.wer import word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperModelName, WhisperSTT

pytestmark = pytest.mark.integration


def _full_window(stt: WhisperSTT) -> WhisperSTT:
    return WhisperSTT(dataclasses.replace(stt._config, utterance_window=False))


async def test_the_short_window_transcribes_like_the_full_one(librivox: list[Clip]) -> None:
    short = whisper(WhisperModelName.BASE)
    full = _full_window(short)
    try:
        for clip in librivox:
            short_text = (await short.transcribe(clip.pcm16)).text
            full_text = (await full.transcribe(clip.pcm16)).text
            assert word_error_rate(full_text, short_text) <= 0.1, (clip.name, short_text, full_text)
    finally:
        full.close()


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
    clip = librivox[1]
    transcript = await stt.transcribe(clip.pcm16)
    assert calls == [16_000]
    assert word_error_rate(clip.transcript, transcript.text) < 0.2


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
    words = [word.strip(".,!?").lower() for word in text.split()]
    assert len(words) == len(said.split()), text  # the repeat kept, not collapsed or looped
    assert len(set(words)) == 1, text  # one word said over ("5 5" is how Whisper may write "five five")
