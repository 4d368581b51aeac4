"""Backchannels: "mm-hm", "yeah", "okay", "right" said while the assistant speaks. Pure.

A listener's small acknowledgements are not a bid for the floor. With backchannels on (the
default; `voice.backchannels`), speech that starts while a reply is being spoken does not cancel it
at once: the turn machine holds the interruption (`TurnState.interruption_pending`) until either
the speech runs past `MAX_BACKCHANNEL_MS` (a real interruption: cancel, with truncation as ever)
or its transcript is ready: a backchannel (`is_backchannel`) lets the reply go on and asks for no
new one; anything else ("stop", "wait, no") cancels it and is answered.
"""

from __future__ import annotations

import re

MAX_BACKCHANNEL_MS = 800  # "mm-hm", "okay", "yeah right" take 0.3-0.7 s
_PHRASES = frozenset(
    {
        "mm", "mmm", "hm", "hmm", "mhm", "mm-hm", "mm-hmm", "mmhm", "mmhmm", "uh-huh", "uh huh", "uhhuh",
        "yeah", "yes", "yep", "yup", "ok", "okay", "right", "sure", "alright", "all right", "i see",
        "got it", "cool", "nice", "great", "exactly", "true", "oh", "ah", "aha",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^\w\s'-]")


def is_backchannel(transcript: str) -> bool:
    """True when every phrase of the transcript is an acknowledgement ("Yeah, yeah.", "Mm-hmm. Okay.")."""
    pieces = [piece.strip() for piece in re.split(r"[.,!?;]+", transcript.lower())]
    pieces = [_NOT_WORD.sub("", piece).strip() for piece in pieces if piece.strip()]
    if not pieces:
        return False
    words = " ".join(pieces).split()
    if len(words) > 4:
        return False
    return all(piece in _PHRASES or all(word in _PHRASES for word in piece.split()) for piece in pieces)
