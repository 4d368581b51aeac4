"""The turn state machine, exhaustively: every phase x every event under the default policy, the
policy switches one by one, whole conversations, and properties over random event sequences."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxgate.voice.engines.vad import SpeechStarted, SpeechStopped
from voxgate.voice.realtime.response_create import ResponseCreate
from voxgate.voice.realtime.session_config import TurnDetection
from voxgate.voice.realtime.turns import (
    ACTIVE_RESPONSE,
    NO_ACTIVE_RESPONSE,
    NOTHING_HEARD,
    BufferCleared,
    BufferCommitted,
    CancelRequested,
    CancelResponse,
    CommitBuffer,
    CommitSilence,
    FirstAudioSent,
    IdleTimedOut,
    InterruptionConfirmed,
    RejectRequest,
    ResponseCancelled,
    ResponseDone,
    ResponseRequested,
    ResponseStage,
    StartResponse,
    TranscriptReady,
    TurnAction,
    TurnEvent,
    TurnPhase,
    TurnPolicy,
    TurnState,
    advance,
)

L, U, T, B = TurnPhase.LISTENING, TurnPhase.USER_SPEAKING, TurnPhase.THINKING, TurnPhase.BOT_SPEAKING
COMMIT, START, CANCEL = CommitBuffer(), StartResponse(), CancelResponse()
SILENCE = CommitSilence(1_000, 2_500)
BUSY, IDLE = RejectRequest(ACTIVE_RESPONSE), RejectRequest(NO_ACTIVE_RESPONSE)
NOTHING = RejectRequest(NOTHING_HEARD)
DEFAULT = TurnPolicy()
MANUAL = TurnPolicy(server_vad=False)

EVENTS: list[TurnEvent] = [
    SpeechStarted(),
    SpeechStopped(),
    BufferCommitted(),
    BufferCleared(),
    TranscriptReady(),
    IdleTimedOut(1_000, 2_500),
    ResponseRequested(),
    CancelRequested(),
    FirstAudioSent(),
    ResponseDone(),
    ResponseCancelled(),
    InterruptionConfirmed(),
]
STATES = {
    "listening": TurnState(),
    "user_speaking": TurnState(user_speaking=True),
    "awaiting_transcript": TurnState(pending_transcripts=1, response_wanted=True),
    "generating": TurnState(response=ResponseStage.GENERATING),
    "bot_speaking": TurnState(response=ResponseStage.SPEAKING),
}
# (state, event) -> (phase after, actions), default policy: server_vad, create_response, interrupt_response.
TABLE: dict[tuple[str, type], tuple[TurnPhase, tuple[TurnAction, ...]]] = {
    ("listening", SpeechStarted): (U, ()),
    ("listening", SpeechStopped): (L, ()),
    ("listening", BufferCommitted): (L, ()),
    ("listening", BufferCleared): (L, ()),
    ("listening", IdleTimedOut): (T, (SILENCE, START)),
    ("listening", TranscriptReady): (L, ()),
    ("listening", ResponseRequested): (T, (START,)),
    ("listening", CancelRequested): (L, (IDLE,)),
    ("listening", FirstAudioSent): (L, ()),
    ("listening", ResponseDone): (L, ()),
    ("listening", InterruptionConfirmed): (L, ()),  # nothing pending: a stale report
    ("listening", ResponseCancelled): (L, ()),
    ("user_speaking", SpeechStarted): (U, ()),
    ("user_speaking", SpeechStopped): (T, (COMMIT,)),
    ("user_speaking", BufferCommitted): (U, ()),
    ("user_speaking", BufferCleared): (L, ()),
    ("user_speaking", IdleTimedOut): (U, ()),
    ("user_speaking", TranscriptReady): (U, ()),
    ("user_speaking", ResponseRequested): (U, (START,)),
    ("user_speaking", CancelRequested): (U, (IDLE,)),
    ("user_speaking", FirstAudioSent): (U, ()),
    ("user_speaking", ResponseDone): (U, ()),
    ("user_speaking", InterruptionConfirmed): (U, ()),  # nothing pending: a stale report
    ("user_speaking", ResponseCancelled): (U, ()),
    ("awaiting_transcript", SpeechStarted): (U, ()),
    ("awaiting_transcript", SpeechStopped): (T, ()),
    ("awaiting_transcript", BufferCommitted): (T, ()),
    ("awaiting_transcript", BufferCleared): (T, ()),
    ("awaiting_transcript", IdleTimedOut): (T, ()),
    ("awaiting_transcript", TranscriptReady): (T, (START,)),
    ("awaiting_transcript", ResponseRequested): (T, (BUSY,)),
    ("awaiting_transcript", CancelRequested): (L, ()),
    ("awaiting_transcript", FirstAudioSent): (T, ()),
    ("awaiting_transcript", ResponseDone): (T, ()),
    ("awaiting_transcript", InterruptionConfirmed): (T, ()),  # nothing pending: a stale report
    ("awaiting_transcript", ResponseCancelled): (T, ()),
    ("generating", SpeechStarted): (U, (CANCEL,)),
    ("generating", SpeechStopped): (T, ()),
    ("generating", BufferCommitted): (T, ()),
    ("generating", BufferCleared): (T, ()),
    ("generating", IdleTimedOut): (T, ()),
    ("generating", TranscriptReady): (T, ()),
    ("generating", ResponseRequested): (T, (BUSY,)),
    ("generating", CancelRequested): (L, (CANCEL,)),
    ("generating", FirstAudioSent): (B, ()),
    ("generating", ResponseDone): (L, ()),
    ("generating", InterruptionConfirmed): (T, ()),  # nothing pending: a stale report
    ("generating", ResponseCancelled): (L, ()),
    ("bot_speaking", SpeechStarted): (U, (CANCEL,)),
    ("bot_speaking", SpeechStopped): (B, ()),
    ("bot_speaking", BufferCommitted): (B, ()),
    ("bot_speaking", BufferCleared): (B, ()),
    ("bot_speaking", IdleTimedOut): (B, ()),
    ("bot_speaking", TranscriptReady): (B, ()),
    ("bot_speaking", ResponseRequested): (B, (BUSY,)),
    ("bot_speaking", CancelRequested): (L, (CANCEL,)),
    ("bot_speaking", FirstAudioSent): (B, ()),
    ("bot_speaking", ResponseDone): (L, ()),
    ("bot_speaking", InterruptionConfirmed): (B, ()),  # nothing pending: a stale report
    ("bot_speaking", ResponseCancelled): (L, ()),
}


def run(
    events: list[TurnEvent], policy: TurnPolicy = DEFAULT, state: TurnState | None = None
) -> tuple[TurnState, list[TurnAction]]:
    current = state or TurnState()
    actions: list[TurnAction] = []
    for event in events:
        current, new_actions = advance(current, event, policy)
        actions.extend(new_actions)
    return current, actions


def test_table_covers_every_state_and_event() -> None:
    assert set(TABLE) == {(name, type(event)) for name in STATES for event in EVENTS}
    assert set(typing.get_args(TurnEvent)) == {type(event) for event in EVENTS}


BACKCHANNELS = TurnPolicy(backchannels=True)
SPEAKING = TurnState(response=ResponseStage.SPEAKING)


def test_with_backchannels_speech_over_a_spoken_reply_is_held_not_cancelled() -> None:
    state, actions = run([SpeechStarted()], BACKCHANNELS, SPEAKING)
    assert (state.phase, actions, state.interruption_pending) == (U, [], True)
    state, actions = run([SpeechStarted()], BACKCHANNELS, TurnState(response=ResponseStage.GENERATING))
    assert actions == [CANCEL]  # nothing heard yet: an interruption as ever


def test_a_held_interruption_that_runs_long_cancels() -> None:
    state, actions = run([SpeechStarted(), InterruptionConfirmed()], BACKCHANNELS, SPEAKING)
    assert actions == [CANCEL]
    assert state.response is ResponseStage.CANCELLING
    assert not state.interruption_pending


def test_a_backchannel_s_transcript_lets_the_reply_go_on_and_owes_nothing() -> None:
    events: list[TurnEvent] = [SpeechStarted(), SpeechStopped(), InterruptionConfirmed(),
                               TranscriptReady(backchannel=True)]
    state, actions = run(events, BACKCHANNELS, SPEAKING)
    assert actions == [COMMIT]  # late InterruptionConfirmed (speech over) changes nothing
    assert (state.phase, state.response_wanted, state.interruption_pending) == (B, False, False)
    state, actions = run([ResponseDone()], BACKCHANNELS, state)
    assert (state.phase, actions) == (L, [])


def test_a_short_interruption_with_words_cancels_then_is_answered() -> None:
    events: list[TurnEvent] = [SpeechStarted(), SpeechStopped(), TranscriptReady(backchannel=False)]
    state, actions = run(events, BACKCHANNELS, SPEAKING)
    assert actions == [COMMIT, CANCEL]
    state, actions = run([ResponseCancelled()], BACKCHANNELS, state)
    assert actions == [START]


def test_canonical_states_have_their_phase() -> None:
    phases = {name: state.phase for name, state in STATES.items()}
    assert phases == {
        "listening": L,
        "user_speaking": U,
        "awaiting_transcript": T,
        "generating": T,
        "bot_speaking": B,
    }


@pytest.mark.parametrize(("state_name", "event"), [(s, e) for s in STATES for e in EVENTS], ids=str)
def test_every_state_and_event(state_name: str, event: TurnEvent) -> None:
    new_state, actions = advance(STATES[state_name], event, DEFAULT)
    assert (new_state.phase, actions) == TABLE[(state_name, type(event))]


@pytest.mark.parametrize("state_name", STATES)
@pytest.mark.parametrize("event", [SpeechStarted(), SpeechStopped()])
def test_manual_mode_ignores_voice_activity(state_name: str, event: TurnEvent) -> None:
    assert advance(STATES[state_name], event, MANUAL) == (STATES[state_name], ())


def test_server_vad_turn_from_speech_to_reply() -> None:
    state, actions = run([SpeechStarted(100), SpeechStopped(2400)])
    assert actions == [COMMIT]
    assert state.phase is T
    state, actions = run([TranscriptReady(), FirstAudioSent()], state=state)
    assert actions == [START]
    assert state.phase is B
    state, actions = run([ResponseDone()], state=state)
    assert (state, actions) == (TurnState(), [])


def test_barge_in_cancels_and_the_next_turn_gets_a_response() -> None:
    speaking = STATES["bot_speaking"]
    state, actions = run([SpeechStarted(), FirstAudioSent()], state=speaking)
    assert actions == [CANCEL]
    assert state.response is ResponseStage.CANCELLING  # late audio does not bring the bot back
    state, actions = run([ResponseCancelled(), SpeechStopped(), TranscriptReady()], state=state)
    assert actions == [COMMIT, START]
    assert state.response is ResponseStage.GENERATING


def test_without_create_response_the_client_asks() -> None:
    policy = TurnPolicy(create_response=False)
    state, actions = run([SpeechStarted(), SpeechStopped(), TranscriptReady()], policy)
    assert actions == [COMMIT]
    assert state.phase is L
    state, actions = run([ResponseRequested()], policy, state)
    assert actions == [START]


def test_without_interrupt_response_the_new_turn_waits_for_the_reply() -> None:
    policy = TurnPolicy(interrupt_response=False)
    state, actions = run(
        [SpeechStarted(), SpeechStopped(), TranscriptReady()], policy, STATES["bot_speaking"]
    )
    assert actions == [COMMIT]
    assert state.response is ResponseStage.SPEAKING
    state, actions = run([ResponseDone()], policy, state)
    assert actions == [START]


def test_manual_turn_waits_for_the_transcript_before_responding() -> None:
    state, actions = run([BufferCommitted(), ResponseRequested()], MANUAL)
    assert actions == []
    assert state.phase is T
    state, actions = run([TranscriptReady()], MANUAL, state)
    assert actions == [START]


def test_response_waits_for_every_outstanding_transcript() -> None:
    state, actions = run([SpeechStarted(), SpeechStopped(), BufferCommitted(), TranscriptReady()])
    assert actions == [COMMIT]
    _, actions = run([TranscriptReady()], state=state)
    assert actions == [START]


def test_second_cancel_is_rejected() -> None:
    _, actions = run(
        [CancelRequested(), ResponseCancelled(), CancelRequested()], state=STATES["bot_speaking"]
    )
    assert actions == [CANCEL, IDLE]


policies = st.builds(TurnPolicy, st.booleans(), st.booleans(), st.booleans(), st.booleans())
events = st.sampled_from([*EVENTS, ResponseRequested(heard_nothing=True), TranscriptReady(heard_nothing=True)])


@given(policy=policies, sequence=st.lists(events, max_size=60))
def test_random_sequences_keep_the_invariants(policy: TurnPolicy, sequence: list[TurnEvent]) -> None:
    state = TurnState()
    for event in sequence:
        before = state
        state, actions = advance(state, event, policy)
        assert state.pending_transcripts >= 0
        # A response that is owed and free to start has been started.
        assert not (state.response_wanted and state.pending_transcripts == 0 and not state.response_active)
        if START in actions:
            assert state.response is ResponseStage.GENERATING
        if CANCEL in actions:
            assert before.response in (ResponseStage.GENERATING, ResponseStage.SPEAKING)
            assert state.response is ResponseStage.CANCELLING
        if NOTHING in actions:  # a refusal for want of words never starts or owes a response
            assert START not in actions
            assert not state.response_wanted
        if not policy.server_vad and isinstance(event, SpeechStarted | SpeechStopped):
            assert (state, actions) == (before, ())


@given(policy=policies, prefix=st.lists(events, max_size=40))
def test_barge_in_from_bot_speaking_always_cancels_when_interrupting(
    policy: TurnPolicy, prefix: list[TurnEvent]
) -> None:
    state, _ = run(prefix, policy)
    if state.response is not ResponseStage.SPEAKING or state.user_speaking:
        state = TurnState(response=ResponseStage.SPEAKING)
    new_state, actions = advance(state, SpeechStarted(), policy)
    if policy.server_vad and policy.interrupt_response:
        assert actions == (CANCEL,)
        assert new_state.phase is U
    else:
        assert CANCEL not in actions


def test_a_turn_without_words_gets_no_response() -> None:
    state, _ = run([SpeechStarted(), SpeechStopped()])
    state, actions = run([TranscriptReady(heard_nothing=True)], state=state)
    assert (actions, state.phase, state.response_wanted) == ([], L, False)
    # A response the client asked for while the transcript was pending is not owed to noise either,
    # and the client is told (push-to-talk: commit, response.create, then the noise's empty transcript).
    state, actions = run([BufferCommitted(), ResponseRequested(heard_nothing=True),
                          TranscriptReady(heard_nothing=True)], MANUAL)
    assert (actions, state.phase, state.owed_to_client) == ([NOTHING], L, False)
    # Asked for after the empty transcript: refused at once, nothing owed.
    state, actions = run([ResponseRequested(heard_nothing=True)], MANUAL, state)
    assert (actions, state.response_wanted) == ([NOTHING], False)
    # Words still pending elsewhere: the empty transcript only counts down.
    state, _ = run([BufferCommitted(), BufferCommitted(), ResponseRequested()], MANUAL)
    state, actions = run([TranscriptReady(heard_nothing=True), TranscriptReady()], MANUAL, state)
    assert actions == [START]


def test_the_idle_timeout_commits_the_silence_and_owes_the_prompt() -> None:
    prompt = ResponseCreate(overrides={"instructions": "Ask whether they are still there."})
    state, actions = run([IdleTimedOut(1_000, 2_500, prompt)])
    assert actions == [SILENCE, StartResponse(prompt)]
    assert state.response is ResponseStage.GENERATING
    # While a transcript is outstanding the prompt waits for it, then starts.
    state, actions = run([IdleTimedOut(1_000, 2_500, prompt)], state=TurnState(pending_transcripts=1))
    assert (actions, state.phase) == ([SILENCE], T)
    _, actions = run([TranscriptReady()], state=state)
    assert actions == [StartResponse(prompt)]


def test_the_idle_timeout_without_create_response_only_commits() -> None:
    state, actions = run([IdleTimedOut(1_000, 2_500)], TurnPolicy(create_response=False))
    assert (state, actions) == (TurnState(), [SILENCE])


@pytest.mark.parametrize("policy", [TurnPolicy(idle_timeout=False), MANUAL])
def test_the_idle_timeout_is_ignored_without_server_vad_s_idle_timeout(policy: TurnPolicy) -> None:
    assert run([IdleTimedOut(1_000, 2_500)], policy) == (TurnState(), [])


def test_a_request_s_fields_travel_with_the_response_it_owes() -> None:
    request = ResponseCreate(overrides={"instructions": "Be brief."})
    state, actions = run([BufferCommitted(), ResponseRequested(request)], MANUAL)
    assert actions == []
    # A second request is refused and leaves the owed one as it was.
    state, actions = run([ResponseRequested(ResponseCreate(overrides={"voice": "ash"}))], MANUAL, state)
    assert actions == [BUSY]
    _, actions = run([TranscriptReady()], MANUAL, state)
    assert actions == [StartResponse(request)]


@pytest.mark.parametrize("dropping", [SpeechStarted(), CancelRequested()])
def test_a_dropped_response_forgets_its_request(dropping: TurnEvent) -> None:
    request = ResponseCreate(overrides={"instructions": "Be brief."})
    state, _ = run([SpeechStarted(), SpeechStopped(), ResponseRequested(request)], TurnPolicy(create_response=False))
    assert state.owed_request == request
    state, _ = run([dropping], state=state)
    assert (state.response_wanted, state.owed_request) == (False, ResponseCreate())
    _, actions = run([SpeechStopped(), TranscriptReady(), TranscriptReady()], state=state)
    assert StartResponse(request) not in actions


def test_the_policy_follows_turn_detection() -> None:
    assert TurnPolicy.for_detection(None) == TurnPolicy(False, False, False, False)
    assert TurnPolicy.for_detection(TurnDetection()) == TurnPolicy()
    semantic = TurnDetection(kind="semantic_vad", create_response=False, idle_timeout_ms=500)
    assert TurnPolicy.for_detection(semantic) == TurnPolicy(True, False, True, idle_timeout=False)
