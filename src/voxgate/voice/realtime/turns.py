"""The turn state machine: who has the floor, and what the session must do next. Pure, no I/O.

    advance(state, event, policy) -> (new_state, actions)

The session feeds it every event that matters for turn-taking (voice activity, commits,
transcripts, the user's silence, response progress, client requests) and carries out the actions
it returns. The machine never raises: an event that does not fit the current state changes nothing.

`TurnState` keeps these facts apart, because they overlap in real conversations:
    user_speaking         voice activity says the user is talking
    response              NONE | GENERATING (no audio sent yet) | SPEAKING | CANCELLING
    pending_transcripts   committed turns whose transcript is not ready yet
    response_wanted       a response is owed once transcripts are ready and no response runs
    owed_request          what that response was asked with (`response.create`'s fields, the idle prompt)
    owed_to_client        the client asked for it (`response.create`), so a refusal is told
    interruption_pending  the user spoke over the reply; a backchannel ("mm-hm") or a real interruption?
Its `phase` is the one-word summary: LISTENING, USER_SPEAKING, THINKING or BOT_SPEAKING.

Policy (the session's `turn_detection`): with `server_vad` off (turn_detection null) voice
activity events are ignored and the client commits and asks for responses. With it on, speech
stopping commits the buffer and, if `create_response`, owes a response; speech starting during a
response cancels it (barge-in) if `interrupt_response`, otherwise the new turn waits its turn.
With `backchannels`, speech over a reply that is being spoken holds the cancel: the session reports
`InterruptionConfirmed` when the speech runs long, and the transcript says whether it was a
backchannel (the reply goes on, nothing is owed) or an interruption (cancel now, answer it).
A turn whose transcript is empty (the VAD fired on noise, or `speech_guard` withheld words invented
from it) gets no response; when the client asked for that response (`response.create` after a
push-to-talk commit of noise) it is told with an `error` event `input_audio_without_speech`. With `idle_timeout`
(`server_vad` and `idle_timeout_ms`), a user who stays silent while the floor is free has the
silence committed and, if `create_response`, is prompted by a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from voxgate.voice.engines.vad import SpeechStarted, SpeechStopped
from voxgate.voice.realtime.response_create import ResponseCreate
from voxgate.voice.realtime.session_config import TurnDetection


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
    idle_timeout: bool = True  # IdleTimedOut counts (server_vad; semantic_vad has no idle timeout)
    backchannels: bool = False  # speech over a spoken reply waits to be judged before cancelling it

    @staticmethod
    def for_detection(turn_detection: TurnDetection | None, backchannels: bool = False) -> TurnPolicy:
        if turn_detection is None:
            return TurnPolicy(server_vad=False, create_response=False, interrupt_response=False, idle_timeout=False)
        return TurnPolicy(True, turn_detection.create_response, turn_detection.interrupt_response,
                          idle_timeout=turn_detection.kind == "server_vad", backchannels=backchannels)


@dataclass(frozen=True)
class TurnState:
    user_speaking: bool = False
    response: ResponseStage = ResponseStage.NONE
    pending_transcripts: int = 0
    response_wanted: bool = False
    owed_request: ResponseCreate = field(default_factory=ResponseCreate)
    owed_to_client: bool = False
    interruption_pending: bool = False

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
    """A committed turn's transcript is ready (or failed: it is ready as empty).

    `heard_nothing`: the conversation now ends with a user audio item without words, so a response
    it would start answers nothing (the VAD fired on noise). `backchannel`: its words were only an
    acknowledgement ("mm-hm", `realtime.backchannel`)."""

    heard_nothing: bool = False
    backchannel: bool = False


@dataclass(frozen=True)
class InterruptionConfirmed:
    """Speech over the reply lasted longer than a backchannel does: it is an interruption."""


@dataclass(frozen=True)
class IdleTimedOut:
    """The user stayed silent for `idle_timeout_ms` since the last response finished playing.

    The span is on the input-audio clock; `request` is the response that prompts the user."""

    audio_start_ms: int = 0
    audio_end_ms: int = 0
    request: ResponseCreate = field(default_factory=ResponseCreate)


@dataclass(frozen=True)
class ResponseRequested:
    """The client asked for a response (`response.create`, in the conversation).

    `heard_nothing`: the conversation it would answer ends with a user audio item without words
    (counts only once no transcript is pending)."""

    request: ResponseCreate = field(default_factory=ResponseCreate)
    heard_nothing: bool = False


@dataclass(frozen=True)
class CancelRequested:
    """The client asked to cancel the response (`response.cancel`)."""


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
    | IdleTimedOut
    | ResponseRequested
    | CancelRequested
    | FirstAudioSent
    | ResponseDone
    | ResponseCancelled
    | InterruptionConfirmed
)

# Actions: imperative, what the session must do.


@dataclass(frozen=True)
class CommitBuffer:
    """Commit the input audio buffer as a user turn and transcribe it."""


@dataclass(frozen=True)
class CommitSilence:
    """Tell the client its silence timed out and commit it as a user turn with no words (not transcribed)."""

    audio_start_ms: int
    audio_end_ms: int


@dataclass(frozen=True)
class StartResponse:
    """Create a response from the conversation so far, as `request` asks."""

    request: ResponseCreate = field(default_factory=ResponseCreate)


@dataclass(frozen=True)
class CancelResponse:
    """Stop generation and synthesis now; finish the response as cancelled."""


@dataclass(frozen=True)
class RejectRequest:
    """Answer the client's request with a realtime `error` event carrying `code`."""

    code: str


TurnAction = CommitBuffer | CommitSilence | StartResponse | CancelResponse | RejectRequest

ACTIVE_RESPONSE = "conversation_already_has_active_response"
NO_ACTIVE_RESPONSE = "response_cancel_not_active"
NOTHING_HEARD = "input_audio_without_speech"

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
        case TranscriptReady(heard_nothing=heard_nothing, backchannel=backchannel):
            return _on_transcript_ready(state, heard_nothing, backchannel)
        case InterruptionConfirmed():
            if not (state.interruption_pending and state.user_speaking):
                return state, ()  # judged already, or the speech ended short: its transcript decides
            return _interrupt(replace(state, interruption_pending=False))
        case IdleTimedOut():
            return _on_idle_timed_out(state, event, policy)
        case ResponseRequested(request=request, heard_nothing=heard_nothing):
            return _on_response_requested(state, request, heard_nothing)
        case CancelRequested():
            return _on_cancel_requested(state)
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
    if policy.backchannels and state.response is ResponseStage.SPEAKING:
        return replace(speaking, interruption_pending=True), ()  # judged by its length, then its words
    return _interrupt(speaking)


def _interrupt(state: TurnState) -> _Result:
    """Barge-in: owe nothing; cancel the response if one runs."""
    interrupted = _owe_nothing(state)
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


def _on_transcript_ready(state: TurnState, heard_nothing: bool, backchannel: bool) -> _Result:
    ready = replace(state, pending_transcripts=max(0, state.pending_transcripts - 1))
    if state.interruption_pending:
        ready = replace(ready, interruption_pending=False)
        if backchannel or heard_nothing:
            return _owe_nothing(ready), ()  # the reply goes on; an acknowledgement needs no answer
        if ready.response in (ResponseStage.GENERATING, ResponseStage.SPEAKING):
            owed = replace(ready, response=ResponseStage.CANCELLING)
            return owed, (CancelResponse(),)  # answered once the cancelled reply is done
    if heard_nothing and _free_to_start(ready):  # no reply to a turn without words
        return _owe_nothing(ready), (RejectRequest(NOTHING_HEARD),) if ready.owed_to_client else ()
    return _start_if_owed(ready)


def _on_idle_timed_out(state: TurnState, event: IdleTimedOut, policy: TurnPolicy) -> _Result:
    if not (policy.server_vad and policy.idle_timeout) or state.phase is not TurnPhase.LISTENING:
        return state, ()
    commit = CommitSilence(event.audio_start_ms, event.audio_end_ms)
    if not policy.create_response:
        return state, (commit,)
    owed, actions = _start_if_owed(replace(state, response_wanted=True, owed_request=event.request))
    return owed, (commit, *actions)


def _on_response_requested(state: TurnState, request: ResponseCreate, heard_nothing: bool) -> _Result:
    if state.response_active or state.response_wanted:
        return state, (RejectRequest(ACTIVE_RESPONSE),)
    if heard_nothing and state.pending_transcripts == 0:
        return state, (RejectRequest(NOTHING_HEARD),)
    return _start_if_owed(replace(state, response_wanted=True, owed_request=request, owed_to_client=True))


def _on_cancel_requested(state: TurnState) -> _Result:
    if state.response in (ResponseStage.GENERATING, ResponseStage.SPEAKING):
        return replace(_owe_nothing(state), response=ResponseStage.CANCELLING), (CancelResponse(),)
    if state.response_wanted:
        return _owe_nothing(state), ()
    return state, (RejectRequest(NO_ACTIVE_RESPONSE),)


def _free_to_start(state: TurnState) -> bool:
    return state.response_wanted and state.pending_transcripts == 0 and not state.response_active


def _start_if_owed(state: TurnState) -> _Result:
    """Start the owed response once no transcript is outstanding and no response runs."""
    if _free_to_start(state):
        return replace(_owe_nothing(state), response=ResponseStage.GENERATING), (StartResponse(state.owed_request),)
    return state, ()


def _owe_nothing(state: TurnState) -> TurnState:
    return replace(state, response_wanted=False, owed_request=ResponseCreate(), owed_to_client=False)
