"""Whisper on the utterance window vs its full 30 s window: time per turn and word error rate.

    .venv/bin/python -m bench.stt_window                 # base and tiny.en, 3 rounds
    .venv/bin/python -m bench.stt_window --models base --rounds 5

Audio: the five LibriVox clips of Debian's pocketsphinx-testdata (real speech, 3-7 s) and twelve
sentences of 1-15 s spoken by the bundled Piper voice (synthetic, but they stretch the window over
short and long turns). Each turn is transcribed with both windows, alternating, in every round,
so the two are measured under the same load; figures are medians over rounds x turns, and the
ratio is utterance / full. WER is against the reference text; "fallbacks" counts turns where the
short window's output was not trusted and the full window ran instead.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time

from tests.support.speech_corpus import LibriVoxMissing, load_librivox
from voxgate.config import default_cache_dir
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.protocols import DecodeSignals
from voxgate.voice.engines.wer import corpus_word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT

SENTENCES = [
    "Yes.",
    "What time is it?",
    "Turn off the kitchen lights, please.",
    "How far is the moon from the earth?",
    "Remind me to call my sister at six tomorrow evening.",
    "Can you book a table for four people at the Italian place near the station?",
    "I would like to change my flight to Thursday morning, and please keep the aisle seat if you can.",
    "Tell me a short story about a lighthouse keeper who finds a message in a bottle on a stormy night.",
    "My order number is four two seven nine, it arrived damaged, and I would like a replacement rather "
    "than a refund.",
    "Explain the difference between weather and climate in a way that a ten year old child would "
    "understand, with one simple example of each.",
    "First preheat the oven, then mix the flour with the butter and the sugar, add two eggs one at a "
    "time, and bake the cake for about forty minutes until it is golden brown on top.",
    "The committee met on Monday to discuss the budget for next year, and after a long debate about "
    "the new library, the swimming pool and the roads, they agreed to postpone the final vote until "
    "the spring.",
]


@dataclasses.dataclass
class Turn:
    source: str
    pcm16: bytes  # 16 kHz mono
    reference: str


def librivox_turns() -> list[Turn]:
    try:
        return [Turn("librivox", clip.pcm16, clip.transcript) for clip in load_librivox()]
    except LibriVoxMissing as exc:
        sys.exit(str(exc))


async def piper_turns() -> list[Turn]:
    tts = PiperTTS()
    turns = []
    for sentence in SENTENCES:
        chunks = [chunk async for chunk in tts.synthesize(sentence)]
        audio = resample(pcm16_to_float(b"".join(chunks)), tts.sample_rate_hz, 16_000)
        turns.append(Turn("piper", float_to_pcm16(audio), sentence))
    tts.close()
    return turns


@dataclasses.dataclass
class Tally:
    times_s: list[float] = dataclasses.field(default_factory=list)
    hypotheses: dict[int, str] = dataclasses.field(default_factory=dict)  # per turn, last round wins
    fallbacks: int = 0


def count_fallbacks(stt: WhisperSTT, tally: Tally) -> None:
    decoder = stt._utterance_decoder
    if decoder is None:
        return
    decode = decoder.decode

    def counted(samples: object, sample_rate_hz: int) -> tuple[str, DecodeSignals] | None:
        decoded = decode(samples, sample_rate_hz)  # type: ignore[arg-type]
        tally.fallbacks += decoded is None
        return decoded

    decoder.decode = counted  # type: ignore[method-assign]


async def measure(model: WhisperModelName, turns: list[Turn], rounds: int) -> dict[str, Tally]:
    config = WhisperConfig(cache_dir=default_cache_dir(), model=model)
    engines = {"utterance": WhisperSTT(config), "full": WhisperSTT(dataclasses.replace(config, utterance_window=False))}
    tallies = {window: Tally() for window in engines}
    for stt in engines.values():
        await stt.load()
        await stt.transcribe(turns[0].pcm16)  # warm up
    count_fallbacks(engines["utterance"], tallies["utterance"])
    for _ in range(rounds):
        for index, turn in enumerate(turns):
            for window, stt in engines.items():
                started_s = time.perf_counter()
                text = (await stt.transcribe(turn.pcm16)).text
                tallies[window].times_s.append(time.perf_counter() - started_s)
                tallies[window].hypotheses[index] = text
    for stt in engines.values():
        stt.close()
    return tallies


def corpus_wer(turns: list[Turn], tally: Tally, source: str) -> float:
    return corpus_word_error_rate((t.reference, tally.hypotheses[i]) for i, t in enumerate(turns) if t.source == source)


def table(results: dict[str, dict[str, Tally]], turns: list[Turn], rounds: int) -> str:
    lines = ["| model | window | median ms | p90 ms | ratio (utterance / full) | WER LibriVox | WER Piper | "
             "fallbacks |", "|---|---|---|---|---|---|---|---|"]
    for model, tallies in results.items():
        full_median = statistics.median(tallies["full"].times_s)
        for window, tally in tallies.items():
            median = statistics.median(tally.times_s)
            p90 = statistics.quantiles(tally.times_s, n=10)[-1]
            fallbacks = f"{tally.fallbacks}/{len(turns) * rounds}" if window == "utterance" else "-"
            lines.append(f"| {model} | {window} | {median * 1000:.0f} | {p90 * 1000:.0f} | "
                         f"{median / full_median:.2f} | {corpus_wer(turns, tally, 'librivox'):.1%} | "
                         f"{corpus_wer(turns, tally, 'piper'):.1%} | {fallbacks} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"], choices=["base", "tiny.en"])
    parser.add_argument("--rounds", type=int, default=3, help="passes over all turns (each window every pass)")
    args = parser.parse_args()
    turns = librivox_turns() + await piper_turns()
    durations_s = sorted(len(t.pcm16) / 32_000 for t in turns)
    print(f"{len(turns)} turns, {durations_s[0]:.1f}-{durations_s[-1]:.1f} s, {args.rounds} rounds", file=sys.stderr)
    results = {model: await measure(WhisperModelName(model), turns, args.rounds) for model in args.models}
    print(table(results, turns, args.rounds))


if __name__ == "__main__":
    asyncio.run(main())
