"""What voxgate's native-audio proxy adds to a turn: first audio byte through voxgate vs direct.

An instant scripted realtime upstream (tests/support/scripted_realtime, behaviour `speak`: on
`response.create` it sends `response.created`, one audio delta and `response.done` at once) is
reached directly and through `voxgate serve` with a `backend: openai-realtime` catalog entry
pointing at it (no speech engines: `voice.enabled: false`). One session each, kept open; turns
alternate between them; a turn's time is `response.create` sent -> first audio delta received.
The difference of the medians is what the proxy adds (issue 16's target: p50 <= 5 ms). A third
session is a beta client (`OpenAI-Beta: realtime=v1`) through the same proxy: the GA upstream's
events are translated to the beta shape (`voice/native/dialect_socket`), so the gap between the
two proxied paths is what the translation adds.

Run: .venv/bin/python -m bench.realtime_proxy [--turns 200] [--out bench/results/realtime_proxy.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import websockets

from tests.support.processes import start_voxgate, stop_process
from tests.support.scripted_realtime import serve_scripted_realtime

TARGET_MS = 5.0
WARMUP_TURNS = 10
BETA_PATH = "voxgate proxy, beta client (translated)"


async def _first_audio_ms(socket: websockets.ClientConnection, turn: int) -> float:
    """`response.create` -> the first audio delta, in either shape's name."""
    started_s = time.perf_counter()
    await socket.send(json.dumps({"type": "response.create", "event_id": f"turn{turn}"}))
    elapsed_ms = None
    while True:
        event = json.loads(await socket.recv())
        if event["type"] in ("response.output_audio.delta", "response.audio.delta") and elapsed_ms is None:
            elapsed_ms = (time.perf_counter() - started_s) * 1000
        if event["type"] == "response.done":
            assert elapsed_ms is not None, "a reply without audio"
            return elapsed_ms


async def measure(direct_url: str, proxy_url: str, turns: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"direct": [], "voxgate proxy": [], BETA_PATH: []}
    async with (websockets.connect(direct_url) as direct, websockets.connect(proxy_url) as proxied,
                websockets.connect(proxy_url, additional_headers={"OpenAI-Beta": "realtime=v1"}) as beta):
        sockets = {"direct": direct, "voxgate proxy": proxied, BETA_PATH: beta}
        for socket in sockets.values():
            while json.loads(await socket.recv())["type"] != "session.created":
                pass
        for turn in range(WARMUP_TURNS + turns):
            for name, socket in sockets.items():
                elapsed_ms = await _first_audio_ms(socket, turn)
                if turn >= WARMUP_TURNS:
                    results[name].append(elapsed_ms)
    return results


def _p(values: list[float], quantile: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(quantile) - 1]


def table(results: dict[str, list[float]]) -> str:
    direct_p50 = statistics.median(results["direct"])
    lines = ["| path | turns | first audio p50 ms | p95 ms | p50 added ms |", "|---|---|---|---|---|"]
    for name, values in results.items():
        p50 = statistics.median(values)
        lines.append(f"| {name} | {len(values)} | {p50:.2f} | {_p(values, 95):.2f} | {p50 - direct_p50:+.2f} |")
    added = statistics.median(results["voxgate proxy"]) - direct_p50
    verdict = "met" if added <= TARGET_MS else "not met"
    return "\n".join(lines) + f"\n\nproxy adds {added:.2f} ms at p50 (target <= {TARGET_MS:g} ms: {verdict})\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    args = parser.parse_args()
    with serve_scripted_realtime() as upstream, tempfile.TemporaryDirectory() as workdir:
        catalog = ("models:\n  - id: instant\n    backend: openai-realtime\n"
                   f"    base_url: {upstream.url_for('speak')}\n"
                   "    locality: local\ninclude_default_models: false\nvoice: {enabled: false}\n")
        proxy = start_voxgate(Path(workdir), catalog)
        try:
            proxy_url = f"ws://127.0.0.1:{proxy.port}/v1/realtime?model=instant&voxgate_events=off"
            results = asyncio.run(measure(upstream.url_for("speak"), proxy_url, args.turns))
        finally:
            stop_process(proxy.process)
    report = table(results)
    print(report)
    if args.out is not None:
        args.out.write_text(f"# Native-audio proxy overhead\n\n`python -m bench.realtime_proxy --turns {args.turns}`"
                            f"\n\n{report}", encoding="utf-8")


if __name__ == "__main__":
    main()
