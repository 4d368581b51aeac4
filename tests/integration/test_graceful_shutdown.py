"""SIGTERM to `voxgate serve`: no new connections, in-flight streams and voice turns finish (within
`drain_timeout_s`), the rest end, every decision row is flushed, and the process exits 0.

Real processes: voxgate with real speech engines, the scripted fake upstream streaming slowly
(`/chunkdelay-N/` in its base URL: N ms between chunks).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fake_upstream import RunningFakeUpstream, serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
DRAIN_TIMEOUT_S = 5.0
CHUNK_DELAY_MS = 250


def _catalog(upstream: RunningFakeUpstream, database: Path) -> str:
    return (f"models:\n  - id: slow\n    base_url: {upstream.url_for(f'chunkdelay-{CHUNK_DELAY_MS}')}\n"
            "include_default_models: false\n"
            "voice: {enabled: true, stt_model: tiny.en, tts_engine: espeak, max_latency_ms: null}\n"
            f"drain_timeout_s: {DRAIN_TIMEOUT_S}\ndatabase: {database}\n")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[RunningProcess, Path]]:
    database = tmp_path / "decisions.db"
    with serve_in_thread() as upstream:
        running = start_voxgate(tmp_path, _catalog(upstream, database))
        try:
            yield running, database
        finally:
            stop_process(running.process)


def _stream(base_url: str, words: int, result: dict[str, Any]) -> None:
    """A streamed chat completion of `words` pieces; records the chunks and how it ended."""
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}],
            "fake_content": " ".join(f"w{i}" for i in range(words))}
    result["lines"] = []
    try:
        with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, timeout=60) as response:
            result["decision_id"] = response.headers["x-voxgate-decision-id"]
            for line in response.iter_lines():
                if line:
                    result["lines"].append(line)
        result["ended"] = "done" if result["lines"][-1] == "data: [DONE]" else "no [DONE]"
    except httpx.HTTPError as exc:
        result["ended"] = f"cut: {type(exc).__name__}"


async def _voice_turn_then_sigterm(url: str, pid: int) -> list[Any]:
    """Ask for a spoken-as-text reply; SIGTERM once it has started; collect until the close."""
    events: list[Any] = []
    async with connect(url) as socket:
        await socket.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"]}}))
        await socket.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}}))
        await socket.send(json.dumps({"type": "response.create"}))
        try:
            async with asyncio.timeout(60):
                async for message in socket:
                    event = json.loads(message)
                    events.append(event["type"] if event["type"] != "error" else event)
                    if event["type"] == "response.created":
                        os.kill(pid, signal.SIGTERM)
        except ConnectionClosed:
            pass
        events.append(("closed", socket.close_code))
    return events


def _decision_rows(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        return dict(connection.execute("SELECT id, outcome FROM decisions").fetchall())


def test_sigterm_drains_streams_and_voice_turns_then_exits_0(gateway: tuple[RunningProcess, Path]) -> None:
    server, database = gateway
    short: dict[str, Any] = {}
    long: dict[str, Any] = {}
    short_words = int(DRAIN_TIMEOUT_S * 1000 / CHUNK_DELAY_MS / 2)  # finishes within the drain
    long_words = int(DRAIN_TIMEOUT_S * 1000 / CHUNK_DELAY_MS * 3)   # cannot
    threads = [threading.Thread(target=_stream, args=(server.base_url, words, result))
               for words, result in ((short_words, short), (long_words, long))]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    signalled_s = time.monotonic()
    voice = asyncio.run(_voice_turn_then_sigterm(server.base_url.replace("http", "ws") + "/v1/realtime",
                                                 server.process.pid))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/healthz", timeout=2)
    for thread in threads:
        thread.join(60)
    status = server.process.wait(30)
    elapsed_s = time.monotonic() - signalled_s

    assert status == 0
    assert elapsed_s < DRAIN_TIMEOUT_S + 10
    assert short["ended"] == "done", "an in-flight stream that fits the drain timeout finishes"
    assert len(short["lines"]) >= short_words
    assert long["ended"] != "done", "a stream longer than the drain timeout is ended"
    assert "response.done" in voice, voice
    shutting_down = [e for e in voice if isinstance(e, dict)]
    assert shutting_down[-1]["error"]["code"] == "server_shutting_down"
    assert voice[-1] == ("closed", 1012)
    assert voice.index("response.done") < voice.index(shutting_down[-1])
    rows = _decision_rows(database)
    assert rows[short["decision_id"]] == "ok"
    assert rows[long["decision_id"]] in ("cancelled", "failed")
    assert len(rows) == 3, "every decision row is flushed: two streams and one voice turn"
