"""`semantic_vad`: end a turn by what was said, not only by how long the silence lasts. Pure.

OpenAI's semantic VAD answers quickly when the user sounds finished and waits longer when they
trail off ("I'd like to book a table for..."); `eagerness` sets how long it waits at most:
`low` 8 s, `medium` (= `auto`) 4 s, `high` 2 s. voxgate does the same with what it already has:
the session transcribes a pause speculatively (after `SPECULATE_AFTER_MS`), and `looks_finished`
judges that text as soon as it is ready.

    timings = SemanticTimings.for_eagerness("auto")
    VadConfig(silence_duration_ms=timings.max_silence_ms)        # the VAD's own end of turn
    if turn_is_over(silence_ms, judge_text(transcript), None, timings): end the turn now

`judge_text` reads the transcript three ways. It is *finished* when Whisper closed it with `.`, `!`
or `?` and its last word is not one that asks for more (a conjunction, an article, a possessive, a
filler such as "um"). It *trails off* when it ends with "...", a comma or a dash, on such a word, or
runs three words or more without closing punctuation. Whisper punctuates a complete sentence and
usually leaves a trailing-off one open or ends it with "...". It is *unsure* when it is one or two
words without closing punctuation and nothing else says it trails off. Whisper leaves one-word
commands open ("Stop", "Bye-bye"), so such a turn ends after the hesitant pause (1 s at `medium`),
not the eagerness's longest (4 s).

With an audio end-of-turn model (`voice.turn_model: smart-turn`, how the speech sounds: pitch,
rhythm), `turn_is_over` combines both judges: a confident audio "finished" ends the turn after
`confident_silence_ms` unless the text is already known to trail off; a finished text ends it after
`finished_silence_ms` when the audio agrees (or there is no audio model), after
`hesitant_silence_ms` when the audio says the speaker is not done; an unsure text ends it after
`hesitant_silence_ms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

EAGERNESS_LEVELS = ("low", "medium", "high", "auto")
SPECULATE_AFTER_MS = 100  # semantic_vad transcribes a pause this early, to judge it in time
CONFIDENT_FINISHED = 0.8  # the audio model's probability above which it alone may end the turn
_CONTINUATIONS = frozenset(
    {
        # words a turn cannot end on: conjunctions, articles, possessives, fillers. Prepositions,
        # verbs and object pronouns stay out: "Where are you from?", "than he was?", "Thank you."
        "and", "but", "or", "because", "if", "although", "the", "a", "an", "my", "your", "our",
        "their", "um", "uh", "erm", "hmm",
    }
)  # fmt: skip
_LAST_WORD = re.compile(r"([\w']+)\W*$")
UNSURE_MAX_WORDS = 2  # an unpunctuated transcript this short may be a whole command ("Stop")


class TextVerdict(StrEnum):
    FINISHED = "finished"
    UNSURE = "unsure"
    TRAILING = "trailing"


@dataclass(frozen=True)
class SemanticTimings:
    """`finished_silence_ms`: pause after which a finished-looking turn ends; `max_silence_ms`:
    pause after which any turn ends; with an audio model, `confident_silence_ms` ends a turn that
    sounds finished and `hesitant_silence_ms` one whose words look finished but whose sound does not."""

    finished_silence_ms: int
    max_silence_ms: int
    confident_silence_ms: int = 200
    hesitant_silence_ms: int = 1_000

    @classmethod
    def for_eagerness(cls, eagerness: str) -> SemanticTimings:
        if eagerness not in EAGERNESS_LEVELS:
            raise ValueError(f"eagerness must be one of {EAGERNESS_LEVELS}, got {eagerness!r}")
        return _TIMINGS["medium" if eagerness == "auto" else eagerness]


_TIMINGS = {
    "high": SemanticTimings(200, 2_000, confident_silence_ms=150, hesitant_silence_ms=600),
    "medium": SemanticTimings(300, 4_000, confident_silence_ms=200, hesitant_silence_ms=1_000),
    "low": SemanticTimings(700, 8_000, confident_silence_ms=400, hesitant_silence_ms=2_000),
}


def judge_text(transcript: str) -> TextVerdict:
    """Finished, unsure or trailing off, from the words alone (see the module docstring)."""
    text = transcript.strip()
    if not text or text.endswith(("...", "…", ",", "-")):
        return TextVerdict.TRAILING
    match = _LAST_WORD.search(text)
    if match is None or match.group(1).lower() in _CONTINUATIONS:
        return TextVerdict.TRAILING
    if text[-1] in ".!?":
        return TextVerdict.FINISHED
    return TextVerdict.UNSURE if len(text.split()) <= UNSURE_MAX_WORDS else TextVerdict.TRAILING


def looks_finished(transcript: str) -> bool:
    """Whether the words read like a complete turn: `judge_text` says finished."""
    return judge_text(transcript) is TextVerdict.FINISHED


def turn_is_over(silence_ms: int, text: TextVerdict | None, audio_finished: float | None,
                 timings: SemanticTimings) -> bool:
    """Whether a pause of `silence_ms` ends the turn, from the text's verdict (None: transcript not
    ready) and the audio model's probability that the speaker has finished (None: no model or not ready)."""
    if audio_finished is not None and audio_finished >= CONFIDENT_FINISHED and text is not TextVerdict.TRAILING:
        return silence_ms >= timings.confident_silence_ms
    if text is None or text is TextVerdict.TRAILING:
        return False
    if text is TextVerdict.FINISHED and (audio_finished is None or audio_finished >= 0.5):
        return silence_ms >= timings.finished_silence_ms
    return silence_ms >= timings.hesitant_silence_ms
