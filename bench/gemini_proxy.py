"""What voxgate's Gemini Live translation adds to a turn: the scripted Live API direct vs through voxgate.

The scripted Gemini Live server (tests/support/scripted_gemini_live, behaviour `speak`: a turn's
reply is an input transcription, REPLY_CHUNKS audio chunks with two transcription pieces, then
usage with `turnComplete`: UPSTREAM_MESSAGES messages, sent at once) is reached directly in the
Live protocol (`clientContent.turnComplete` -> first `modelTurn` audio -> `turnComplete`) and through
`voxgate serve` with a `backend: gemini-live` entry, in the OpenAI realtime protocol
(`response.create` -> first `response.output_audio.delta` -> `response.done`). One session each,
turns alternating, WARMUP_TURNS dropped. The proxy's added time per turn, divided by the upstream's
messages in a turn, is the time added per event.

Run: .venv/bin/python -m bench.gemini_proxy [--turns 100] [--out bench/results/gemini_proxy.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from tests.support.processes import start_voxgate, stop_process
from tests.support.scripted_gemini_live import REPLY_CHUNKS, serve_scripted_gemini_live

KEY = "bench-key"
WARMUP_TURNS = 10
UPSTREAM_MESSAGES = 1 + REPLY_CHUNKS + 2 + 1  # transcription, audio, transcription pieces, usage + turnComplete


async def _direct_turn(socket: Any) -> tuple[float, float]:
    started_s = time.perf_counter()
    await socket.send(json.dumps({"clientContent": {"turns": [], "turnComplete": True}}))
    first_ms = None
    while True:
        content = json.loads(await socket.recv()).get("serverContent") or {}
        if first_ms is None and "modelTurn" in content:
            first_ms = (time.perf_counter() - started_s) * 1000
        if content.get("turnComplete"):
            assert first_ms is not None, "a reply without audio"
            return first_ms, (time.perf_counter() - started_s) * 1000


async def _proxied_turn(socket: Any) -> tuple[float, float]:
    started_s = time.perf_counter()
    await socket.send(json.dumps({"type": "response.create"}))
    first_ms = None
    while True:
        kind = json.loads(await socket.recv())["type"]
        if first_ms is None and kind == "response.output_audio.delta":
            first_ms = (time.perf_counter() - started_s) * 1000
        if kind == "response.done":
            assert first_ms is not None, "a reply without audio"
            return first_ms, (time.perf_counter() - started_s) * 1000


async def measure(direct_url: str, proxy_url: str, turns: int) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"direct": [], "voxgate proxy": []}
    async with websockets.connect(direct_url) as direct, websockets.connect(proxy_url) as proxied:
        await direct.send(json.dumps({"setup": {"model": "models/scripted"}}))
        while "setupComplete" not in json.loads(await direct.recv()):
            pass
        await proxied.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        while json.loads(await proxied.recv())["type"] != "session.updated":
            pass
        for turn in range(WARMUP_TURNS + turns):
            for name, run_turn in (("direct", _direct_turn(direct)), ("voxgate proxy", _proxied_turn(proxied))):
                timing = await run_turn
                if turn >= WARMUP_TURNS:
                    results[name].append(timing)
    return results


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def table(results: dict[str, list[tuple[float, float]]]) -> str:
    medians = {name: (statistics.median(t[0] for t in rows), statistics.median(t[1] for t in rows))
               for name, rows in results.items()}
    lines = ["| path | turns | first audio p50 ms | p95 ms | whole turn p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
    for name, rows in results.items():
        first, whole = [t[0] for t in rows], [t[1] for t in rows]
        lines.append(f"| {name} | {len(rows)} | {medians[name][0]:.2f} | {_p95(first):.2f} | "
                     f"{medians[name][1]:.2f} | {_p95(whole):.2f} |")
    first_added = medians["voxgate proxy"][0] - medians["direct"][0]
    turn_added = medians["voxgate proxy"][1] - medians["direct"][1]
    return ("\n".join(lines) + f"\n\nvoxgate adds {first_added:.2f} ms to the first audio and {turn_added:.2f} ms "
            f"to the whole turn at p50: {turn_added / UPSTREAM_MESSAGES:.3f} ms per upstream message "
            f"({UPSTREAM_MESSAGES} a turn)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    args = parser.parse_args()
    with serve_scripted_gemini_live(KEY) as live, tempfile.TemporaryDirectory() as workdir:
        catalog = ("models:\n  - id: gemini\n    backend: gemini-live\n"
                   f"    base_url: {live.url_for('speak')}\n    api_model: scripted\n    api_key_env: GEMINI_KEY\n"
                   "    locality: local\ninclude_default_models: false\nvoice: {enabled: false}\n")
        proxy = start_voxgate(Path(workdir), catalog, env={"GEMINI_KEY": KEY})
        try:
            proxy_url = f"ws://127.0.0.1:{proxy.port}/v1/realtime?model=gemini&voxgate_events=off"
            results = asyncio.run(measure(f"{live.url_for('speak')}?key={KEY}", proxy_url, args.turns))
        finally:
            stop_process(proxy.process)
    report = table(results)
    print(report)
    if args.out is not None:
        args.out.write_text(f"# Gemini Live proxy overhead\n\n`python -m bench.gemini_proxy --turns {args.turns}`"
                            f"\n\n{report}", encoding="utf-8")


if __name__ == "__main__":
    main()
