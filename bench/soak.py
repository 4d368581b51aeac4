"""A bounded soak: steady mixed chat traffic plus two looping voice sessions through the real stack.

Run: flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.soak [--minutes 8] [--rate 0.4]

`voxgate serve` with the bundled ladder (three llama.cpp servers), Whisper base, Piper, on a
free loopback port. For `--warmup-minutes` (default 1) and then `--minutes` (together at most 10)
it sends chat requests at a steady rate (open loop: one every 1/rate s whatever the answers do): a
third non-streamed, a third streamed, a third with tools; and two realtime sessions each loop the
LibriVox clips (Debian pocketsphinx-testdata) in real time, one turn after another. Then SIGTERM,
and the server's own exit status.

Before the clock starts, one request of each chat kind is sent in turn (priming: the first call to
each model pays for page-faulting its weights in), so the warm-up measures load, not start-up.
With `--heap-profile DIR` the server runs under tracemalloc (bench/heap_profiled_serve.py) and
the report lists the Python allocation sites that grew most from the end of the warm-up to the end.

Reported: 5xx and other failures, decision rows in the database against the decision ids the
responses named (`x-voxgate-decision-id`, the voice turns' `voxgate.turn.metrics`), chat latency
p50/p99 per minute (the first measured minute, after the warm-up, against the last), and a memory
profile per minute: the gateway's RSS split into anonymous memory (the Python heap, the speech
engines' buffers) and file-backed pages (mapped libraries and model files), and the llama.cpp
children's RSS. Growth is counted from the end of the warm-up. Appends the tables to
bench/results/soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import connect

from bench.soak_report import MemorySample, SoakLog, heap_growth_rows, report_table
from tests.support.processes import free_port, start_process, wait_http_ok

RESULTS = Path(__file__).parent / "results" / "soak.md"
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
CHUNK_MS = 100
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]
PROMPTS = ["What is 7 times 8?", "Name the capital of France.", "Say hello in one short sentence.",
           "What colour is the sky on a clear day?", "Give one word that rhymes with cat."]


KINDS = ("non-streamed", "streamed", "tools")


def _kind(index: int) -> str:
    """The kind of the `index`-th chat request: the three kinds in turn."""
    return KINDS[index % len(KINDS)]


def _clips_24k() -> list[bytes]:
    clips = []
    for path in sorted(LIBRIVOX_DIR.glob("*.wav")):
        with wave.open(str(path), "rb") as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float64)
        positions = np.arange(0, len(samples) - 1, 16_000 / 24_000)
        clips.append(np.interp(positions, np.arange(len(samples)), samples).astype(np.int16).tobytes())
    if not clips:
        sys.exit("needs Debian's pocketsphinx-testdata: apt-get install -y pocketsphinx-testdata")
    return clips


def _chat_body(index: int) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
                            "max_tokens": 24, "temperature": 0}
    kind = _kind(index)
    if kind == "streamed":
        body.update(stream=True, stream_options={"include_usage": True})
    elif kind == "tools":
        body.update(messages=[{"role": "user", "content": "What is the weather in Paris?"}], tools=TOOLS)
    return body


async def _one_chat(client: httpx.AsyncClient, index: int, log: SoakLog) -> None:
    minute = log.minute()
    sent_s = time.monotonic()
    try:
        async with client.stream("POST", "/v1/chat/completions", json=_chat_body(index)) as response:
            async for _ in response.aiter_bytes():
                pass
            status = response.status_code
            if "x-voxgate-decision-id" in response.headers:
                log.decision_ids.add(response.headers["x-voxgate-decision-id"])
    except httpx.HTTPError as exc:
        log.statuses[f"transport {type(exc).__name__}"] += 1
        return
    log.statuses[str(status)] += 1
    log.chat_answered += 1
    if status == 200:
        log.latencies.setdefault(minute, []).append(time.monotonic() - sent_s)
        log.by_kind.setdefault(_kind(index), []).append(time.monotonic() - sent_s)


async def _chat_traffic(base_url: str, rate_per_s: float, until_s: float, log: SoakLog) -> None:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client, asyncio.TaskGroup() as tg:
        index = 0
        next_s = time.monotonic()
        while next_s < until_s:
            tg.create_task(_one_chat(client, index, log))
            index += 1
            next_s += 1 / rate_per_s
            await asyncio.sleep(max(0.0, next_s - time.monotonic()))


async def _speak(socket: Any, pcm: bytes) -> None:
    chunk_bytes = 24_000 * 2 * CHUNK_MS // 1000
    silence = bytes(chunk_bytes)
    for offset in range(0, len(pcm), chunk_bytes):
        await socket.send(json.dumps({"type": "input_audio_buffer.append",
                                      "audio": base64.b64encode(pcm[offset:offset + chunk_bytes]).decode()}))
        await asyncio.sleep(CHUNK_MS / 1000)
    for _ in range(15):  # 1.5 s of silence ends the turn (server VAD)
        event = {"type": "input_audio_buffer.append", "audio": base64.b64encode(silence).decode()}
        await socket.send(json.dumps(event))
        await asyncio.sleep(CHUNK_MS / 1000)


async def _voice_session(url: str, clips: list[bytes], until_s: float, log: SoakLog, offset: int) -> None:
    async with connect(url, max_size=None, open_timeout=60) as socket:
        await socket.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "audio": {
            "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 900}}}}}))
        turn = offset
        while time.monotonic() < until_s:
            await _speak(socket, clips[turn % len(clips)])
            turn += 1
            try:
                async with asyncio.timeout(60):
                    while True:
                        event = json.loads(await socket.recv())
                        if event["type"] == "error":
                            log.voice_failures.append(str(event["error"].get("code")))
                        if event["type"] == "voxgate.turn.metrics" and event.get("decision_id"):
                            log.decision_ids.add(event["decision_id"])
                            log.voice_stages.append(event.get("latency") or {})
                            log.voice_models[str(event.get("model"))] += 1
                        if event["type"] == "response.done":
                            status = event["response"]["status"]
                            log.voice_turns += 1
                            log.voice_cancelled += status == "cancelled"
                            if status not in ("completed", "cancelled"):
                                log.voice_failures.append(f"response {status}")
                            if status == "completed":
                                break
            except TimeoutError:
                log.voice_failures.append("no response.done within 60 s")


def _status_mb(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon, RssFile (MB) of one process; empty if it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = (line.split() for line in lines if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")))
    return {parts[0].rstrip(":"): int(parts[1]) / 1024 for parts in fields}


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _memory(pid: int) -> MemorySample:
    gateway = _status_mb(pid)
    children = sum(_status_mb(child).get("VmRSS", 0.0) for child in _descendants(pid))
    return MemorySample(gateway.get("VmRSS", 0.0), gateway.get("RssAnon", 0.0), gateway.get("RssFile", 0.0), children)


async def _sample_memory(pid: int, until_s: float, log: SoakLog) -> None:
    while time.monotonic() < until_s:
        log.memory.append((time.monotonic() - log.started_s, _memory(pid)))
        await asyncio.sleep(5)


async def _prime(base_url: str) -> float:
    """One request of each chat kind in turn before the clock starts; returns the seconds it took."""
    started_s = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        for index in range(len(KINDS)):
            response = await client.post("/v1/chat/completions", json=_chat_body(index))
            response.raise_for_status()
    return time.monotonic() - started_s


async def _snapshot_heap_after(pid: int, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    os.kill(pid, signal.SIGUSR1)


async def _soak(base_url: str, pid: int, minutes: tuple[float, float], rate_per_s: float,
                heap_profile: bool) -> SoakLog:
    clips = _clips_24k()
    warmup_minutes, total_minutes = minutes[0], minutes[0] + minutes[1]
    log = SoakLog(started_s=time.monotonic())
    until_s = log.started_s + total_minutes * 60
    url = base_url.replace("http://", "ws://") + "/v1/realtime"
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_chat_traffic(base_url, rate_per_s, until_s, log))
        tg.create_task(_voice_session(url, clips, until_s, log, 0))
        tg.create_task(_voice_session(url, clips, until_s, log, 2))
        tg.create_task(_sample_memory(pid, until_s, log))
        if heap_profile:
            tg.create_task(_snapshot_heap_after(pid, warmup_minutes * 60))
    if heap_profile:
        os.kill(pid, signal.SIGUSR1)
    return log


def _wait_for_file(path: Path, timeout_s: float = 120) -> None:
    """Until `path` exists and its size held still for a second (a snapshot is written in one go)."""
    deadline_s, last_size = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline_s:
        size = path.stat().st_size if path.exists() else -1
        if size > 0 and size == last_size:
            return
        last_size = size
        time.sleep(1)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup-minutes", type=float, default=1.0,
                        help="traffic before the measured minutes: engines load, caches fill (default 1)")
    parser.add_argument("--minutes", type=float, default=8.0,
                        help="measured soak length after the warm-up (warm-up + minutes at most 10)")
    parser.add_argument("--rate", type=float, default=0.2, help="chat requests per second (default 0.2)")
    parser.add_argument("--heap-profile", action="store_true",
                        help="run the server under tracemalloc and report the Python heap's growth by allocation "
                             "site (slows the server; compare its RSS only with other --heap-profile runs)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    args.warmup_minutes = max(0.0, min(args.warmup_minutes, 3.0))
    args.minutes = max(1.0, min(args.minutes, 10.0 - args.warmup_minutes))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "VOXGATE_DB": str(workdir / "decisions.db")}  # as scripts/serve
        serve = ["serve", "--port", str(port), "--log-level", "warning"]
        command = ([sys.executable, "-m", "bench.heap_profiled_serve", str(workdir / "heap"), *serve]
                   if args.heap_profile else [sys.executable, "-m", "voxgate.cli", *serve])
        process = start_process(command, workdir / "voxgate.log", env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_http_ok(f"{base_url}/readyz", process, workdir / "voxgate.log", timeout_s=600)
            args.primed_s = asyncio.run(_prime(base_url))
            soak = asyncio.run(_soak(base_url, process.pid, (args.warmup_minutes, args.minutes), args.rate,
                                     args.heap_profile))
            if args.heap_profile:
                _wait_for_file(workdir / "heap" / "heap-2.snap")
                args.heap_rows = heap_growth_rows(workdir / "heap")
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
            exit_status = process.wait(120)
        with sqlite3.connect(workdir / "decisions.db") as db:
            rows = {str(row[0]) for row in db.execute("SELECT id FROM decisions")}
    table = report_table(soak, rows, exit_status, args)
    print(table)
    if not args.no_save:
        if not RESULTS.exists():
            RESULTS.write_text("# Soak (`bench/soak.py`)\n\n" + (__doc__ or "").split("\n\n")[1] + "\n\n")
        with RESULTS.open("a") as results_file:
            results_file.write(table + "\n")
    server_errors = sum(n for s, n in soak.statuses.items() if s.startswith("5"))
    return 0 if server_errors == 0 and not soak.decision_ids - rows and exit_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
