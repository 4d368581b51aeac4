"""Piper's memory over many sentences with each of ONNX Runtime's CPU arena settings.

Run: .venv/bin/python -m bench.tts_memory [--sentences 150] [--no-save]

Each `PiperConfig.onnx_arena` setting (grow: ONNX Runtime's default; exact: extend by what is asked;
off: no arena) runs in a fresh process: load the bundled en_US-joe-medium voice, synthesise the same
seeded sentences (1 to 40 words, lengths in random order, so new longest ones keep arriving as in a
server's life), and read the process's anonymous RSS after loading, after the first 10 sentences
and at the end, with the median synthesis time per sentence. The children get `MALLOC_ARENA_MAX=2` as
`scripts/serve` gives the server, unless the environment sets it. Appends the table to
bench/results/tts_memory.md. Times are medians on this shared machine; read the on/off ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from voxgate.voice.engines.piper_tts import ONNX_ARENAS

RESULTS = Path(__file__).parent / "results" / "tts_memory.md"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "bright",
         "stars", "shine", "above", "quiet", "hills", "and", "rivers", "run", "toward", "distant", "cities",
         "where", "people", "talk", "about", "weather", "music", "travel", "and", "food")
EARLY = 10


def sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))).capitalize() + "." for _ in range(count)]


def _anon_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _child(arena: str, count: int) -> dict[str, float]:
    from voxgate.voice.engines.piper_tts import PiperConfig, PiperTTS

    tts = PiperTTS(PiperConfig(onnx_arena=arena))
    await tts.load()
    loaded_mb, early_mb, times_ms = _anon_mb(), 0.0, []
    for index, text in enumerate(sentences(count)):
        started_s = time.perf_counter()
        async with contextlib.aclosing(tts.synthesize(text)) as chunks:
            async for _ in chunks:
                pass
        times_ms.append((time.perf_counter() - started_s) * 1000)
        if index + 1 == EARLY:
            early_mb = _anon_mb()
    return {"loaded_mb": loaded_mb, "early_mb": early_mb, "end_mb": _anon_mb(),
            "median_ms": statistics.median(times_ms)}


def _run_variant(arena: str, count: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.tts_memory", "--child", arena, "--sentences", str(count)]
    env = {"MALLOC_ARENA_MAX": "2", **os.environ}  # as scripts/serve gives the server
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def _table(count: int, results: dict[str, dict[str, float]]) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    grow = results["grow"]
    lines = [f"## {now}, {platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} after", "",
             f"Command: `.venv/bin/python -m bench.tts_memory --sentences {count}` "
             f"(MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '2')})", "",
             f"| onnx_arena | anonymous RSS loaded | after {EARLY} sentences | after {count} | growth after the first "
             f"{EARLY} | median ms per sentence | end RSS vs grow | time vs grow |",
             "|---|---|---|---|---|---|---|---|"]
    for name, row in results.items():
        lines.append(f"| {name} | {row['loaded_mb']:.0f} MB | {row['early_mb']:.0f} MB | {row['end_mb']:.0f} MB "
                     f"| {row['end_mb'] - row['early_mb']:+.0f} MB | {row['median_ms']:.0f} "
                     f"| {row['end_mb'] / grow['end_mb']:.2f}x | {row['median_ms'] / grow['median_ms']:.2f}x |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=150, help="sentences per variant (default 150)")
    parser.add_argument("--child", choices=ONNX_ARENAS, help=argparse.SUPPRESS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(asyncio.run(_child(args.child, args.sentences))))
        return 0
    results = {name: _run_variant(name, args.sentences) for name in ONNX_ARENAS}
    table = _table(args.sentences, results)
    print(table)
    if not args.no_save:
        if not RESULTS.exists():
            RESULTS.write_text("# Piper TTS memory (`bench/tts_memory.py`)\n\n")
        with RESULTS.open("a") as results_file:
            results_file.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
