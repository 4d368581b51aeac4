"""A voice turn's first sentence is checked before it is spoken (issue 12's voice part): the real
gateway and bundled models, the official SDK's realtime client, text in and out so the turn is
about the answer, not the audio."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.voice.realtime.realtime_client import reading
from tests.support.native_sessions import sdk_client
from tests.support.processes import RunningProcess

pytestmark = pytest.mark.integration

# Route the turn to the faster of two models (SmolLM2-135M, whatever the live latency estimates say of
# the 0.5B): no quality floor, and a budget nothing meets.
TO_THE_SMALLEST = {"x-voxgate-models": "smollm2-135m,qwen2.5-coder-1.5b", "x-voxgate-min-quality": "0",
                   "x-voxgate-max-latency-ms": "1"}


async def _ask(server: RunningProcess, question: str, model: str = "auto") -> dict[str, Any]:
    client = sdk_client(server)
    async with client.realtime.connect(model=model, extra_headers=TO_THE_SMALLEST) as connection, \
            reading(connection) as log:
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.conversation.item.create(item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": question}]})
        await connection.response.create()
        done = await log.wait_for("response.done")
    response: dict[str, Any] = done["response"]
    return response


async def test_a_wrong_first_sentence_is_never_spoken_the_strongest_model_answers(
    voxgate_server: RunningProcess,
) -> None:
    """SmolLM2-135M cannot multiply these: the arithmetic check proves it before a word goes out."""
    response = await _ask(voxgate_server, "What is 4817 * 293? Answer with only the number.")
    assert response["status"] == "completed"
    metadata = response["metadata"]
    assert metadata["voxgate_cascade"] == "smollm2-135m>qwen2.5-coder-1.5b"
    assert metadata["voxgate_model"] == "qwen2.5-coder-1.5b"
    async with httpx.AsyncClient(base_url=voxgate_server.base_url) as http:
        decision = (await http.get(f"/v1/decisions/{metadata['voxgate_decision_id']}")).json()
    assert decision["strategy"] == "cascade"
    first, last = decision["cascade"]["stages"]
    assert (first["model"], first["action"]) == ("smollm2-135m", "escalate")
    assert first["held_chars"] >= 1  # judged on what it had said, which no one heard
    assert any(c["check"] == "arithmetic" and c["status"] == "scored" for c in first["checks"])
    assert last["model"] == "qwen2.5-coder-1.5b"
    assert decision["outcome"] == "ok"


async def test_a_profile_that_names_a_mode_streams_unchecked(voxgate_server: RunningProcess) -> None:
    response = await _ask(voxgate_server, "What is 4817 * 293?", model="auto:fast")
    assert response["metadata"]["voxgate_model"] == "smollm2-135m"
    assert "voxgate_cascade" not in response["metadata"]
