"""The soak's record and its report tables (bench/soak.py runs the traffic and writes these)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.heap_profiled_serve import FRAMES as FRAMES_TRACED


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
    voice_stages: list[dict[str, float | None]] = field(default_factory=list)  # each voice turn's `latency`
    voice_models: Counter[str] = field(default_factory=Counter)
    memory: list[tuple[float, MemorySample]] = field(default_factory=list)  # (elapsed s, sample)

    def minute(self) -> int:
        return int((time.monotonic() - self.started_s) // 60)


@dataclass(frozen=True)
class MemorySample:
    gateway_mb: float
    gateway_anon_mb: float
    gateway_file_mb: float
    children_mb: float




def percentile_ms(values: list[float], q: float) -> float:
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


def report_table(log: SoakLog, rows: set[str], exit_status: int | None, args: argparse.Namespace) -> str:
    warmup = int(args.warmup_minutes)
    measured = [m for m in sorted(log.latencies) if m >= warmup]
    first, last = measured[0], measured[-1]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    p99_first, p99_last = percentile_ms(log.latencies[first], 0.99), percentile_ms(log.latencies[last], 0.99)
    lines = [
        f"## {now}, {platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} after",
        "",
        f"Command: `.venv/bin/python -m bench.soak --warmup-minutes {args.warmup_minutes} --minutes {args.minutes} "
        f"--rate {args.rate}{' --heap-profile' if args.heap_profile else ''}` "
        f"(server MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '2')}; priming took {args.primed_s:.0f} s)",
        "",
        *_summary_rows(log, rows, exit_status, warmup),
        "",
        "| minute | chat answered | p50 ms | p99 ms |",
        "|---|---|---|---|",
        *[f"| {m + 1}{' (warm-up)' if m < warmup else ''} | {len(log.latencies[m])} "
          f"| {statistics.median(log.latencies[m]) * 1000:.0f} | {percentile_ms(log.latencies[m], 0.99):.0f} |"
          for m in sorted(log.latencies)],
        "",
        f"p99 first measured minute {p99_first:.0f} ms, last minute {p99_last:.0f} ms "
        f"(ratio {p99_last / p99_first:.2f}). {_stability_line(log, warmup)}",
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
        *_voice_stage_rows(log),
        *[*getattr(args, "heap_rows", []), ""],
    ]
    return "\n".join(lines) + "\n"


def heap_growth_rows(directory: Path, top: int = 12) -> list[str]:
    """The Python allocation sites that grew most between the two snapshots, as table rows."""
    import tracemalloc

    before = tracemalloc.Snapshot.load(str(directory / "heap-1.snap"))
    after = tracemalloc.Snapshot.load(str(directory / "heap-2.snap"))
    stats = after.compare_to(before, "traceback")
    total_kb = sum(stat.size_diff for stat in stats) / 1024
    rows = [f"Python heap (tracemalloc, {FRAMES_TRACED} frames) from the end of the warm-up to the end: "
            f"{sum(s.size for s in after.statistics('filename')) / 2**20:.0f} MB traced, {total_kb:+.0f} KB.", "",
            "| growth KB | blocks | allocated at (innermost frame last) |", "|---|---|---|"]
    for stat in stats[:top]:
        where = " ← ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stat.traceback))
        rows.append(f"| {stat.size_diff / 1024:+.0f} | {stat.count_diff:+d} | {where} |")
    return rows


VOICE_STAGES = ("transcription_ms", "first_token_ms", "first_audio_ms", "total_ms")


def _voice_stage_rows(log: SoakLog) -> list[str]:
    """Where the voice turns' time went: each stage's median and p95 over the run (from the turn metrics)."""
    if not log.voice_stages:
        return []
    rows = ["Voice turns, stage by stage (the `voxgate.turn.metrics` event; total = speech stopped to first "
            f"audio); models: {dict(log.voice_models)}.", "",
            "| stage | turns | p50 ms | p95 ms |", "|---|---|---|---|"]
    for stage in VOICE_STAGES:
        values = [float(v) / 1000 for turn in log.voice_stages if (v := turn.get(stage)) is not None]
        if values:
            rows.append(f"| {stage} | {len(values)} | {statistics.median(values) * 1000:.0f} "
                        f"| {percentile_ms(values, 0.95):.0f} |")
    return [*rows, ""]


def _stability_line(log: SoakLog, warmup: int) -> str:
    """p95 over the first two measured minutes against the last two (more samples than one minute's p99)."""
    measured = [m for m in sorted(log.latencies) if m >= warmup]
    if len(measured) < 4:
        return ""
    head = [v for m in measured[:2] for v in log.latencies[m]]
    tail = [v for m in measured[-2:] for v in log.latencies[m]]
    head_ms, tail_ms = percentile_ms(head, 0.95), percentile_ms(tail, 0.95)
    return (f"p95 of the first two measured minutes {head_ms:.0f} ms (n={len(head)}), of the last two "
            f"{tail_ms:.0f} ms (n={len(tail)}): ratio {tail_ms / head_ms:.2f}.")
