"""The realtime route's pure pieces: chat stream chunks -> reply events, close codes, turn metrics."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

from voxgate.core.errors import BackendProtocolError, SessionEndedError, SessionExpiredError, SlowClientError
from voxgate.server.errors import realtime_close_code
from voxgate.server.metrics import GatewayMetrics
from voxgate.server.realtime import _reply_events, _WebSocketTransport, wants_extension_events
from voxgate.voice.realtime.reply import ReplyText, ReplyToolCall


def test_chat_chunks_become_text_and_tool_call_pieces() -> None:
    chunk = {"choices": [{"index": 0, "delta": {
        "content": "Hi",
        "tool_calls": [{"index": 1, "id": "call_1", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}
    assert _reply_events(chunk) == [ReplyText("Hi"), ReplyToolCall(1, "call_1", "f", "{\"a\"")]
    assert _reply_events({"choices": [{"delta": {}}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == []


def test_an_error_chunk_fails_the_reply() -> None:
    with pytest.raises(BackendProtocolError):
        _reply_events({"error": {"message": "the model failed after the response started"}})


@pytest.mark.parametrize(
    ("error", "code"),
    [(SessionExpiredError("x"), 4000), (SlowClientError("x"), 4001), (SessionEndedError("x"), 1011)],
)
def test_close_codes(error: SessionEndedError, code: int) -> None:
    assert realtime_close_code(error) == code


def test_turn_metrics_feed_prometheus() -> None:
    metrics = GatewayMetrics()
    metrics.observe_voice_turn({"status": "completed",
                                "latency": {"transcription_ms": 600.0, "first_audio_ms": None, "total_ms": 1200.0}})
    text = metrics.render().decode()
    assert 'voxgate_voice_turns_total{status="completed"} 1.0' in text
    assert 'voxgate_voice_stage_latency_seconds_count{stage="transcription"} 1.0' in text
    assert 'stage="first_audio"' not in text


def test_prepared_replies_and_their_waste_feed_prometheus() -> None:
    metrics = GatewayMetrics()
    metrics.observe_voice_turn({"status": "completed", "prepared": True, "prepared_discarded": 2,
                                "prepared_wasted_tokens": 17, "prepared_wasted_tts_s": 0.75})
    metrics.observe_voice_turn({"status": "completed", "prepared": False, "prepared_discarded": 0,
                                "prepared_wasted_tokens": 0, "prepared_wasted_tts_s": 0.0})
    text = metrics.render().decode()
    assert 'voxgate_voice_prepared_replies_total{outcome="used"} 1.0' in text
    assert 'voxgate_voice_prepared_replies_total{outcome="unprepared"} 1.0' in text
    assert 'voxgate_voice_prepared_wasted_total{unit="replies"} 2.0' in text
    assert 'voxgate_voice_prepared_wasted_total{unit="tokens"} 17.0' in text
    assert 'voxgate_voice_prepared_wasted_total{unit="tts_seconds"} 0.75' in text


@pytest.mark.parametrize(("query", "user_agent", "wanted"), [
    ({}, "Python/3.11 websockets/15.0.1", True),
    ({}, "Agents/Python 0.24.0", False),  # openai-agents reports unknown server events as errors
    ({"voxgate_events": "on"}, "Agents/Python 0.24.0", True),
    ({"voxgate_events": "off"}, "Python/3.11 websockets/15.0.1", False),
    ({"voxgate_events": "maybe"}, "", True),
])
def test_extension_events_by_query_and_user_agent(query: dict[str, str], user_agent: str, wanted: bool) -> None:
    assert wants_extension_events(query, {"user-agent": user_agent}) is wanted


def test_server_closed_sessions_are_counted_by_reason() -> None:
    metrics = GatewayMetrics()
    metrics.voice_sessions_ended.labels("slow_client").inc()
    assert 'voxgate_voice_sessions_ended_total{reason="slow_client"} 1.0' in metrics.render().decode()


class _GoneWebSocket:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_text(self, text: str) -> None:
        raise self.error


@pytest.mark.parametrize("error", [WebSocketDisconnect(code=1006), WebSocketDisconnected("close message sent")])
async def test_an_event_for_a_client_that_has_gone_is_dropped_not_raised(error: Exception) -> None:
    """Fuzzer finding: sending to a closing client raised inside the session and logged a crash."""
    gone: Any = _GoneWebSocket(error)
    await _WebSocketTransport(gone).send('{"type": "session.updated"}')
