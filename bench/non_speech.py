"""Words out of non-speech, with the hallucination filter off and on, and what the filter costs
on real speech.

    .venv/bin/python -m bench.non_speech                          # base and tiny.en, seeds 1 and 2
    .venv/bin/python -m bench.non_speech --models base --seeds 1

Non-speech: `tests.support.non_speech` (55 generated inputs per seed: white/pink/brown noise at
five levels, 50/60 Hz hum, clicks, keyboard-like transients, tones, chords, breath-like noise,
silence with a DC offset, mixes). The filter's thresholds were chosen on seed 0, so the default
seeds are held out. Real speech: the five LibriVox clips (WER filter off vs on) and Piper saying
Whisper's favourite inventions for real (`SPOKEN_PHRASES`: the filter must keep them).

Each input is decoded once by Whisper (the same `WhisperSTT` the server runs); "off" is that
transcript, "on" is what `speech_guard.GuardedSTT` returns for it (`withhold_if_invented` over
Silero's measure of the same audio). "VAD ms" is the guard's own work, which runs beside the decode.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import statistics
import sys
import time

from tests.support.non_speech import SPOKEN_PHRASES, non_speech_inputs, spoken_phrase
from tests.support.speech_corpus import LibriVoxMissing, load_librivox
from voxgate.config import default_cache_dir
from voxgate.voice.audio.codecs import pcm16_to_float
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.protocols import Transcript
from voxgate.voice.engines.silero_vad import SileroVAD
from voxgate.voice.engines.speech_guard import measure_speech, withhold_if_invented
from voxgate.voice.engines.wer import corpus_word_error_rate, normalize_words
from voxgate.voice.engines.whisper_stt import WhisperConfig, WhisperModelName, WhisperSTT


@dataclasses.dataclass
class Outcome:
    group: str  # a non-speech kind, "librivox" or "spoken"
    reference: str  # "" for non-speech
    off: Transcript
    on: Transcript
    decode_s: float
    vad_s: float


async def decode_both(stt: WhisperSTT, vad: SileroVAD, group: str, pcm16: bytes, reference: str) -> Outcome:
    started_s = time.perf_counter()
    off = await stt.transcribe(pcm16)
    decoded_s = time.perf_counter()
    speech = measure_speech(pcm16_to_float(pcm16), vad)
    vad_s = time.perf_counter() - decoded_s
    return Outcome(group, reference, off, withhold_if_invented(off, speech), decoded_s - started_s, vad_s)


async def measure(model: str, seeds: list[int], spoken: list[tuple[str, bytes]]) -> list[Outcome]:
    stt = WhisperSTT(WhisperConfig(cache_dir=default_cache_dir(), model=WhisperModelName(model)))
    vad = SileroVAD()
    await stt.load()
    outcomes = []
    try:
        for seed in seeds:
            for item in non_speech_inputs(seed):
                outcomes.append(await decode_both(stt, vad, item.kind, item.pcm16, ""))
        for clip in load_librivox():
            outcomes.append(await decode_both(stt, vad, "librivox", clip.pcm16, clip.transcript))
        for text, pcm16 in spoken:
            outcomes.append(await decode_both(stt, vad, "spoken", pcm16, text))
    finally:
        stt.close()
    return outcomes


def _words(transcripts: list[Transcript]) -> int:
    return sum(len(normalize_words(t.text)) for t in transcripts)


def kinds_table(results: dict[str, list[Outcome]]) -> str:
    lines = ["| model | kind | inputs | with words, off | words, off | with words, on | words, on | example off |",
             "|---|---|---|---|---|---|---|---|"]
    for model, outcomes in results.items():
        groups: dict[str, list[Outcome]] = collections.defaultdict(list)
        for outcome in outcomes:
            if outcome.reference == "":
                groups[outcome.group].append(outcome)
        for kind, members in [*sorted(groups.items()), ("all", [o for o in outcomes if o.reference == ""])]:
            offs, ons = [o.off for o in members], [o.on for o in members]
            example = next((t.text for t in offs if t.text), "")[:40]
            lines.append(f"| {model} | {kind} | {len(members)} | {sum(bool(t.text) for t in offs)} | {_words(offs)} | "
                         f"{sum(bool(t.text) for t in ons)} | {_words(ons)} | {example!r} |")
    return "\n".join(lines)


def speech_table(results: dict[str, list[Outcome]]) -> str:
    lines = ["| model | LibriVox WER, off | LibriVox WER, on | clips withheld | spoken phrases kept | "
             "withheld reasons (non-speech) | decode ms, median | VAD ms, median |",
             "|---|---|---|---|---|---|---|---|"]
    for model, outcomes in results.items():
        clips = [o for o in outcomes if o.group == "librivox"]
        spoken = [o for o in outcomes if o.group == "spoken"]
        reasons = collections.Counter(r for o in outcomes if o.reference == "" for r in o.on.withheld)
        wer_off = corpus_word_error_rate((o.reference, o.off.text) for o in clips)
        wer_on = corpus_word_error_rate((o.reference, o.on.text) for o in clips)
        withheld = sum(bool(o.on.withheld) for o in clips)
        kept = sum(bool(o.on.text) for o in spoken)
        reason_text = ", ".join(f"{name} {count}" for name, count in reasons.most_common())
        decode_ms = statistics.median(o.decode_s for o in outcomes) * 1000
        vad_ms = statistics.median(o.vad_s for o in outcomes) * 1000
        lines.append(f"| {model} | {wer_off:.1%} | {wer_on:.1%} | {withheld}/{len(clips)} | {kept}/{len(spoken)} | "
                     f"{reason_text} | {decode_ms:.0f} | {vad_ms:.1f} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"], choices=["base", "tiny.en"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="non-speech seeds (0 tuned the filter)")
    args = parser.parse_args()
    try:
        load_librivox()
    except LibriVoxMissing as exc:
        sys.exit(str(exc))
    tts = PiperTTS()
    try:
        spoken = [(text, await spoken_phrase(tts, text)) for text in SPOKEN_PHRASES]
    finally:
        tts.close()
    results = {model: await measure(model, args.seeds, spoken) for model in args.models}
    print(f"non-speech seeds {args.seeds}; {len(SPOKEN_PHRASES)} spoken phrases; 5 LibriVox clips", file=sys.stderr)
    print(kinds_table(results))
    print()
    print(speech_table(results))


if __name__ == "__main__":
    asyncio.run(main())
