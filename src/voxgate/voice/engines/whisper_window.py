"""Whisper on a window cut to the utterance instead of a fixed 30 s one.

Whisper's encoder was trained on 30 s windows and faster-whisper always pads a turn to 30 s, so a
3 s turn pays for ten times the encoder work it needs (Whisper base: 0.6-1.1 s on this 2-core CPU).
CTranslate2's encoder accepts a shorter log-mel window, so `UtteranceDecoder` feeds it the turn
plus `PAD_FRAMES` of silence, at least `MIN_WINDOW_FRAMES` in all, and decodes greedily without
timestamps (`bench/stt_window.py` measures both windows on the same audio).

The cost of a short window: Whisper can loop on it. Seen while choosing the sizes: with 0.5 s of
padding a 5 s clip repeated itself to the token limit; with 3 s of padding but no minimum, 1 s
turns came back as "Yes. Yes." and "What time is it? What time is it? What". With a 10 s minimum
the 17 turns of the bench matched the full window's words. The guards that remain: a token cap
derived from the turn's duration, and a check that hands the turn back (`None`) when the text is
one phrase over and over, compresses like a loop (gzip ratio above Whisper's own 2.4) or hit the
cap; the caller then runs the full 30 s window. People repeat themselves too ("five five", "no no
no", "thank you thank you"): a repetition of at most `MAX_SAID_REPEAT_WORDS` words, no faster than
`MAX_SAID_WORDS_PER_S` over the turn, is taken as said (the full window cost 1.9 s on a 1.5 s "five
five"); a loop on a short window runs longer or faster than speech. Transcripts are user content:
nothing here logs them.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

from voxgate.voice.engines.protocols import DecodeSignals

MEL_FRAMES_PER_S = 100
FULL_WINDOW_FRAMES = 3_000  # Whisper's 30 s
PAD_FRAMES = 300  # 3 s of silence after the speech
MIN_WINDOW_FRAMES = 1_000  # 10 s: shorter windows made Whisper repeat short turns
MAX_COMPRESSION_RATIO = 2.4  # Whisper's threshold for "the decoder is repeating itself"
NO_SPEECH_PROBABILITY = 0.6  # with an average log-probability below -1: silence, say nothing
NO_SPEECH_LOGPROB = -1.0  # (faster-whisper's defaults, so both windows agree on silence and noise)
_TOKENS_PER_S = 8  # English speech runs at ~4-5 Whisper tokens per second; twice that is the cap
_MIN_TOKENS = 12
MAX_SAID_REPEAT_WORDS = 4  # "no no no", "thank you thank you": repeats people say
MAX_SAID_WORDS_PER_S = 3.0  # brisk speech; a loop on a short window writes more words than the audio holds


def fits_utterance_window(samples: int, sample_rate_hz: int) -> bool:
    """True when the audio plus its padding fits inside one 30 s window."""
    frames = math.ceil(samples * MEL_FRAMES_PER_S / sample_rate_hz)
    return frames + PAD_FRAMES <= FULL_WINDOW_FRAMES


def token_cap(duration_s: float) -> int:
    """How many text tokens a turn of `duration_s` may produce before it counts as a loop."""
    return _MIN_TOKENS + math.ceil(_TOKENS_PER_S * duration_s)


def pad_features(features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(n_mels, frames) log-mel → (1, n_mels, width), zero (silence) padded: the speech plus
    PAD_FRAMES, at least MIN_WINDOW_FRAMES, at most Whisper's 30 s."""
    n_mels, frames = features.shape
    width = min(FULL_WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, frames + PAD_FRAMES))
    padded = np.zeros((1, n_mels, width), dtype=np.float32)
    padded[0, :, : min(frames, width)] = features[:, :width]
    return padded


def compression_ratio(text: str) -> float:
    encoded = text.encode("utf-8")
    return len(encoded) / len(zlib.compress(encoded)) if encoded else 0.0


def is_no_speech(no_speech_probability: float, cumulative_logprob: float, tokens: int) -> bool:
    """Whisper's own silence test: likely no speech and a low-confidence text."""
    average_logprob = cumulative_logprob / (tokens + 1)
    return no_speech_probability > NO_SPEECH_PROBABILITY and average_logprob < NO_SPEECH_LOGPROB


def _words(text: str) -> list[str]:
    return [word.strip(".,!?;:\"'").lower() for word in text.split()]


def is_one_phrase_repeated(text: str) -> bool:
    """True when the words are a phrase said at least twice in a row and nothing else ("yes yes",
    "what time is it what time is it what"): Whisper's loop on a short window, or a person's repeat."""
    words = _words(text)
    for period in range(1, len(words) // 2 + 1):
        if all(words[i] == words[i % period] for i in range(period, len(words))):
            return True
    return False


def is_said_repeat(text: str, duration_s: float) -> bool:
    """A short repetition spoken at a speaking pace ("five five" in 1.5 s): what a person says."""
    words = _words(text)
    return len(words) <= MAX_SAID_REPEAT_WORDS and len(words) <= MAX_SAID_WORDS_PER_S * duration_s


def looks_degenerate(text: str, tokens: int, cap: int, duration_s: float) -> bool:
    """A transcript that hit its token cap, compresses like a loop or repeats itself beyond what a
    person says in `duration_s` is not trusted."""
    if tokens >= cap or compression_ratio(text) > MAX_COMPRESSION_RATIO:
        return True
    return is_one_phrase_repeated(text) and not is_said_repeat(text, duration_s)


class UtteranceDecoder:
    """Greedy, timestamp-free decoding of one turn on a short window with a loaded `WhisperModel`."""

    def __init__(self, whisper_model: Any, language: str) -> None:
        from faster_whisper.tokenizer import Tokenizer  # type: ignore[import-untyped]
        from faster_whisper.transcribe import get_suppressed_tokens  # type: ignore[import-untyped]

        self._model = whisper_model
        self._tokenizer = Tokenizer(whisper_model.hf_tokenizer, whisper_model.model.is_multilingual,
                                    task="transcribe", language=language)
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._suppress_tokens = list(get_suppressed_tokens(self._tokenizer, [-1]))

    def decode(self, samples: npt.NDArray[np.float32], sample_rate_hz: int) -> tuple[str, DecodeSignals] | None:
        """The transcript and its decode signals, or None when the short window's output is not
        trusted (run the full one)."""
        import ctranslate2  # type: ignore[import-untyped]

        features = self._model.feature_extractor(samples)
        window = ctranslate2.StorageView.from_array(np.ascontiguousarray(pad_features(features)))
        duration_s = samples.size / sample_rate_hz
        cap = token_cap(duration_s)
        result = self._model.model.generate(
            window, [self._prompt], beam_size=1, max_length=len(self._prompt) + cap, suppress_blank=True,
            suppress_tokens=self._suppress_tokens, return_scores=True, return_no_speech_prob=True)[0]
        tokens = [token for token in result.sequences_ids[0] if token < self._tokenizer.eot]
        text = str(self._tokenizer.decode(tokens)).strip()
        signals = DecodeSignals(float(result.no_speech_prob), float(result.scores[0]), compression_ratio(text))
        if is_no_speech(result.no_speech_prob, result.scores[0] * len(tokens), len(tokens)):
            return "", signals
        return None if looks_degenerate(text, len(tokens), cap, duration_s) else (text, signals)
