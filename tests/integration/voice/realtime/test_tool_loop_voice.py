"""The agent loop by voice (issue 13): after `function_call_output` and `response.create` (tools
still offered, `tool_choice` auto) the assistant speaks words about the result, not the JSON.

The reply is sampled (a realtime session sends no temperature: llama.cpp's default, 0.8), so its
wording differs from run to run: "The temperature in Paris is 21°C and the sky is sunny." or
"21°C, sunny" (1 of 160 replies measured). The test asserts the contract, not a wording."""

from __future__ import annotations

import pytest

from tests.integration.voice.realtime.realtime_client import audio_of, peak, reading
from tests.support.native_sessions import sdk_client
from tests.support.processes import RunningProcess
from tests.support.tool_round_trips import answers_in_words, mentions_result, round_trips, send_round_trip

pytestmark = pytest.mark.integration


async def test_a_function_call_output_then_response_create_is_spoken_as_words(voxgate_server: RunningProcess) -> None:
    case = round_trips()[0]  # weather in Paris: 21 C, sunny
    client = sdk_client(voxgate_server)
    async with client.realtime.connect(model="auto") as connection, reading(connection) as log:
        await send_round_trip(connection, case)
        done = await log.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert [item["type"] for item in done["response"]["output"]] == ["message"]  # no repeated call
    transcript = "".join(e["delta"] for e in log.of_type("response.output_audio_transcript.delta"))
    assert answers_in_words(case, transcript), transcript
    assert mentions_result(case, transcript), transcript
    assert peak(audio_of(log.of_type("response.output_audio.delta"))) > 1000  # it was spoken
