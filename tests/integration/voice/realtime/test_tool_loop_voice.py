"""The agent loop by voice (issue 13): after `function_call_output` and `response.create` (tools
still offered, `tool_choice` auto) the assistant speaks words about the result, not the JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.integration.voice.realtime.realtime_client import audio_of, peak, reading
from tests.support.processes import RunningProcess
from tests.support.tool_round_trips import mentions_result, reads_as_words, round_trips

pytestmark = pytest.mark.integration


async def test_a_function_call_output_then_response_create_is_spoken_as_words(voxgate_server: RunningProcess) -> None:
    case = round_trips()[0]  # weather in Paris: 21 C, sunny
    tool: Any = {"type": "function", **case.tool["function"]}
    client = AsyncOpenAI(base_url=f"{voxgate_server.base_url}/v1", api_key="anything",
                         websocket_base_url=f"ws://127.0.0.1:{voxgate_server.port}/v1")
    async with client.realtime.connect(model="auto") as connection, reading(connection) as log:
        await connection.session.update(session={
            "type": "realtime", "output_modalities": ["audio"], "tools": [tool], "tool_choice": "auto",
            "instructions": "You are a voice assistant. Answer in one short sentence."})
        await connection.conversation.item.create(item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": case.question}]})
        await connection.conversation.item.create(item={
            "type": "function_call", "call_id": "call_1", "name": case.name, "arguments": json.dumps(case.arguments)})
        await connection.conversation.item.create(item={
            "type": "function_call_output", "call_id": "call_1", "output": json.dumps(case.result)})
        await connection.response.create()
        done = await log.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert [item["type"] for item in done["response"]["output"]] == ["message"]  # no repeated call
    transcript = "".join(e["delta"] for e in log.of_type("response.output_audio_transcript.delta"))
    assert reads_as_words(transcript), transcript
    assert mentions_result(case, transcript), transcript
    assert peak(audio_of(log.of_type("response.output_audio.delta"))) > 1000  # it was spoken
