"""DialectSocket: a GA upstream behind a beta client's proxy (and back), over an in-memory upstream;
and the whole NativeSessionProxy over it."""

from __future__ import annotations

import asyncio
import json

from tests.support.realtime_shapes import BETA_SERVER, shape_errors
from tests.unit.voice.native.proxy_harness import FakeUpstream, Running
from tests.unit.voice.realtime.realtime_harness import FakeTransport
from voxgate.core.types import RealtimeDialect
from voxgate.voice.native.dialect_socket import MAX_COUNTED_TYPES, DialectSocket
from voxgate.voice.native.proxy import NativeSessionProxy, ProxyOptions

GA, BETA = RealtimeDialect.GA, RealtimeDialect.BETA
WAIT_S = 5.0


def _beta_client_socket() -> tuple[DialectSocket, FakeUpstream]:
    upstream = FakeUpstream()
    return DialectSocket(upstream, client=BETA, upstream_dialect=GA), upstream


async def test_a_beta_client_event_goes_up_in_ga_shape() -> None:
    socket, upstream = _beta_client_socket()
    replies = await socket.send(json.dumps({"type": "session.update", "session": {"voice": "ash"}}))
    assert replies == []
    assert await upstream.next_sent() == {"type": "session.update", "session": {
        "type": "realtime", "audio": {"output": {"voice": "ash"}}}}


async def test_a_client_event_with_no_equivalent_is_answered_with_an_error_and_not_sent() -> None:
    upstream = FakeUpstream()
    socket = DialectSocket(upstream, client=GA, upstream_dialect=BETA)
    (reply,) = await socket.send(json.dumps({"type": "session.update", "event_id": "evt_7",
                                             "session": {"type": "realtime", "truncation": "auto"}}))
    error = json.loads(reply)
    assert error["type"] == "error"
    assert error["error"]["code"] == "dialect_untranslatable"
    assert error["error"]["param"] == "session.truncation"
    assert error["error"]["event_id"] == "evt_7"
    assert upstream.sent.empty()
    assert socket.counts == {("refused", "session.update"): 1}


async def test_a_beta_clients_temperature_is_answered_with_an_error_saying_to_remove_it() -> None:
    socket, upstream = _beta_client_socket()
    (reply,) = await socket.send(json.dumps({"type": "response.create", "event_id": "evt_8",
                                             "response": {"temperature": 0.9}}))
    error = json.loads(reply)
    assert shape_errors(error, BETA_SERVER) == []
    assert error["error"]["code"] == "dialect_untranslatable"
    assert error["error"]["param"] == "response.temperature"
    assert "Remove `temperature`" in error["error"]["message"]
    assert upstream.sent.empty()
    assert socket.counts == {("refused", "response.create"): 1}


async def test_upstream_events_come_back_in_the_client_shape_and_the_untranslatable_pass_counted() -> None:
    socket, upstream = _beta_client_socket()
    upstream.push({"type": "response.output_audio.delta", "event_id": "e1", "response_id": "r", "item_id": "i",
                   "output_index": 0, "content_index": 0, "delta": "AAAA"})
    upstream.push({"type": "conversation.item.done", "event_id": "e2", "item": {"type": "message"}})
    upstream.push({"type": "input_audio_buffer.timeout_triggered", "event_id": "e3", "item_id": "i",
                   "audio_start_ms": 0, "audio_end_ms": 10})
    upstream.push({"type": "vendor.heartbeat"})
    upstream.push("not json")
    upstream.push(None)
    received = [await socket.receive() for _ in range(5)]
    delta = json.loads(received[0] or "")
    assert delta["type"] == "response.audio.delta"
    assert shape_errors(delta, BETA_SERVER) == []
    # conversation.item.done has no beta event (the client heard .created): nothing for it
    assert json.loads(received[1] or "")["type"] == "input_audio_buffer.timeout_triggered"
    assert json.loads(received[2] or "") == {"type": "vendor.heartbeat"}
    assert received[3] == "not json"  # the proxy reports it as upstream_protocol_error
    assert received[4] is None
    assert socket.counts == {("no_equivalent", "input_audio_buffer.timeout_triggered"): 1,
                             ("unknown", "vendor.heartbeat"): 1}


async def test_counted_types_are_capped() -> None:
    socket, upstream = _beta_client_socket()
    for n in range(MAX_COUNTED_TYPES + 5):
        upstream.push({"type": f"vendor.event_{n}"})
    for _ in range(MAX_COUNTED_TYPES + 5):
        await socket.receive()
    assert len(socket.counts) == MAX_COUNTED_TYPES + 1
    assert socket.counts["unknown", "(other)"] == 5


async def test_a_beta_client_session_over_a_ga_upstream_through_the_proxy() -> None:
    socket, upstream = _beta_client_socket()
    client = FakeTransport()
    proxy = NativeSessionProxy(socket, ProxyOptions("dec_1", "native-ga", extension_events=False))
    async with asyncio.timeout(WAIT_S), asyncio.TaskGroup() as tasks:
        running = Running(proxy, client, tasks)
        upstream.push({"type": "session.created", "event_id": "e0", "session": {
            "type": "realtime", "id": "s", "output_modalities": ["audio"],
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24_000}, "voice": "alloy"}}}})
        client.push({"type": "session.update", "session": {"output_audio_format": "g711_ulaw"}})
        sent = await upstream.next_sent()
        assert sent["session"] == {"type": "realtime", "audio": {"output": {"format": {
            "type": "audio/pcm", "rate": 24_000}}}}  # the proxy runs the upstream at PCM16
        upstream.push({"type": "session.updated", "event_id": "e1", "session": sent["session"]})
        upstream.push({"type": "response.done", "event_id": "e2", "response": {
            "id": "r1", "status": "completed", "output_modalities": ["audio"], "output": [],
            "usage": {"input_tokens": 3, "output_tokens": 4}}})
        done = await client.wait_for("response.done")
        created = client.of_type("session.created")[0]
        updated = client.of_type("session.updated")[0]
        client.inbox.put_nowait(None)
        await running.ended()
    assert created["session"]["modalities"] == ["text", "audio"]
    assert updated["session"]["output_audio_format"] == "g711_ulaw"  # the client's own format, beta shape
    assert done["response"]["modalities"] == ["text", "audio"]
    assert done["response"]["metadata"]["voxgate_decision_id"] == "dec_1"
    assert proxy.turns.usage == (3, 4)
