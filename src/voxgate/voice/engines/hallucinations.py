"""Words Whisper invents from non-speech, and how to tell them from words someone said. Pure.

    reasons = hallucination_reasons(text, signals, speech)   # () keeps the text; else why it goes

Whisper was trained on subtitled video: given noise, a hum, a click or silence it likes to answer
"you", "Thank you.", "Thanks for watching!", a subtitle credit or a lone ".". None of these may
become a user turn. No single signal separates them from a real "Thank you.", so the rules use
them together (`bench/non_speech.py` measures the rules on generated noise and LibriVox):

    no_words          the text has no letter or digit ("...", "?")
    whisper_no_speech Whisper's own test: no-speech probability > 0.6 and mean log-prob < -1
    vad_heard_nothing the VAD found under 0.1 s of speech in the audio AND the decode is unsure
                      (no-speech probability > 0.2, mean log-prob < -0.7, or a looping text) or
                      the text is a known hallucination; a confident decode of speech the VAD
                      missed survives
    known_phrase      the text is a known hallucination ("you", "Thank you.", a subtitle credit)
                      AND Whisper doubted it (no-speech probability > 0.4 or mean log-prob < -1.2):
                      a clearly spoken "Thank you." survives

Measured while choosing these (Whisper base and tiny.en, generated noise of seed 0 and Piper's
short phrases): the VAD's largest frame probability on 55 non-speech inputs was 0.18, so none
reached 0.1 s of speech; the shortest real word ("Hi.", "You.") had 0.29 s; real words decoded
with no-speech probability <= 0.26 and mean log-prob >= -1.05; invented words had mean log-prob
<= -1.6 or no-speech probability >= 0.46 (tiny.en's "Beep Beep ...": -0.31 and 0.84).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxgate.voice.engines.protocols import DecodeSignals

WHISPER_NO_SPEECH_PROBABILITY = 0.6  # faster-whisper's defaults, the model's own silence test
WHISPER_NO_SPEECH_LOGPROB = -1.0
MIN_VOICED_S = 0.1  # less speech than this in the window: the VAD heard nobody
UNSURE_NO_SPEECH_PROBABILITY = 0.2
UNSURE_LOGPROB = -0.7
LOOP_COMPRESSION_RATIO = 2.4  # Whisper's threshold for a decoder repeating itself
DOUBTED_NO_SPEECH_PROBABILITY = 0.4
DOUBTED_LOGPROB = -1.2

# Normalised (lower case, no punctuation); Whisper's favourites on noise and silence.
KNOWN_HALLUCINATIONS = frozenset({
    "you", "thank you", "thank you very much", "thanks", "thanks for watching", "thank you for watching",
    "thanks for listening", "thank you for listening", "bye", "bye bye", "goodbye", "oh", "i", "the", "so",
    "hmm", "uh", "um", "okay", "please subscribe", "like and subscribe", "see you next time",
    "see you in the next video", "music", "applause", "silence", "beep",
})
_CREDIT = re.compile(
    r"\b(subtitles?|captions?|transcri(?:bed|ption)|translat(?:ed|ion)|sub(?:bed|titled))\b.*\bby\b"
    r"|amara\.org",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[^\w\s']")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class SpeechShare:
    """How much of the audio the voice activity detector called speech."""

    voiced_s: float
    duration_s: float

    @property
    def share(self) -> float:
        return self.voiced_s / self.duration_s if self.duration_s > 0 else 0.0


def normalize_phrase(text: str) -> str:
    """Lower case, punctuation dropped, words single-spaced: the key into KNOWN_HALLUCINATIONS."""
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def is_known_hallucination(text: str) -> bool:
    """A phrase Whisper invents from non-speech (repeated phrases count: "you you"), or a credit line."""
    words = normalize_phrase(text)
    if words in KNOWN_HALLUCINATIONS or _CREDIT.search(text):
        return True
    sentences = [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]
    return bool(sentences) and all(normalize_phrase(part) in KNOWN_HALLUCINATIONS for part in sentences)


def hallucination_reasons(text: str, signals: DecodeSignals | None, speech: SpeechShare | None) -> tuple[str, ...]:
    """Why `text` should not count as something the user said; () when it should.

    `signals` None (a recogniser that does not report them) and `speech` None (no VAD) make the
    rules that need them stand aside."""
    if not text.strip():
        return ()
    reasons: list[str] = []
    if not _LETTER_OR_DIGIT.search(text):
        reasons.append("no_words")
    known = is_known_hallucination(text)
    if signals is not None and _whisper_no_speech(signals):
        reasons.append("whisper_no_speech")
    if speech is not None and speech.voiced_s < MIN_VOICED_S and (known or signals is None or _unsure(signals)):
        reasons.append("vad_heard_nothing")
    if known and signals is not None and _doubted(signals):
        reasons.append("known_phrase")
    return tuple(reasons)


def _whisper_no_speech(signals: DecodeSignals) -> bool:
    return (signals.no_speech_probability > WHISPER_NO_SPEECH_PROBABILITY
            and signals.average_logprob < WHISPER_NO_SPEECH_LOGPROB)


def _unsure(signals: DecodeSignals) -> bool:
    return (signals.no_speech_probability > UNSURE_NO_SPEECH_PROBABILITY
            or signals.average_logprob < UNSURE_LOGPROB
            or signals.compression_ratio > LOOP_COMPRESSION_RATIO)


def _doubted(signals: DecodeSignals) -> bool:
    return signals.no_speech_probability > DOUBTED_NO_SPEECH_PROBABILITY or signals.average_logprob < DOUBTED_LOGPROB
