"""A realtime client of one protocol shape against a native-audio model of the other, end to end.

The model is tests/support/scripted_realtime_model: a real WebSocket server that speaks only GA
(`native-ga`, OpenAI's URL shape) or only beta (`native-azure-beta`: Azure's dated
`.../openai/realtime` URL, whose default -preview api-version speaks beta), and answers any event
not well shaped in its own shape with an `error`. The proxy is a real `voxgate serve` (no speech
engines); the clients are the official `openai` SDK: `client.realtime.connect` (GA) against the beta
model, `client.beta.realtime.connect` against the GA one. Every event a client gets is checked
against the SDK's types of its own shape, and the SDK parses it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.voice.realtime.realtime_client import audio_of, peak
from tests.support.native_sessions import sdk_client
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.realtime_events import EventRecorder
from tests.support.realtime_shapes import BETA_SERVER, GA_SERVER, shape_errors
from tests.support.scripted_realtime_model import (
    AUDIO_CHUNKS,
    CHUNK_SAMPLES,
    HEARD,
    REPLY,
    TONE,
    TOOL_REPLY,
    ScriptedRealtimeModel,
    ScriptedSession,
    serve_scripted_realtime_model,
)

pytestmark = pytest.mark.integration

NATIVE_KEY = "sk-native-dialects"
WAIT_S = 30.0
TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
# (client shape, the model of the other shape)
PAIRS = [pytest.param("ga", "native-azure-beta", id="ga-client-beta-model"),
         pytest.param("beta", "native-ga", id="beta-client-ga-model")]
NAMES = {
    "ga": {"audio": "response.output_audio.delta", "transcript": "response.output_audio_transcript.delta",
           "transcript_done": "response.output_audio_transcript.done", "item": "conversation.item.added"},
    "beta": {"audio": "response.audio.delta", "transcript": "response.audio_transcript.delta",
             "transcript_done": "response.audio_transcript.done", "item": "conversation.item.created"},
}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedRealtimeModel]:
    with serve_scripted_realtime_model() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def proxy(model: ScriptedRealtimeModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    entries = (("native-ga", model.url("ga")), ("native-azure-beta", model.url("beta", azure=True)))
    catalog = "models:\n" + "".join(
        f"  - id: {model_id}\n    backend: openai-realtime\n    base_url: {url}\n    api_model: scripted\n"
        "    api_key_env: NATIVE_KEY\n    locality: local\n    price: {input_per_mtok: 32, output_per_mtok: 64}\n"
        for model_id, url in entries)
    catalog += "include_default_models: false\nvoice: {enabled: false}\n"
    running = start_voxgate(tmp_path_factory.mktemp("dialects"), catalog, env={"NATIVE_KEY": NATIVE_KEY})
    try:
        yield running
    finally:
        stop_process(running.process)


class WireLog(EventRecorder):
    """Every server event as it came over the wire (the SDK parses each too)."""

    def __init__(self, connection: Any) -> None:
        super().__init__(timeout_s=WAIT_S)
        self.connection = connection

    async def read_forever(self) -> None:
        while True:
            raw = await self.connection.recv_bytes()
            self.connection.parse_event(raw)
            await self.record(json.loads(raw))


@contextlib.asynccontextmanager
async def session(proxy: RunningProcess, shape: str, model_id: str) -> AsyncIterator[tuple[Any, WireLog]]:
    client = sdk_client(proxy)
    realtime: Any = client.realtime if shape == "ga" else client.beta.realtime
    async with asyncio.timeout(WAIT_S * 2), realtime.connect(model=model_id) as connection:
        log = WireLog(connection)
        task = asyncio.create_task(log.read_forever())
        try:
            yield connection, log
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _session_update(shape: str, **fields: Any) -> dict[str, Any]:
    if shape == "ga":
        return {"type": "realtime", "instructions": "Answer briefly.", "output_modalities": ["audio"],
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24_000}}, "output": {"voice": "alloy"}},
                **fields}
    return {"instructions": "Answer briefly.", "modalities": ["text", "audio"], "voice": "alloy",
            "input_audio_format": "pcm16", **fields}


def _check_shapes(log: WireLog, shape: str) -> None:
    classes = GA_SERVER if shape == "ga" else BETA_SERVER
    problems = {e["type"]: shape_errors(e, classes) for e in log.events if not e["type"].startswith("voxgate.")}
    assert {kind: found for kind, found in problems.items() if found} == {}


def _upstream(model: ScriptedRealtimeModel, shape: str) -> ScriptedSession:
    upstream = model.sessions[-1]
    assert upstream.dialect == ("beta" if shape == "ga" else "ga")
    assert upstream.refused == []  # everything the proxy sent was well shaped in the model's own shape
    return upstream


@pytest.mark.parametrize(("shape", "model_id"), PAIRS)
async def test_a_spoken_turn_with_audio_out_and_transcripts(proxy: RunningProcess, model: ScriptedRealtimeModel,
                                                           shape: str, model_id: str) -> None:
    names = NAMES[shape]
    async with session(proxy, shape, model_id) as (connection, log):
        await connection.session.update(session=_session_update(shape))
        updated = await log.wait_for("session.updated")
        for _ in range(10):
            await connection.input_audio_buffer.append(audio=base64.b64encode(TONE).decode())
        await connection.input_audio_buffer.commit()
        heard = await log.wait_for("conversation.item.input_audio_transcription.completed")
        await connection.response.create()
        done = await log.wait_for("response.done")
        spoken = await log.wait_for(names["transcript_done"])
    _check_shapes(log, shape)
    voice = updated["session"]["audio"]["output"]["voice"] if shape == "ga" else updated["session"]["voice"]
    assert voice == "alloy"
    assert heard["transcript"] == HEARD
    audio = audio_of(log.of_type(names["audio"]))
    assert len(audio) == AUDIO_CHUNKS * CHUNK_SAMPLES * 2
    assert peak(audio) > 1_000
    assert "".join(e["delta"] for e in log.of_type(names["transcript"])).strip() == REPLY == spoken["transcript"]
    assert done["response"]["status"] == "completed"
    assert done["response"]["metadata"]["voxgate_model"] == model_id
    assert done["response"]["output"][0]["content"][0]["transcript"] == REPLY
    assert len(log.of_type(names["item"])) == 2  # the user's item and the reply's
    if shape == "ga":  # GA clients also hear when an item is done; beta clients never hear GA names
        assert len(log.of_type("conversation.item.done")) == 2
    else:
        assert not [t for t in log.types() if t in ("conversation.item.added", "conversation.item.done")]
    upstream = _upstream(model, shape)
    sent_session = next(e for e in upstream.received if e["type"] == "session.update")["session"]
    if shape == "ga":  # the Azure preview deployment: beta shape, api-key, the beta header
        assert sent_session["voice"] == "alloy"
        assert upstream.headers["api-key"] == NATIVE_KEY
        assert upstream.headers["openai-beta"] == "realtime=v1"
    else:
        assert sent_session["audio"]["output"]["voice"] == "alloy"
        assert upstream.headers["authorization"] == f"Bearer {NATIVE_KEY}"
        assert "openai-beta" not in upstream.headers


@pytest.mark.parametrize(("shape", "model_id"), PAIRS)
async def test_a_tool_round_trip(proxy: RunningProcess, model: ScriptedRealtimeModel, shape: str,
                                 model_id: str) -> None:
    async with session(proxy, shape, model_id) as (connection, log):
        await connection.session.update(session=_session_update(shape, tools=[TOOL], tool_choice="auto"))
        await log.wait_for("session.updated")
        await connection.response.create()
        first = await log.wait_for("response.done")
        arguments = await log.wait_for("response.function_call_arguments.done")
        (call,) = first["response"]["output"]
        await connection.conversation.item.create(item={
            "type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "clear"}'})
        await connection.response.create()
        second = await log.wait_for("response.done", 2)
    _check_shapes(log, shape)
    assert call["type"] == "function_call"
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Oslo"} == json.loads(arguments["arguments"])
    assert arguments["call_id"] == call["call_id"]
    assert second["response"]["output"][0]["content"][0]["transcript"] == TOOL_REPLY
    upstream = _upstream(model, shape)
    outputs = [e["item"] for e in upstream.received if e["type"] == "conversation.item.create"]
    assert outputs == [{"type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "clear"}'}]


@pytest.mark.parametrize(("shape", "model_id"), PAIRS)
async def test_barge_in_cancels_the_reply_and_truncates_what_was_heard(
    proxy: RunningProcess, model: ScriptedRealtimeModel, shape: str, model_id: str
) -> None:
    async with session(proxy, shape, model_id) as (connection, log):
        await connection.session.update(session=_session_update(shape))
        await log.wait_for("session.updated")
        await connection.response.create()
        first_audio = await log.wait_for(NAMES[shape]["audio"])
        await connection.response.cancel()
        await connection.conversation.item.truncate(item_id=first_audio["item_id"], content_index=0,
                                                    audio_end_ms=100)
        done = await log.wait_for("response.done")
        truncated = await log.wait_for("conversation.item.truncated")
    _check_shapes(log, shape)
    assert done["response"]["status"] == "cancelled"
    assert len(log.of_type(NAMES[shape]["audio"])) < AUDIO_CHUNKS
    assert (truncated["item_id"], truncated["audio_end_ms"]) == (first_audio["item_id"], 100)
    assert [e["type"] for e in _upstream(model, shape).received if e["type"].startswith(("response.c", "conv"))] == [
        "response.create", "response.cancel", "conversation.item.truncate"]


@pytest.mark.parametrize(("shape", "model_id"), PAIRS)
async def test_upstream_errors_reach_the_client_and_the_session_goes_on(
    proxy: RunningProcess, model: ScriptedRealtimeModel, shape: str, model_id: str
) -> None:
    async with session(proxy, shape, model_id) as (connection, log):
        await connection.input_audio_buffer.commit(event_id="evt_empty_commit")
        empty = await log.wait_for("error")
        await connection.conversation.item.truncate(item_id="item_nope", content_index=0, audio_end_ms=10)
        unknown = await log.wait_for("error", 2)
        await connection.response.create()
        done = await log.wait_for("response.done")
    _check_shapes(log, shape)
    assert empty["error"]["code"] == "input_audio_buffer_commit_empty"
    assert empty["error"]["event_id"] == "evt_empty_commit"
    assert unknown["error"]["code"] == "item_truncate_invalid_item_id"
    assert done["response"]["status"] == "completed"
    _upstream(model, shape)


@pytest.mark.parametrize(("shape", "model_id", "event", "param"), [
    pytest.param("ga", "native-azure-beta", {"type": "session.update", "event_id": "evt_untranslatable", "session": {
        "type": "realtime", "truncation": "auto"}}, "session.truncation", id="ga-truncation-to-beta"),
    pytest.param("beta", "native-ga", {"type": "conversation.item.create", "event_id": "evt_untranslatable", "item": {
        "type": "message", "role": "user", "content": [{"type": "item_reference", "id": "item_1"}]}},
        "item.content[0].type", id="beta-item-reference-to-ga"),
    pytest.param("beta", "native-ga", {"type": "session.update", "event_id": "evt_untranslatable", "session": {
        "voice": "alloy", "temperature": 0.7}}, "session.temperature", id="beta-session-temperature-to-ga"),
    pytest.param("beta", "native-ga", {"type": "response.create", "event_id": "evt_untranslatable", "response": {
        "modalities": ["text"], "temperature": 0.7}}, "response.temperature", id="beta-response-temperature-to-ga"),
])
async def test_a_client_event_with_no_equivalent_gets_an_error_and_is_not_sent(
    proxy: RunningProcess, model: ScriptedRealtimeModel, shape: str, model_id: str, event: dict[str, Any],
    param: str
) -> None:
    refused_before = await _refused_count(proxy)
    async with session(proxy, shape, model_id) as (connection, log):
        await log.wait_for("session.created")
        await connection.send(event)
        error = await log.wait_for("error")
        await connection.response.create()
        await log.wait_for("response.done")
    assert error["error"]["code"] == "dialect_untranslatable"
    assert error["error"]["param"] == param
    assert error["error"]["event_id"] == "evt_untranslatable"
    if param.endswith(".temperature"):
        assert "Remove `temperature`" in error["error"]["message"]
    received = _upstream(model, shape).received
    assert "evt_untranslatable" not in [e.get("event_id") for e in received]
    assert [e["type"] for e in received].count("response.create") == 1  # only the plain one sent after
    if event["type"] != "response.create":
        assert event["type"] not in [e["type"] for e in received]
    async with asyncio.timeout(WAIT_S):  # counted when the session has ended
        while True:
            if await _refused_count(proxy) >= refused_before + 1:
                break
            await asyncio.sleep(0.1)


async def _refused_count(proxy: RunningProcess) -> float:
    async with httpx.AsyncClient(base_url=proxy.base_url) as http:
        text = (await http.get("/metrics")).text
    line = 'voxgate_realtime_untranslated_events_total{outcome="refused"} '
    return sum(float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line))
