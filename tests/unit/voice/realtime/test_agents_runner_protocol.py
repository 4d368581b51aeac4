"""What the openai-agents `RealtimeRunner` sends and expects, on fake engines: its session.update
(semantic_vad, a transcription model name, voice `ash`, a `tracing`-only update) is accepted; bad
fields beside them are still refused; and with extension events off the session sends only events
in OpenAI's schema (the runner reports any other event type as an error)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.unit.voice.realtime.realtime_harness import WAIT_S, FakeTransport, fake_engines, running_session
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.reply import ScriptedReplySource
from voxgate.voice.realtime.session import RealtimeSession, SessionLimits

# Captured from openai-agents 0.24.0 (`OpenAIRealtimeWebSocketModel._get_session_config`).
RUNNER_SESSION: JSONObject = {
    "type": "realtime", "model": "gpt-realtime-2.1", "instructions": "Be brief.", "output_modalities": ["audio"],
    "audio": {"input": {"format": {"rate": 24000, "type": "audio/pcm"},
                        "transcription": {"model": "gpt-4o-mini-transcribe"},
                        "turn_detection": {"type": "semantic_vad", "interrupt_response": True}},
              "output": {"format": {"rate": 24000, "type": "audio/pcm"}, "voice": "ash"}},
    "tools": [{"description": "Current weather for a city.", "name": "get_weather", "type": "function",
               "parameters": {"properties": {"city": {"title": "City", "type": "string"}}, "required": ["city"],
                              "title": "get_weather_args", "type": "object", "additionalProperties": False}}],
}
TRACING_ONLY: JSONObject = {"model": "gpt-realtime-2.1", "type": "realtime", "tracing": "auto"}
TEXT_ITEM = {"type": "conversation.item.create",
             "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}}


async def test_the_runners_session_updates_are_accepted() -> None:
    async with running_session(ScriptedReplySource([])) as (session, transport):
        transport.push({"type": "session.update", "session": RUNNER_SESSION})
        transport.push({"type": "session.update", "session": TRACING_ONLY})
        transport.push({"type": "session.update", "session": {**TRACING_ONLY, "tracing": {
            "workflow_name": "support", "group_id": "g1", "metadata": {"k": "v"}}}})
        updated = await transport.wait_for("session.updated", 3)
        config = session.config
    assert "error" not in transport.types()
    assert config.turn_detection is not None
    assert config.turn_detection.kind == "semantic_vad"
    assert (config.voice, config.instructions, config.tools[0]["name"]) == ("ash", "Be brief.", "get_weather")
    rendered = updated["session"]
    assert rendered["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
    assert rendered["audio"]["output"]["voice"] == "ash"


@pytest.mark.parametrize(("change", "param"), [
    ({"audio": {"input": {"turn_detection": {"type": "magic_vad"}}}}, "session.audio.input.turn_detection.type"),
    ({"audio": {"output": {"voice": 7}}}, "session.audio.output.voice"),
    ({"audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": "soon"}}}},
     "session.audio.input.turn_detection.idle_timeout_ms"),
])
async def test_bad_fields_beside_ignored_ones_are_still_refused(change: JSONObject, param: str) -> None:
    async with running_session(ScriptedReplySource([])) as (session, transport):
        transport.push({"type": "session.update", "event_id": "bad", "session": {**TRACING_ONLY, **change}})
        error = await transport.wait_for("error")
        voice = session.config.voice
    assert error["error"]["param"] == param
    assert error["error"]["event_id"] == "bad"
    assert voice == "alloy"  # a refused update changes nothing
    assert "session.updated" not in transport.types()


async def test_without_extension_events_only_openai_events_are_sent() -> None:
    observed: list[JSONObject] = []
    session = RealtimeSession(fake_engines(), ScriptedReplySource(["Hello."]), SessionLimits(), beta=False,
                              on_turn_metrics=observed.append, extension_events=False)
    transport = FakeTransport()
    task: asyncio.Task[Any] = asyncio.create_task(session.run(transport))
    try:
        transport.push(TEXT_ITEM)
        transport.push({"type": "response.create"})
        await transport.wait_for("response.done")
        transport.push({"type": "input_audio_buffer.clear"})
        await transport.wait_for("input_audio_buffer.cleared")
    finally:
        transport.inbox.put_nowait(None)
        async with asyncio.timeout(WAIT_S):
            await task
    assert not [kind for kind in transport.types() if kind.startswith("voxgate.")]
    assert [m["type"] for m in observed] == ["voxgate.turn.metrics"]  # the server's own metrics still see it
