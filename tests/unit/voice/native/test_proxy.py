"""NativeSessionProxy over in-memory sockets: relaying, G.711 conversion, the decision in
response.done, turn metrics and usage, and every way a session ends."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tests.unit.voice.native.proxy_harness import FakeUpstream, Running
from tests.unit.voice.realtime.realtime_harness import FakeTransport, tone_pcm16
from voxgate.core.clock import ManualClock
from voxgate.core.errors import ServerShuttingDownError, SessionExpiredError, UpstreamSessionError
from voxgate.core.types import JSONObject
from voxgate.voice.native.proxy import NativeSessionProxy, ProxyOptions


def _start(upstream: FakeUpstream, client: FakeTransport, tasks: asyncio.TaskGroup, metrics: list[JSONObject],
           **options: Any) -> Running:
    clock = options.pop("clock", ManualClock())
    shutdown = options.pop("shutdown", None)
    proxy = NativeSessionProxy(upstream, ProxyOptions("dec_1", "gpt-realtime", **options), clock=clock,
                               on_turn_metrics=metrics.append, shutdown=shutdown)
    return Running(proxy, client, tasks)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_events_pass_both_ways_and_the_reply_carries_the_decision_and_usage() -> None:
    upstream, client, metrics = FakeUpstream(), FakeTransport(), list[JSONObject]()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, metrics)
        upstream.push({"type": "session.created", "session": {"type": "realtime"}})
        routed = await client.wait_for("voxgate.session.routed")
        tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
        client.push({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
        assert (await upstream.next_sent())["session"]["tools"] == [tool]
        client.push({"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0,
                     "audio_end_ms": 300})
        assert (await upstream.next_sent())["audio_end_ms"] == 300
        upstream.push({"type": "response.created", "response": {"id": "resp_1"}})
        upstream.push({"type": "response.output_audio.delta", "response_id": "resp_1", "delta": _b64(bytes(4800))})
        upstream.push({"type": "response.done", "response": {"id": "resp_1", "status": "completed",
                                                             "metadata": {"topic": "x"},
                                                             "usage": {"input_tokens": 40, "output_tokens": 25}}})
        done = await client.wait_for("response.done")
        event_metrics = await client.wait_for("voxgate.turn.metrics")
        client.inbox.put_nowait(None)
        assert await running.ended() is None
    assert routed["decision_id"] == "dec_1"
    assert routed["model"] == "gpt-realtime"
    assert done["response"]["metadata"] == {"topic": "x", "voxgate_decision_id": "dec_1",
                                            "voxgate_model": "gpt-realtime"}
    assert event_metrics["decision_id"] == "dec_1"
    assert event_metrics["audio_ms"] == 100.0
    assert event_metrics["latency"]["first_audio_ms"] == 0.0  # the manual clock did not move
    assert metrics == [{k: v for k, v in event_metrics.items() if k != "event_id"}]
    assert tuple(running.proxy.turns.usage) == (40, 25)
    assert client.of_type("response.output_audio.delta")[0]["delta"] == _b64(bytes(4800))


async def test_g711_clients_are_converted_to_pcm16_24k_and_back() -> None:
    upstream, client = FakeUpstream(), FakeTransport()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [])
        client.push({"type": "session.update", "session": {"input_audio_format": "g711_ulaw",
                                                            "output_audio_format": "g711_ulaw"}})
        update = await upstream.next_sent()
        client.push({"type": "input_audio_buffer.append", "audio": _b64(bytes([0xFF]) * 800)})  # 100 ms at 8 kHz
        append = await upstream.next_sent()
        upstream.push({"type": "session.updated", "session": {"input_audio_format": "pcm16",
                                                              "output_audio_format": "pcm16"}})
        updated = await client.wait_for("session.updated")
        upstream.push({"type": "response.audio.delta", "response_id": "r", "delta": _b64(tone_pcm16(100))})
        delta = await client.wait_for("response.audio.delta")
        client.inbox.put_nowait(None)
        await running.ended()
    assert update["session"] == {"input_audio_format": "pcm16", "output_audio_format": "pcm16"}
    # 3x the samples at 2 bytes each, less the filter delay
    assert abs(len(base64.b64decode(append["audio"])) - 4800) <= 2 * 64
    assert updated["session"] == {"input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw"}
    ulaw = base64.b64decode(delta["delta"])
    assert 700 <= len(ulaw) <= 800
    assert len(set(ulaw)) > 10  # a tone, not silence


async def test_ga_format_objects_are_rewritten_both_ways() -> None:
    upstream, client = FakeUpstream(), FakeTransport()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [])
        pcmu = {"format": {"type": "audio/pcmu"}}
        client.push({"type": "session.update", "session": {"type": "realtime",
                                                            "audio": {"input": pcmu, "output": pcmu}}})
        sent = await upstream.next_sent()
        upstream.push({"type": "session.updated", "session": sent["session"]})
        updated = await client.wait_for("session.updated")
        client.inbox.put_nowait(None)
        await running.ended()
    assert sent["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert updated["session"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


async def test_a_malformed_client_event_is_answered_here_and_not_sent_on() -> None:
    upstream, client = FakeUpstream(), FakeTransport()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [])
        client.push("not json")
        client.push({"type": "session.update", "event_id": "bad_format",
                     "session": {"input_audio_format": "mp3"}})
        client.push({"type": "response.cancel"})
        assert (await upstream.next_sent())["type"] == "response.cancel"
        errors = [await client.wait_for("error", n) for n in (1, 2)]
        client.inbox.put_nowait(None)
        await running.ended()
    assert [e["error"]["code"] for e in errors] == ["invalid_json", "invalid_value"]
    assert errors[1]["error"]["event_id"] == "bad_format"


@pytest.mark.parametrize(("last_frame", "code"), [
    (None, "upstream_closed"),
    ("<html>502 Bad Gateway</html>", "upstream_protocol_error"),
    (json.dumps({"no": "type"}), "upstream_protocol_error"),
])
async def test_an_upstream_that_closes_or_sends_garbage_ends_the_session_with_an_error(
    last_frame: str | None, code: str
) -> None:
    upstream, client = FakeUpstream(), FakeTransport()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [])
        upstream.push({"type": "response.created", "response": {"id": "resp_1"}})  # mid-turn
        upstream.push(last_frame)
        ended = await running.ended()
    assert isinstance(ended, UpstreamSessionError)
    assert ended.code == code
    assert client.of_type("error")[-1]["error"]["code"] == code


async def test_the_session_length_limit_ends_it() -> None:
    upstream, client = FakeUpstream(), FakeTransport()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [], max_session_s=0.05)
        ended = await running.ended()
    assert isinstance(ended, SessionExpiredError)


async def test_shutdown_waits_for_the_reply_in_flight() -> None:
    upstream, client, shutdown = FakeUpstream(), FakeTransport(), asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        running = _start(upstream, client, tasks, [], shutdown=shutdown)
        upstream.push({"type": "response.created", "response": {"id": "resp_1"}})
        await client.wait_for("response.created")
        shutdown.set()
        await asyncio.sleep(0.05)
        assert not running.task.done()
        upstream.push({"type": "response.done", "response": {"id": "resp_1", "status": "completed"}})
        ended = await running.ended()
    assert isinstance(ended, ServerShuttingDownError)
    assert client.of_type("response.done")
