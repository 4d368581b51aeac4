"""The realtime WebSocket API under a hypothesis-driven fuzzer (tests/support/realtime_fuzz.py).

A real `voxgate serve` with real speech engines (Silero VAD, Whisper tiny.en, espeak-ng) and the
scripted fake upstream for replies (the target is voxgate's input handling, not model speed).
The long run is `python -m bench.fuzz_realtime --frames 5000`; here a bounded budget.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fake_upstream import serve_in_thread
from tests.support.http_fuzz import fuzz_catalog
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.realtime_fuzz import fuzz_realtime, server_log_problems

pytestmark = pytest.mark.integration
CI_FRAMES = int(os.environ.get("VOXGATE_FUZZ_REALTIME_FRAMES", "600"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz-realtime")
    with serve_in_thread() as upstream:
        running = start_voxgate(workdir, fuzz_catalog(upstream.base_url, voice=True))
        try:
            yield running
        finally:
            stop_process(running.process)


def _ws_url(gateway: RunningProcess) -> str:
    return gateway.base_url.replace("http://", "ws://") + "/v1/realtime"


def test_fuzzed_sessions_get_error_events_never_a_crash_or_hang(gateway: RunningProcess) -> None:
    report = fuzz_realtime(_ws_url(gateway), CI_FRAMES)
    assert report.failure_count == 0, "\n\n".join(report.failures)
    assert report.frames >= CI_FRAMES
    assert report.error_codes["invalid_json"]
    assert report.error_codes["unknown_event_type"]
    assert server_log_problems(gateway.log_path.read_text(errors="replace")) == []
    assert httpx.get(f"{gateway.base_url}/healthz").status_code == 200


async def _read_until_closed(socket: Any) -> None:
    async with asyncio.timeout(30):
        while True:
            await socket.recv()


async def test_a_frame_over_the_limit_closes_with_1009_and_the_server_serves_on(gateway: RunningProcess) -> None:
    async with connect(_ws_url(gateway), max_size=None) as socket:
        await socket.recv()  # session.created
        await socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": "A" * (25 * 1024 * 1024)}))
        with pytest.raises(ConnectionClosed) as closed:
            await _read_until_closed(socket)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    async with connect(_ws_url(gateway)) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
