"""Voice-to-voice latency of the realtime API on real recorded speech, and concurrent sessions.

    .venv/bin/python -m bench.voice_latency                      # base and tiny.en, 1/2/4 sessions
    .venv/bin/python -m bench.voice_latency --stt tiny.en --sessions 1 --rounds 1
    .venv/bin/python -m bench.voice_latency --stt base --stt-window utterance full --sessions 1
    .venv/bin/python -m bench.voice_latency --stt base --turn-detection server_vad semantic_vad --sessions 1

`--stt-window full` is the baseline of Whisper's fixed 30 s window (`voice.stt_window`); with
two windows the servers take turns, so both are measured under the same load.

For each STT model a fresh `voxgate serve` (bundled models, Piper) starts on a free loopback port.
Each LibriVox clip of Debian's `pocketsphinx-testdata` is streamed in 100 ms chunks at real-time
pace, then 1.5 s of silence, also in real time (server VAD needs 500 ms of it to end the turn).

    voice-to-voice   last speech chunk sent -> first audio delta with a peak above -36 dBFS
    vad              last speech chunk sent -> speech_stopped received (includes the 500 ms
                     silence_duration_ms the VAD waits for)
    stt / llm / tts  the server's voxgate.turn.metrics: speech stopped -> transcript, transcript ->
                     first token, first token -> first audio

With N concurrent sessions every session streams a clip at once; the machine keeps up with real
time when the VAD stage stays within 300 ms of the 500 ms silence window at p95. Prints a Markdown
table (`--out FILE` also writes it; the curated history is bench/results/voice_latency.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import signal
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.speech_corpus import LibriVoxMissing, load_librivox
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.realtime.client import TalkOptions, TalkResult, talk_once

SILENCE_WINDOW_S = 0.5
KEEP_UP_MARGIN_S = 0.3


def load_clips() -> list[bytes]:
    """The LibriVox clips as 24 kHz PCM16, in name order."""
    try:
        clips = sorted(load_librivox(), key=lambda clip: clip.name)
    except LibriVoxMissing as exc:
        sys.exit(str(exc))
    return [float_to_pcm16(resample(pcm16_to_float(clip.pcm16), 16_000, 24_000)) for clip in clips]


def start_server(stt: str, window: str, workdir: Path) -> RunningProcess:
    env = {"VOXGATE_DB": str(workdir / f"{stt}-{window}.db"), "VOXGATE_VOICE_STT_MODEL": stt,
           "VOXGATE_VOICE_STT_WINDOW": window}
    return start_voxgate(workdir, name=f"voxgate-{stt}-{window}", env=env, args=["--log-level", "warning"])


async def run_sessions(port: int, clips: list[bytes], sessions: int, rounds: int,
                       turn_detection: str = "server_vad") -> list[TalkResult]:
    """`rounds` passes over the clips; in each step `sessions` sessions speak at once."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=auto"
    options = TalkOptions(instructions="You are a voice assistant. Reply in one short sentence.",
                          cancel_after_first_audio=True, turn_detection=turn_detection,
                          trailing_silence_s=1.5 if turn_detection == "server_vad" else 4.5)  # semantic: up to 4 s
    results: list[TalkResult] = []
    order = [clip for _ in range(rounds) for clip in clips]
    for start in range(0, len(order), sessions):
        batch = [order[(start + k) % len(order)] for k in range(sessions)]
        results += await asyncio.gather(*(talk_once(url, clip, options) for clip in batch))
    return results


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f}"


def summarize(stt: str, sessions: int, results: list[TalkResult]) -> str:
    v2v = [r.voice_to_voice_s for r in results if r.voice_to_voice_s is not None]
    vad = [r.speech_stopped_after_s for r in results if r.speech_stopped_after_s is not None]

    def stage(name: str) -> float | None:
        values = [r.latency_ms[name] / 1000 for r in results if r.latency_ms.get(name) is not None]
        return statistics.median(values) if values else None

    models = sorted({r.model or "none" for r in results})
    keeps_up = bool(vad) and (percentile(vad, 0.95) or 0) <= SILENCE_WINDOW_S + KEEP_UP_MARGIN_S
    ok = sum(r.voice_to_voice_s is not None for r in results)
    return (f"| {stt} | {sessions} | {ok}/{len(results)} | {_ms(percentile(v2v, 0.5))} | {_ms(percentile(v2v, 0.95))} "
            f"| {_ms(statistics.median(vad) if vad else None)} | {_ms(stage('transcription_ms'))} "
            f"| {_ms(stage('first_token_ms'))} | {_ms(stage('first_audio_ms'))} | {'yes' if keeps_up else 'no'} "
            f"| {', '.join(models)} |")


HEADER = ("| STT | sessions | answered | v2v p50 ms | v2v p95 ms | vad ms (p50) | stt ms (p50) | llm first token ms "
          "(p50) | first token -> audio ms (p50) | keeps up | models |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def measure_stt(stt: str, windows: list[str], detections: list[str], session_counts: list[int], rounds: int,
                clips: list[bytes], workdir: Path) -> list[str]:
    """One server per window, all up at once; for each session count the windows (and turn
    detections) take turns."""
    servers: dict[str, RunningProcess] = {}
    rows = []
    try:
        for window in windows:
            servers[window] = start_server(stt, window, workdir)
            asyncio.run(run_sessions(servers[window].port, clips[:1], 1, 1))  # warm-up turn, not counted
        for sessions in session_counts:
            for (window, server), detection in itertools.product(servers.items(), detections):
                passes = rounds if sessions == 1 else 1
                results = asyncio.run(run_sessions(server.port, clips, sessions, passes, detection))
                label = " ".join([stt, *([f"({window} window)"] if len(windows) > 1 else []),
                                  *([detection] if detections != ["server_vad"] else [])])
                rows.append(summarize(label, sessions, results))
                print(rows[-1], flush=True)
    finally:
        for server in servers.values():
            stop_process(server.process)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stt", nargs="+", default=["base", "tiny.en"], choices=["base", "tiny.en"])
    parser.add_argument("--sessions", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--stt-window", nargs="+", default=["utterance"], choices=["utterance", "full"])
    parser.add_argument("--turn-detection", nargs="+", default=["server_vad"], choices=["server_vad", "semantic_vad"])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the five clips with one session")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the servers
    clips = load_clips()
    rows = []
    with tempfile.TemporaryDirectory(prefix="voxgate-voice-bench-") as tmp:
        for stt in args.stt:
            rows += measure_stt(stt, args.stt_window, args.turn_detection, args.sessions, args.rounds, clips, Path(tmp))
    load = re.sub(r"\s+", " ", Path("/proc/loadavg").read_text().strip()) if Path("/proc/loadavg").exists() else ""
    table = f"{HEADER}\n" + "\n".join(rows) + f"\n\n{os.cpu_count()} CPUs, load average after the run: {load}\n"
    print(table)
    if args.out is not None:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
