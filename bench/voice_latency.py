"""Voice-to-voice latency of the realtime API: last voiced sample sent -> first audible reply sample.

    .venv/bin/python -m bench.voice_latency          # server_vad and semantic_vad, 1 and 4 sessions
    .venv/bin/python -m bench.voice_latency --detections server_vad server_vad@300 semantic_vad --sessions 1
    .venv/bin/python -m bench.voice_latency --variant baseline: --variant trim:VOXGATE_VOICE_X=1

Utterances (`bench/voice_utterances.py`): the five LibriVox clips of Debian's pocketsphinx-testdata
(real read speech), eight short spoken commands, eight multi-clause requests with 300-800 ms
pauses mid-sentence and eight checkable questions (one TRAIN ladder question per category, as
`bench.voice_accuracy` speaks them; `auto` checks a cheaper model's first sentence on questions:
`voice.answer_check`), all but LibriVox spoken by the bundled Piper voice. Each is streamed on a fresh session
in 100 ms chunks at real-time pace, then 2 s of silence (`bench/voice_listener.py`):

    v2v          last VOICED sample sent -> first AUDIBLE sample (> -36 dBFS) of the reply, as a
                 player starting each delta on arrival or after the previous one would play it
    vad          last voiced sample sent -> the final turn's speech_stopped received
    stt / llm / tts  the server's voxgate.turn.metrics: commit (speech stopped) -> transcript
                 (`stt_after_commit_ms`), transcript -> first token, first token -> first audio delta sent
    cut-offs     share of utterances where a turn ended before the final clause (mid-sentence)
    prepared     share whose answer came from the reply prepared in the pause (`voice.prepare_replies`);
                 wasted tokens/utt: LLM tokens of discarded preparations per utterance (turn metrics)
    partial      share whose transcript came from a decode started before the commit
                 (`voice.partial_transcripts`, turn metrics `partial_reused`)

`--chat-load N` keeps N chat clients busy on the variant under measurement while its utterances
speak (each asks one of the three bundled models in turn for a 128-token paragraph, back to back):
what a voice turn waits for when chat traffic shares the llama.cpp slots (`local_voice_first`).

Each `--variant LABEL:ENV=V,ENV=V` is one `voxgate serve` (bundled models, Piper) with those
variables; all variants are up at once and take turns per utterance, so they share the load.
`--detections` are session settings (`server_vad@300`: silence_duration_ms 300). The ratio
column compares each row's p50 to the first variant x detection's on the same set and session
count, measured in the same run. Prints a Markdown table (`--out FILE` also writes it; the curated
history is bench/results/voice_latency.md), then a `no reply heard:` line for each utterance whose reply
never came, with what the server transcribed (a withheld transcript, a turn that never ended).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import signal
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from bench.server_variant import Variant
from bench.voice_accuracy import spoken_form, spoken_questions
from bench.voice_listener import ListenOptions, ListenRecord, speak_and_listen
from bench.voice_utterances import Utterance, librivox_utterances, spoken_utterances, synthesised_utterances
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.speech_corpus import LibriVoxMissing
from voxgate.voice.engines.piper_tts import PiperTTS

KINDS = ("librivox", "command", "paused", "question")


def listen_options(detection: str) -> ListenOptions:
    kind, _, silence = detection.partition("@")
    trailing_s = 2.0 if kind == "server_vad" else 4.5  # semantic_vad waits up to 4 s on an unfinished turn
    return ListenOptions(turn_detection=kind, silence_duration_ms=int(silence) if silence else None,
                         trailing_silence_s=trailing_s)


CHAT_LOAD_MODELS = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m")
CHAT_LOAD_PROMPT = "Write a short paragraph about the history of Rome."


async def _chat_client(port: int, first: int, answered: list[int]) -> None:
    """Ask the bundled models in turn, back to back, until cancelled; count the answers."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/v1", timeout=120.0, trust_env=False) as client:
        for number in itertools.count(first):
            body = {"model": CHAT_LOAD_MODELS[number % len(CHAT_LOAD_MODELS)], "max_tokens": 128,
                    "messages": [{"role": "user", "content": CHAT_LOAD_PROMPT}]}
            response = await client.post("/chat/completions", json=body)
            answered.append(response.status_code)


@contextlib.asynccontextmanager
async def chat_load(port: int, clients: int) -> AsyncIterator[list[int]]:
    """`clients` chat clients on `port` for the duration of the block; yields their status codes."""
    answered: list[int] = []
    async with asyncio.TaskGroup() as tasks:
        running = [tasks.create_task(_chat_client(port, k, answered)) for k in range(clients)]
        try:
            yield answered
        finally:
            for task in running:
                task.cancel()


async def run_variants(ports: dict[str, int], utterances: list[Utterance], detections: Sequence[str],
                       sessions: int, records: dict[tuple[str, str], list[ListenRecord]], chat_clients: int = 0,
                       models: dict[str, str] | None = None) -> None:
    """Every utterance on every variant and detection, into `records` as they finish (a run cut
    short keeps what it measured); `sessions` utterances speak at once, beside `chat_clients`."""
    for start in range(0, len(utterances), sessions):
        batch = [utterances[(start + k) % len(utterances)] for k in range(sessions)]
        for label, port in ports.items():
            url = f"ws://127.0.0.1:{port}/v1/realtime?model={(models or {}).get(label, 'auto')}"
            for detection in detections:
                options = listen_options(detection)
                async with chat_load(port, chat_clients):
                    got = await asyncio.gather(*(speak_and_listen(url, u, options) for u in batch))
                records.setdefault((label, detection), []).extend(got)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f}"


def _stage(records: list[ListenRecord], name: str, older_name: str | None = None) -> float | None:
    """The stage's p50 in seconds; `older_name`: what a server before the name's introduction called it."""
    found = [r.latency_ms.get(name, r.latency_ms.get(older_name or name)) for r in records]
    values = [float(value) / 1000 for value in found if value is not None]
    return statistics.median(values) if values else None


def summarize(label: str, sessions: int, kind: str, records: list[ListenRecord], baseline_p50: float | None) -> str:
    v2v = [r.voice_to_voice_s for r in records if r.voice_to_voice_s is not None]
    vad = [r.speech_stopped_after_s for r in records if r.speech_stopped_after_s is not None]
    p50 = percentile(v2v, 0.5)
    ratio = f"{p50 / baseline_p50:.2f}x" if p50 is not None and baseline_p50 else "n/a"
    cut = sum(r.cut_offs > 0 for r in records)
    models = sorted({r.model or "none" for r in records})
    over = sum(r.metadata.get("voxgate_over_budget") == "true" for r in records)
    stt = _stage(records, "stt_after_commit_ms", "transcription_ms")
    return (f"| {label} | {kind} | {sessions} | {len(v2v)}/{len(records)} | {_ms(p50)} | {_ms(percentile(v2v, 0.95))} "
            f"| {ratio} | {_ms(statistics.median(vad) if vad else None)} | {_ms(stt)} "
            f"| {_ms(_stage(records, 'first_token_ms'))} | {_ms(_stage(records, 'first_audio_ms'))} "
            f"| {cut}/{len(records)} | {over} | {sum(r.prepared is True for r in records)}/{len(records)} "
            f"| {statistics.mean(r.wasted_tokens for r in records):.1f} "
            f"| {sum(r.partial_reused is True for r in records)}/{len(records)} | {', '.join(models)} |")


HEADER = ("| variant | set | sessions | answered | v2v p50 ms | v2v p95 ms | p50 vs first row | vad ms "
          "| stt after commit ms | llm first token ms | first token -> audio ms | cut-offs | over budget | prepared "
          "| wasted tokens/utt | partial | models |\n|" + "---|" * 17)


def table_rows(records: dict[tuple[str, str], list[ListenRecord]], sessions: int) -> list[str]:
    rows = []
    for kind in KINDS:
        baseline: float | None = None
        for (label, detection), got in records.items():
            of_kind = [r for r in got if r.kind == kind]
            if not of_kind:
                continue
            p50 = percentile([r.voice_to_voice_s for r in of_kind if r.voice_to_voice_s is not None], 0.5)
            baseline = p50 if baseline is None else baseline
            rows.append(summarize(f"{label} {detection}", sessions, kind, of_kind, baseline))
    return rows


def unheard(records: dict[tuple[str, str], list[ListenRecord]]) -> list[str]:
    """A line for each utterance whose reply was never heard: what the server transcribed and said."""
    return [f"no reply heard: {label} {detection} {r.utterance}: transcripts {r.transcripts}, "
            f"errors {r.errors}, speech_stopped {'yes' if r.speech_stopped_after_s is not None else 'no'}"
            for (label, detection), got in records.items() for r in got if r.voice_to_voice_s is None]


def load_utterances(sets: Sequence[str]) -> list[Utterance]:
    utterances: list[Utterance] = []
    if "librivox" in sets:
        try:
            utterances += librivox_utterances()
        except LibriVoxMissing as exc:
            sys.exit(str(exc))
    if {"command", "paused", "question"} & set(sets):
        tts = PiperTTS()
        try:
            utterances += [u for u in asyncio.run(synthesised_utterances(tts)) if u.kind in sets]
            if "question" in sets:  # one TRAIN ladder question per category, as bench.voice_accuracy speaks them
                texts = [spoken_form(q.prompt) for q in spoken_questions(1, "train")]
                utterances += asyncio.run(spoken_utterances(tts, texts, "question"))
        finally:
            tts.close()
    return utterances


def start_server(variant: Variant, stt: str, workdir: Path) -> RunningProcess:
    env = {"VOXGATE_DB": str(workdir / f"{variant.label}.db"), "VOXGATE_VOICE_STT_MODEL": stt, **variant.env}
    return start_voxgate(workdir, name=f"voxgate-{variant.label}", env=env, args=["--log-level", "warning"])


def measure(variants: list[Variant], args: argparse.Namespace, utterances: list[Utterance], workdir: Path) -> list[str]:
    servers: dict[str, RunningProcess] = {}
    rows: list[str] = []
    try:
        for variant in variants:
            servers[variant.label] = start_server(variant, args.stt, workdir)
        ports = {label: server.port for label, server in servers.items()}
        models = {variant.label: variant.model for variant in variants}
        asyncio.run(run_variants(ports, utterances[:1], args.detections, 1, {}, models=models))  # warm-up
        for sessions in args.sessions:
            records: dict[tuple[str, str], list[ListenRecord]] = {}
            try:
                asyncio.run(run_variants(ports, utterances, args.detections, sessions, records, args.chat_load,
                                         models))
            finally:  # also when the run is cut short (SIGTERM, timeout): what was measured counts
                measured = table_rows(records, sessions)
                rows += measured
                print("\n".join(measured + unheard(records)), flush=True)
    finally:
        for server in servers.values():
            stop_process(server.process)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stt", default="base", choices=["base", "tiny.en"])
    parser.add_argument("--sessions", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--detections", nargs="+", default=["server_vad", "semantic_vad"])
    parser.add_argument("--variant", action="append", type=Variant.parse,
                        help="LABEL[@MODEL]:ENV=VALUE,... (repeatable; MODEL: the session's model, default auto)")
    parser.add_argument("--sets", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--chat-load", type=int, default=0, help="chat clients beside each utterance (default 0)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the servers
    variants = args.variant or [Variant("default", {})]
    load_before = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    utterances = load_utterances(args.sets)
    with tempfile.TemporaryDirectory(prefix="voxgate-voice-bench-") as tmp:
        rows = measure(variants, args, utterances, Path(tmp))
    load = re.sub(r"\s+", " ", Path("/proc/loadavg").read_text().strip()) if Path("/proc/loadavg").exists() else ""
    table = (f"{HEADER}\n" + "\n".join(rows) + f"\n\n{os.cpu_count()} CPUs, load average before: "
             f"{' '.join(load_before)}, after: {load}\n")
    print(table)
    if args.out is not None:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
