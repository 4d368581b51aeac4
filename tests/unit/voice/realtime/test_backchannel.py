"""`is_backchannel`: acknowledgements said over a reply, as Whisper writes them, and what is not one."""

from __future__ import annotations

import pytest

from voxgate.voice.realtime.backchannel import is_backchannel


@pytest.mark.parametrize("text", ["Mm-hmm.", "Mhm.", "Uh-huh.", "Yeah.", "Yeah, yeah.", "Okay.", "OK.", "Right.",
                                  "Right, right.", "Sure.", "I see.", "Got it.", "Hmm.", "Yes, I see."])
def test_acknowledgements_are_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["", "Stop.", "No.", "Wait.", "Okay, but what about Paris?", "Yeah, stop that.",
                                  "Right, and what time is it?", "Yes yes yes yes yes."])
def test_words_that_ask_for_something_are_not(text: str) -> None:
    assert not is_backchannel(text)
