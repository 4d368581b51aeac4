"""The realtime route's pure pieces: chat stream chunks -> reply events, close codes, turn metrics."""

from __future__ import annotations

import pytest

from voxgate.core.errors import BackendProtocolError, SessionEndedError, SessionExpiredError, SlowClientError
from voxgate.server.errors import realtime_close_code
from voxgate.server.metrics import GatewayMetrics
from voxgate.server.realtime import _reply_events, _usage
from voxgate.voice.reply import ReplyText, ReplyToolCall


def test_chat_chunks_become_text_and_tool_call_pieces() -> None:
    chunk = {"choices": [{"index": 0, "delta": {
        "content": "Hi",
        "tool_calls": [{"index": 1, "id": "call_1", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}
    assert _reply_events(chunk) == [ReplyText("Hi"), ReplyToolCall(1, "call_1", "f", "{\"a\"")]
    assert _reply_events({"choices": [{"delta": {}}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == []
    assert _usage({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == (3, 4)
    assert _usage({"choices": []}) is None


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
