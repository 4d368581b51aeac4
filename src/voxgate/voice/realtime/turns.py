"""The turn state machine: who has the floor, and what the session must do next. Pure, no I/O.

    advance(state, event, policy) -> (new_state, actions)

The session feeds it every event that matters for turn-taking (voice activity, commits,
transcripts, response progress, client requests) and carries out the actions it returns. The
machine never raises: an event that does not fit the current state changes nothing.

`TurnState` keeps three facts apart, because they overlap in real conversations:
    user_speaking         voice activity says the user is talking
    response              NONE | GENERATING (no audio sent yet) | SPEAKING | CANCELLING
    pending_transcripts   committed turns whose transcript is not ready yet
    response_wanted       a response is owed once transcripts are ready and no response runs
Its `phase` is the one-word summary: LISTENING, USER_SPEAKING, THINKING or BOT_SPEAKING.

Policy (the session's `turn_detection`): with `server_vad` off (turn_detection null) voice
activity events are ignored and the client commits and asks for responses. With it on, speech
stopping commits the buffer and, if `create_response`, owes a response; speech starting during a
response cancels it (barge-in) if `interrupt_response`, otherwise the new turn waits its turn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from voxgate.voice.engines.vad import SpeechStarted, SpeechStopped


class TurnPhase(StrEnum):
    LISTENING = "listening"
    USER_SPEAKING = "user_speaking"
    THINKING = "thinking"
    BOT_SPEAKING = "bot_speaking"


class ResponseStage(StrEnum):
    NONE = "none"
    GENERATING = "generating"
    SPEAKING = "speaking"
    CANCELLING = "cancelling"


@dataclass(frozen=True)
class TurnPolicy:
    """Turn-taking options from the session's `turn_detection` (server_vad False means null)."""

    server_vad: bool = True
    create_response: bool = True
    interrupt_response: bool = True


@dataclass(frozen=True)
class TurnState:
    user_speaking: bool = False
    response: ResponseStage = ResponseStage.NONE
    pending_transcripts: int = 0
    response_wanted: bool = False

    @property
    def response_active(self) -> bool:
        return self.response is not ResponseStage.NONE

    @property
    def phase(self) -> TurnPhase:
        if self.user_speaking:
            return TurnPhase.USER_SPEAKING
        if self.response is ResponseStage.SPEAKING:
            return TurnPhase.BOT_SPEAKING
        if self.response is ResponseStage.GENERATING or self.response_wanted:
            return TurnPhase.THINKING
        return TurnPhase.LISTENING


# Events: past tense, what happened. SpeechStarted / SpeechStopped come from the VAD (`engines.vad`).


@dataclass(frozen=True)
class BufferCommitted:
    """The client committed the input buffer (`input_audio_buffer.commit`)."""


@dataclass(frozen=True)
class BufferCleared:
    """The client cleared the input buffer (`input_audio_buffer.clear`)."""


@dataclass(frozen=True)
class TranscriptReady:
    """A committed turn's transcript is ready (or failed: it is ready as empty)."""


@dataclass(frozen=True)
class ResponseRequested:
    """The client asked for a response (`response.create`)."""


@dataclass(frozen=True)
class CancelRequested:
    """The client asked to cancel the response (`response.cancel`)."""


@dataclass(frozen=True)
class ResponseStarted:
    """The session created a response (`response.created` sent)."""


@dataclass(frozen=True)
class FirstAudioSent:
    """The response's first audio delta went out."""


@dataclass(frozen=True)
class ResponseDone:
    """The response completed normally."""


@dataclass(frozen=True)
class ResponseCancelled:
    """The response ended cancelled (generation and synthesis stopped)."""


TurnEvent = (
    SpeechStarted
    | SpeechStopped
    | BufferCommitted
    | BufferCleared
    | TranscriptReady
    | ResponseRequested
    | CancelRequested
    | ResponseStarted
    | FirstAudioSent
    | ResponseDone
    | ResponseCancelled
)

# Actions: imperative, what the session must do.


@dataclass(frozen=True)
class CommitBuffer:
    """Commit the input audio buffer as a user turn and transcribe it."""


@dataclass(frozen=True)
class StartResponse:
    """Create a response from the conversation so far."""


@dataclass(frozen=True)
class CancelResponse:
    """Stop generation and synthesis now; finish the response as cancelled."""


@dataclass(frozen=True)
class RejectRequest:
    """Answer the client's request with a realtime `error` event carrying `code`."""

    code: str


TurnAction = CommitBuffer | StartResponse | CancelResponse | RejectRequest

ACTIVE_RESPONSE = "conversation_already_has_active_response"
NO_ACTIVE_RESPONSE = "response_cancel_not_active"

_Result = tuple[TurnState, tuple[TurnAction, ...]]


def advance(state: TurnState, event: TurnEvent, policy: TurnPolicy) -> _Result:
    """Apply one event; return the new state and the actions to carry out, in order."""
    match event:
        case SpeechStarted():
            return _on_speech_started(state, policy)
        case SpeechStopped():
            return _on_speech_stopped(state, policy)
        case BufferCommitted():
            return replace(state, pending_transcripts=state.pending_transcripts + 1), ()
        case BufferCleared():
            return replace(state, user_speaking=False), ()
        case TranscriptReady():
            pending = max(0, state.pending_transcripts - 1)
            return _start_if_owed(replace(state, pending_transcripts=pending))
        case ResponseRequested():
            return _on_response_requested(state)
        case CancelRequested():
            return _on_cancel_requested(state)
        case ResponseStarted():
            if state.response is ResponseStage.NONE:
                return replace(state, response=ResponseStage.GENERATING), ()
            return state, ()
        case FirstAudioSent():
            if state.response is ResponseStage.GENERATING:
                return replace(state, response=ResponseStage.SPEAKING), ()
            return state, ()
        case ResponseDone() | ResponseCancelled():
            return _start_if_owed(replace(state, response=ResponseStage.NONE))
    return state, ()


def _on_speech_started(state: TurnState, policy: TurnPolicy) -> _Result:
    if not policy.server_vad or state.user_speaking:
        return state, ()
    speaking = replace(state, user_speaking=True)
    if not policy.interrupt_response:
        return speaking, ()
    interrupted = replace(speaking, response_wanted=False)
    if state.response in (ResponseStage.GENERATING, ResponseStage.SPEAKING):
        return replace(interrupted, response=ResponseStage.CANCELLING), (CancelResponse(),)
    return interrupted, ()


def _on_speech_stopped(state: TurnState, policy: TurnPolicy) -> _Result:
    if not policy.server_vad or not state.user_speaking:
        return state, ()
    committed = replace(
        state,
        user_speaking=False,
        pending_transcripts=state.pending_transcripts + 1,
        response_wanted=state.response_wanted or policy.create_response,
    )
    return committed, (CommitBuffer(),)


def _on_response_requested(state: TurnState) -> _Result:
    if state.response_active or state.response_wanted:
        return state, (RejectRequest(ACTIVE_RESPONSE),)
    return _start_if_owed(replace(state, response_wanted=True))


def _on_cancel_requested(state: TurnState) -> _Result:
    if state.response in (ResponseStage.GENERATING, ResponseStage.SPEAKING):
        return replace(state, response=ResponseStage.CANCELLING, response_wanted=False), (CancelResponse(),)
    if state.response_wanted:
        return replace(state, response_wanted=False), ()
    return state, (RejectRequest(NO_ACTIVE_RESPONSE),)


def _start_if_owed(state: TurnState) -> _Result:
    """Start the owed response once no transcript is outstanding and no response runs."""
    if state.response_wanted and state.pending_transcripts == 0 and not state.response_active:
        return replace(state, response=ResponseStage.GENERATING, response_wanted=False), (StartResponse(),)
    return state, ()
