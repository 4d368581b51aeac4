"""bench.voice_latency: an utterance whose reply was never heard is named with what the server heard."""

from __future__ import annotations

from bench.voice_latency import unheard
from bench.voice_listener import ListenRecord


def test_only_unanswered_utterances_are_named_with_their_transcripts() -> None:
    answered = ListenRecord("command-0", "command", voice_to_voice_s=0.7, transcripts=["Stop."])
    silent = ListenRecord("command-3", "command", speech_stopped_after_s=0.4, transcripts=["Bye-bye"])
    lines = unheard({("branch", "semantic_vad"): [answered, silent]})
    assert lines == ["no reply heard: branch semantic_vad command-3: transcripts ['Bye-bye'], errors [], "
                     "speech_stopped yes"]


def test_a_turn_that_never_ended_says_so() -> None:
    lines = unheard({("base", "server_vad"): [ListenRecord("command-5", "command")]})
    assert lines == ["no reply heard: base server_vad command-5: transcripts [], errors [], speech_stopped no"]
