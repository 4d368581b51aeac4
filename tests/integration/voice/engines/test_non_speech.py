"""No words from non-speech, as a contract over many inputs rather than one noise seed: the
default recognisers behind the hallucination filter (`speech_guard.GuardedSTT`, as the server runs
them) on the generated non-speech set, and the same filter leaving real speech alone."""

from __future__ import annotations

import re

import pytest

from tests.support.non_speech import SPOKEN_PHRASES, non_speech_inputs, spoken_phrase
from tests.support.speech_corpus import Clip
from tests.support.speech_engines import guarded_whisper, piper, whisper
from voxgate.voice.engines.wer import corpus_word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperModelName

pytestmark = pytest.mark.integration

HELD_OUT_SEED = 1  # the filter's thresholds were chosen on seed 0
TAKES = 3  # Piper's synthesis is stochastic: each spoken phrase is said this many times


@pytest.mark.parametrize("model", list(WhisperModelName))
async def test_no_words_come_out_of_generated_non_speech(model: WhisperModelName) -> None:
    stt = guarded_whisper(model)
    inputs = non_speech_inputs(HELD_OUT_SEED)
    assert len(inputs) >= 50
    assert len({item.kind for item in inputs}) >= 10
    heard = {item.name: (await stt.transcribe(item.pcm16)).text for item in inputs}
    assert {name: text for name, text in heard.items() if text} == {}


@pytest.mark.parametrize("model", list(WhisperModelName))
async def test_the_filter_keeps_every_word_of_real_speech(model: WhisperModelName, librivox: list[Clip]) -> None:
    guarded = [await guarded_whisper(model).transcribe(clip.pcm16) for clip in librivox]
    plain = [await whisper(model).transcribe(clip.pcm16) for clip in librivox]
    assert [t.withheld for t in guarded] == [()] * len(librivox)
    # Same engine, same audio: the filter only ever empties a transcript, so the corpus WER is unchanged.
    pairs = list(zip(librivox, guarded, plain, strict=True))
    assert corpus_word_error_rate((c.transcript, g.text) for c, g, _ in pairs) == pytest.approx(
        corpus_word_error_rate((c.transcript, p.text) for c, _, p in pairs), abs=0.02)


async def test_whisper_s_favourite_phrases_said_for_real_survive_the_filter() -> None:
    tts, stt = piper(), guarded_whisper(WhisperModelName.BASE)
    takes = [[await stt.transcribe(await spoken_phrase(tts, text)) for text in SPOKEN_PHRASES] for _ in range(TAKES)]
    withheld = [text for take in takes for text, t in zip(SPOKEN_PHRASES, take, strict=True) if t.withheld]
    # A lone word Whisper doubts ("Oh.", "So.", "Thanks.") looks exactly like its hallucination, and
    # Piper's synthesis is stochastic, so which single words survive varies take to take (seen on an
    # AMD EPYC: "So." withheld in 5 of 8 takes, "Bye bye." in 1; one CI take withheld three). So the
    # contract is over several takes: never a phrase of three words or more ("Thank you so much."),
    # and on average at most two of the short ones a take.
    assert all(len(text.split()) <= 2 for text in withheld), withheld  # "Bye bye." too, 1 run in 6 (GENERIC)
    assert len(withheld) <= 2 * TAKES, withheld
    kept = [(text, t.text) for take in takes for text, t in zip(SPOKEN_PHRASES, take, strict=True) if not t.withheld]
    # What passes the filter is what was said: a kept phrase of several words shares a word with what
    # Whisper heard (an invention would not), and over the few words kept the error stays bounded. A
    # lone word is often misheard ("Oh." -> "L", "Goodbye." -> "Bye bye."), and one misheard word among
    # ~6 is 0.17-0.33 WER: a bound of 0.3 failed 1 run in 5 under CTranslate2's GENERIC kernels.
    for said, heard in kept:
        assert len(_words(said)) == 1 or set(_words(said)) & set(_words(heard)), (said, heard)
    assert corpus_word_error_rate(kept) <= 0.5, kept


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())
