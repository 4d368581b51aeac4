"""OpenAI's audio endpoints on the bundled engines: transcription real-time factor, speech time to first byte.

    .venv/bin/python -m bench.audio_endpoints                  # Whisper base + Piper, 3 rounds
    .venv/bin/python -m bench.audio_endpoints --rounds 5 --stt-model tiny.en

A real `voxgate serve` (scripted chat upstream, the default speech engines) on loopback, called
over HTTP like the `openai` SDK does. Baselines in the same run and the same process (this
script): the engines called directly, without HTTP, decoding or the pause cuts.

- transcription: the five LibriVox clips (real read speech) uploaded as WAV, `response_format=json`;
  real-time factor = wall time / audio length (lower is faster); WER over the corpus;
- speech: sentences of 3-20 words, `response_format` pcm / wav / mp3, streamed; time to the first
  audio byte (for wav, the first byte after the 44-byte header) and to the last byte.

Figures are medians over rounds x items; the endpoint and its baseline alternate item by item so
both see the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.fake_upstream import serve_in_thread
from tests.support.processes import start_voxgate, stop_process
from tests.support.speech_corpus import Clip, LibriVoxMissing, load_librivox
from voxgate.config import default_cache_dir
from voxgate.voice.audio.containers import wav_file
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.wer import corpus_word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

SENTENCES = [
    "What time is it?",
    "Turn off the kitchen lights, please.",
    "Remind me to call my sister at six tomorrow evening.",
    "I would like to change my flight to Thursday morning, and please keep the aisle seat if you can.",
]
WAV_HEADER_BYTES = 44



def _transcribe_http(client: httpx.Client, clip: Clip) -> tuple[float, str]:
    started_s = time.perf_counter()
    response = client.post("/v1/audio/transcriptions", data={"model": "whisper-1"},
                           files={"file": (f"{clip.name}.wav", wav_file(clip.pcm16, 16_000), "audio/wav")})
    response.raise_for_status()
    return time.perf_counter() - started_s, str(response.json()["text"])


def _speak_http(client: httpx.Client, text: str, response_format: str) -> tuple[float, float]:
    """(seconds to the first audio byte, seconds to the last byte)."""
    skip = WAV_HEADER_BYTES if response_format == "wav" else 0
    started_s = time.perf_counter()
    first_s = None
    received = 0
    body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": response_format}
    with client.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            received += len(chunk)
            if first_s is None and received > skip:
                first_s = time.perf_counter() - started_s
    if first_s is None:
        raise RuntimeError(f"no audio came back for {response_format}")
    return first_s, time.perf_counter() - started_s


async def _direct_stt(stt: WhisperSTT, clip: Clip) -> float:
    started_s = time.perf_counter()
    await stt.transcribe(clip.pcm16)
    return time.perf_counter() - started_s


async def _direct_tts(tts: PiperTTS, text: str) -> float:
    started_s = time.perf_counter()
    async for _chunk in tts.synthesize(text):
        return time.perf_counter() - started_s
    raise RuntimeError("Piper produced no audio")


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}"


async def run(base_url: str, clips: list[Clip], rounds: int, stt_model: str) -> str:
    stt = WhisperSTT(WhisperConfig(cache_dir=default_cache_dir(), model=WhisperModelName(stt_model)))
    tts = PiperTTS()
    await stt.load()
    await tts.load()
    rtf_http: list[float] = []
    rtf_direct: list[float] = []
    hypotheses: dict[str, str] = {}
    speech: dict[str, tuple[list[float], list[float]]] = {f: ([], []) for f in ("pcm", "wav", "mp3")}
    direct_first: list[float] = []
    with httpx.Client(base_url=base_url, timeout=300) as client:
        _transcribe_http(client, clips[0])  # warm up both paths
        await _direct_stt(stt, clips[0])
        for _ in range(rounds):
            for clip in clips:
                elapsed_s, hypotheses[clip.name] = await asyncio.to_thread(_transcribe_http, client, clip)
                rtf_http.append(elapsed_s / clip.duration_s)
                rtf_direct.append(await _direct_stt(stt, clip) / clip.duration_s)
            for text in SENTENCES:
                for response_format, (firsts, lasts) in speech.items():
                    first_s, last_s = await asyncio.to_thread(_speak_http, client, text, response_format)
                    firsts.append(first_s)
                    lasts.append(last_s)
                direct_first.append(await _direct_tts(tts, text))
    stt.close()
    tts.close()
    wer = corpus_word_error_rate((c.transcript, hypotheses[c.name]) for c in clips)
    lines = [f"Transcription ({len(clips)} LibriVox clips, {rounds} rounds, Whisper {stt_model}; WER {wer:.1%})",
             "", "| path | median RTF | p90 RTF |", "|---|---|---|"]
    for name, values in (("POST /v1/audio/transcriptions", rtf_http), ("engine called directly", rtf_direct)):
        lines.append(f"| {name} | {statistics.median(values):.3f} | {statistics.quantiles(values, n=10)[-1]:.3f} |")
    lines += ["", f"Speech ({len(SENTENCES)} sentences, {rounds} rounds, Piper)", "",
              "| path | median first audio byte ms | median last byte ms |", "|---|---|---|"]
    for response_format, (firsts, lasts) in speech.items():
        lines.append(f"| POST /v1/audio/speech {response_format} | {_ms(firsts)} | {_ms(lasts)} |")
    lines.append(f"| Piper first chunk, called directly | {_ms(direct_first)} | - |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stt-model", default="base", choices=["base", "tiny.en"])
    args = parser.parse_args()
    try:
        clips = load_librivox()
    except LibriVoxMissing as exc:
        sys.exit(str(exc))
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread() as upstream:
        catalog = (f"models:\n  - id: scripted\n    base_url: {upstream.base_url}\n"
                   "include_default_models: false\n"
                   f"voice: {{enabled: true, stt_model: {args.stt_model}, tts_engine: piper}}\n")
        server = start_voxgate(Path(tmp), catalog, name="bench-audio")
        try:
            print(asyncio.run(run(server.base_url, clips, args.rounds, args.stt_model)))
        finally:
            stop_process(server.process)


if __name__ == "__main__":
    main()
