"""A bounded soak: steady mixed chat traffic plus two looping voice sessions through the real stack.

Run: flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.soak [--minutes 8] [--rate 0.4]

`voxgate serve` with the bundled ladder (three llama.cpp servers), Whisper base, Piper, on a
free loopback port. For `--warmup-minutes` (default 1) and then `--minutes` (together at most 10)
it sends chat requests at a steady rate (open loop: one every 1/rate s whatever the answers do): a
third non-streamed, a third streamed, a third with tools; and two realtime sessions each loop the
LibriVox clips (Debian pocketsphinx-testdata) in real time, one turn after another. Then SIGTERM,
and the server's own exit status.

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
import datetime
import json
import os
import platform
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import connect

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


@dataclass
class SoakLog:
    started_s: float
    latencies: dict[int, list[float]] = field(default_factory=dict)  # minute -> chat latencies (s)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # request kind -> chat latencies (s)
    statuses: Counter[str] = field(default_factory=Counter)
    chat_answered: int = 0
    voice_turns: int = 0
    voice_cancelled: int = 0  # barge-in: a clip's own pause ended a turn, its next words cancelled the reply
    voice_failures: list[str] = field(default_factory=list)
    decision_ids: set[str] = field(default_factory=set)  # every decision a response named
    memory: list[tuple[float, MemorySample]] = field(default_factory=list)  # (elapsed s, sample)

    def minute(self) -> int:
        return int((time.monotonic() - self.started_s) // 60)


@dataclass(frozen=True)
class MemorySample:
    gateway_mb: float
    gateway_anon_mb: float
    gateway_file_mb: float
    children_mb: float


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


async def _soak(base_url: str, pid: int, total_minutes: float, rate_per_s: float) -> SoakLog:
    clips = _clips_24k()
    log = SoakLog(started_s=time.monotonic())
    until_s = log.started_s + total_minutes * 60
    url = base_url.replace("http://", "ws://") + "/v1/realtime"
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_chat_traffic(base_url, rate_per_s, until_s, log))
        tg.create_task(_voice_session(url, clips, until_s, log, 0))
        tg.create_task(_voice_session(url, clips, until_s, log, 2))
        tg.create_task(_sample_memory(pid, until_s, log))
    return log


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def _memory_at(log: SoakLog, elapsed_s: float) -> MemorySample:
    """The first sample at or after `elapsed_s` (the last one if the run ended before)."""
    return next((sample for t, sample in log.memory if t >= elapsed_s), log.memory[-1][1])


def _memory_rows(log: SoakLog, warmup_minutes: int) -> list[str]:
    rows = []
    for minute in range(int(log.memory[-1][0] // 60) + 1):
        sample = _memory_at(log, minute * 60)
        label = f"{minute + 1} (warm-up)" if minute < warmup_minutes else str(minute + 1)
        rows.append(f"| {label} | {sample.gateway_mb:.0f} | {sample.gateway_anon_mb:.0f} "
                    f"| {sample.gateway_file_mb:.0f} | {sample.children_mb:.0f} |")
    return rows


def _summary_rows(log: SoakLog, rows: set[str], exit_status: int | None, warmup_minutes: int) -> list[str]:
    warm = _memory_at(log, warmup_minutes * 60)
    end = log.memory[-1][1]
    server_errors = sum(n for s, n in log.statuses.items() if s.startswith("5"))
    return [
        "| chat requests answered | 5xx | statuses | voice responses (barge-in cancelled) | voice failures "
        "| decisions named by responses | decision rows | named but missing | gateway RSS after warm-up | at end "
        "| growth (anonymous) | llama.cpp children growth | exit status after SIGTERM |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {log.chat_answered} | {server_errors} | {dict(log.statuses)} | {log.voice_turns} ({log.voice_cancelled}) "
        f"| {len(log.voice_failures)} {dict(Counter(log.voice_failures)) or ''} | {len(log.decision_ids)} "
        f"| {len(rows)} | {len(log.decision_ids - rows)} | {warm.gateway_mb:.0f} MB | {end.gateway_mb:.0f} MB "
        f"| {end.gateway_mb - warm.gateway_mb:+.0f} MB ({end.gateway_anon_mb - warm.gateway_anon_mb:+.0f} MB) "
        f"| {end.children_mb - warm.children_mb:+.0f} MB | {exit_status} |",
    ]


def _table(log: SoakLog, rows: set[str], exit_status: int | None, args: argparse.Namespace) -> str:
    warmup = int(args.warmup_minutes)
    measured = [m for m in sorted(log.latencies) if m >= warmup]
    first, last = measured[0], measured[-1]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    p99_first, p99_last = _p(log.latencies[first], 0.99), _p(log.latencies[last], 0.99)
    lines = [
        f"## {now}, {platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} after",
        "",
        f"Command: `.venv/bin/python -m bench.soak --warmup-minutes {args.warmup_minutes} --minutes {args.minutes} "
        f"--rate {args.rate}` (server MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '2')})",
        "",
        *_summary_rows(log, rows, exit_status, warmup),
        "",
        "| minute | chat answered | p50 ms | p99 ms |",
        "|---|---|---|---|",
        *[f"| {m + 1}{' (warm-up)' if m < warmup else ''} | {len(log.latencies[m])} "
          f"| {statistics.median(log.latencies[m]) * 1000:.0f} | {_p(log.latencies[m], 0.99):.0f} |"
          for m in sorted(log.latencies)],
        "",
        f"p99 first measured minute {p99_first:.0f} ms, last minute {p99_last:.0f} ms "
        f"(ratio {p99_last / p99_first:.2f}).",
        "",
        "Chat latency by kind, whole run: " + "; ".join(
            f"{kind} p50 {statistics.median(values) * 1000:.0f} ms (n={len(values)})"
            for kind, values in sorted(log.by_kind.items())) + ".",
        "",
        "Memory at the start of each minute (MB): the gateway's RSS, its anonymous part (heap, engine buffers), its",
        "file-backed part (libraries, mapped model files), and the llama.cpp children's RSS together.",
        "",
        "| minute | gateway RSS | anonymous | file-backed | llama.cpp children |",
        "|---|---|---|---|---|",
        *_memory_rows(log, warmup),
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup-minutes", type=float, default=1.0,
                        help="traffic before the measured minutes: engines load, caches fill (default 1)")
    parser.add_argument("--minutes", type=float, default=8.0,
                        help="measured soak length after the warm-up (warm-up + minutes at most 10)")
    parser.add_argument("--rate", type=float, default=0.2, help="chat requests per second (default 0.2)")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    args.warmup_minutes = max(0.0, min(args.warmup_minutes, 2.0))
    args.minutes = max(1.0, min(args.minutes, 10.0 - args.warmup_minutes))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "VOXGATE_DB": str(workdir / "decisions.db")}  # as scripts/serve
        command = [sys.executable, "-m", "voxgate.cli", "serve", "--port", str(port), "--log-level", "warning"]
        process = start_process(command, workdir / "voxgate.log", env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_http_ok(f"{base_url}/readyz", process, workdir / "voxgate.log", timeout_s=600)
            soak = asyncio.run(_soak(base_url, process.pid, args.warmup_minutes + args.minutes, args.rate))
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
            exit_status = process.wait(120)
        with sqlite3.connect(workdir / "decisions.db") as db:
            rows = {str(row[0]) for row in db.execute("SELECT id FROM decisions")}
    table = _table(soak, rows, exit_status, args)
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
