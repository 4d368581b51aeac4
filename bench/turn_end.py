"""End-of-turn judges offline: smart-turn v3.2 (audio) and semantic_vad's text check, on the bench's utterances.

    .venv/bin/python -m bench.turn_end

Each utterance of `bench/voice_utterances.py` is cut where a turn detector would judge it: at the
end (after 200 ms of silence; the speaker HAS finished) and, for the paused requests, in every
mid-sentence pause (after 200 ms; the speaker has NOT finished). Both judges see the same cut:
smart-turn's probability (finished at >= 0.5) and `looks_finished` on Whisper base's transcript.
Prints the share judged right per judge and kind of cut, and smart-turn's inference time
(median, this machine under its current load).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import numpy as np

from bench.voice_latency import load_utterances
from bench.voice_utterances import RATE_HZ, Utterance
from tests.support.speech_engines import whisper
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.smart_turn import SmartTurn
from voxgate.voice.engines.whisper_stt import WhisperModelName
from voxgate.voice.realtime.end_of_turn import looks_finished

PAUSE_S = 0.2


@dataclass
class Cut:
    utterance: str
    finished: bool  # the truth: the speaker has finished
    pcm16_16k: bytes


def cuts_of(utterance: Utterance) -> list[Cut]:
    samples = pcm16_to_float(utterance.pcm16)
    pause = np.zeros(int(PAUSE_S * RATE_HZ), dtype=np.float32)
    ends = [utterance.last_voiced_sample, *utterance.pause_samples]
    cuts = []
    for index, end in enumerate(ends):
        audio = resample(np.concatenate([samples[:end], pause]), RATE_HZ, 16_000)
        cuts.append(Cut(utterance.name, index == 0, float_to_pcm16(audio)))
    return cuts


async def judge(cuts: list[Cut]) -> list[str]:
    model, stt = SmartTurn(), whisper(WhisperModelName.BASE)
    await model.load()
    await stt.load()
    times_ms: list[float] = []
    right: dict[tuple[str, bool], list[int]] = {}
    for cut in cuts:
        started = time.perf_counter()
        probability = await model.probability_finished(cut.pcm16_16k)
        times_ms.append((time.perf_counter() - started) * 1000)
        text_finished = looks_finished((await stt.transcribe(cut.pcm16_16k)).text)
        for judge_name, said in [("smart-turn", probability >= 0.5), ("text", text_finished),
                                 ("both", probability >= 0.5 and text_finished)]:
            right.setdefault((judge_name, cut.finished), []).append(int(said == cut.finished))
    model.close()
    rows = [f"| {name} | {'end of turn' if finished else 'mid-sentence pause'} | {sum(v)}/{len(v)} |"
            for (name, finished), v in sorted(right.items())]
    return [*rows, "", f"smart-turn inference: median {statistics.median(times_ms):.0f} ms, "
                       f"max {max(times_ms):.0f} ms over {len(times_ms)} cuts"]


def main() -> None:
    cuts = [cut for utterance in load_utterances(["librivox", "command", "paused"]) for cut in cuts_of(utterance)]
    print("| judge | cut | judged right |\n|---|---|---|")
    print("\n".join(asyncio.run(judge(cuts))))


if __name__ == "__main__":
    main()
