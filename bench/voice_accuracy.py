"""Are voice answers worth hearing? Spoken checkable questions through the realtime API, graded.

    .venv/bin/python -m bench.voice_accuracy                       # auto vs always-0.5B vs always-1.5B
    .venv/bin/python -m bench.voice_accuracy --per-category 2 --arms auto qwen2.5-coder-0.5b

Questions: TEST rows of the bundled ladder (`src/voxgate/data/ladder/outcomes.questions.csv`; the
predictor never trained on them) in categories a person would ask aloud: small arithmetic, word
problems, capitals, planets, units, calendar. Each is spoken by the bundled Piper voice, streamed
to one `voxgate serve` (bundled models, Whisper base, Piper) on a fresh session per question and
arm (`?model=<arm>`, server_vad), followed by 1.5 s of silence; the reply's text transcript
(`response.done`) is graded by the ladder's own grader (`dataset_builders/ladder/grading.py`).
Arms take turns per question, so they share the machine's load. The audio is sent as fast as the
socket takes it: this measures what the answer says, not when it comes (`bench.voice_latency`).

Columns: accuracy (the reply graded right), heard (the transcript of the spoken question holds its
key numbers or names, so a wrong answer to a misheard question is told apart), models (who
answered), routed by (`voxgate_routed_by`: the constraint that decided a voice turn under auto) and
checked (escalated): turns whose first sentence was checked (`voxgate_cascade`), and how many of them
the check handed to the strongest model. `auto` checks (strategy cascade); `auto:fast` is the same
routing without the check (strategy predict, the voice's default mode).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import csv
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.voice_utterances import RATE_HZ, voiced_span
from dataset_builders.ladder.grading import grade
from dataset_builders.ladder.questions import Question, generated_questions
from tests.support.processes import start_voxgate, stop_process
from tests.support.speech_corpus import synthesised
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.piper_tts import PiperTTS
from voxgate.voice.engines.wer import spoken_number

SPLITS_CSV = Path(__file__).resolve().parents[1] / "src/voxgate/data/ladder/outcomes.questions.csv"
CATEGORIES = ("arith-1", "arith-2", "arith-3", "arith-5", "fact-capital", "fact-planet", "fact-units",
              "fact-calendar")  # fmt: skip
ARMS = ("auto", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
INSTRUCTIONS = "You are a voice assistant. Reply in one short sentence."
TRAILING_SILENCE_S = 1.5
CHUNK_BYTES = 2 * RATE_HZ // 10  # 100 ms
SPOKEN_OPERATORS = {" + ": " plus ", " - ": " minus ", " * ": " times ", " / ": " divided by "}
NUMBER_WORDS = {spoken_number(value): value for value in range(21)}
ANSWER_TIMEOUT_S = 60.0


@dataclass
class Answer:
    question: Question
    arm: str
    heard: str = ""
    reply: str = ""
    model: str = ""
    routed_by: str = ""
    cascade: str = ""
    """the stages of the first-sentence check ("a>b": escalated); "" when the turn was not checked"""
    errors: list[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        return bool(self.reply) and grade(self.question, self.reply) == 1.0

    @property
    def heard_right(self) -> bool:
        """The transcript holds the spoken question's numbers and its capitalised names (not the first word)."""
        numbers, names = _key_words(self.question.prompt.split("?")[0])
        heard_numbers, _ = _key_words(self.heard)
        return numbers <= heard_numbers and names <= set(re.findall(r"\w+", self.heard.lower()))


def _key_words(text: str) -> tuple[set[str], set[str]]:
    """Numbers (spelled-out ones up to twenty as digits) and capitalised words other than the first."""
    words = re.findall(r"\w+", text.replace(",", ""))
    numbers = {str(NUMBER_WORDS.get(w.lower(), w)) for w in words if w.isdigit() or w.lower() in NUMBER_WORDS}
    names = {w.lower() for w in words[1:] if w[:1].isupper()}
    return numbers, names


def spoken_form(prompt: str) -> str:
    """The question as a person says it: operators as words ("98 times 16")."""
    for symbol, words in SPOKEN_OPERATORS.items():
        prompt = prompt.replace(symbol, words)
    return prompt


def spoken_questions(per_category: int, split: str = "test") -> list[Question]:
    """`per_category` questions of `split` in each category, spread evenly over its rows."""
    by_id = {q.id: q for q in generated_questions(40, 0, 40)}
    test: dict[str, list[Question]] = collections.defaultdict(list)
    with SPLITS_CSV.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["split"] == split and row["id"] in by_id:
                test[row["category"]].append(by_id[row["id"]])
    chosen: list[Question] = []
    for category in CATEGORIES:
        rows_of = test[category]
        count = min(per_category, len(rows_of))
        chosen += [rows_of[i * len(rows_of) // count] for i in range(count)]
    return chosen


async def speak(tts: PiperTTS, text: str) -> bytes:
    """Piper's audio for `text`, 24 kHz PCM16, its silences cut, then the trailing silence."""
    samples = await synthesised(tts, text, RATE_HZ)
    start, end = voiced_span(samples)
    return float_to_pcm16(samples[start:end]) + bytes(2 * int(RATE_HZ * TRAILING_SILENCE_S))


async def ask(port: int, arm: str, question: Question, audio: bytes) -> Answer:
    """One spoken question on a fresh session; the first completed reply after the commit."""
    from websockets.asyncio.client import connect

    answer = Answer(question, arm)
    async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model={arm}", max_size=None) as socket:
        await socket.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "instructions": INSTRUCTIONS,
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": RATE_HZ},
                                "turn_detection": {"type": "server_vad"}}}}}))
        for start in range(0, len(audio), CHUNK_BYTES):
            await socket.send(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(audio[start : start + CHUNK_BYTES]).decode()}))
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                async for message in socket:
                    if _record(answer, json.loads(message)):
                        break
        except TimeoutError:
            answer.errors.append("timeout")
    return answer


def _record(answer: Answer, event: dict[str, Any]) -> bool:
    """Note one server event; True once the reply is complete."""
    kind = event.get("type")
    if kind == "conversation.item.input_audio_transcription.completed":
        answer.heard = str(event.get("transcript", ""))
    elif kind == "error":
        answer.errors.append(str((event.get("error") or {}).get("code")))
    elif kind == "response.done":
        response = event["response"]
        texts = [part.get("transcript") or part.get("text") or ""
                 for item in response.get("output") or [] for part in item.get("content") or []]
        metadata = response.get("metadata") or {}
        answer.reply = " ".join(text for text in texts if text).strip()
        answer.model = str(metadata.get("voxgate_model", ""))
        answer.routed_by = str(metadata.get("voxgate_routed_by", ""))
        answer.cascade = str(metadata.get("voxgate_cascade", ""))
        return response.get("status") == "completed" or bool(answer.reply)
    return False


def table(answers: list[Answer], arms: list[str]) -> str:
    lines = ["| arm | answered | accuracy | vs always-0.5B | heard right | accuracy when heard right | models "
             "| routed by | checked (escalated) |", "|---|---|---|---|---|---|---|---|---|"]
    by_arm = {arm: [a for a in answers if a.arm == arm] for arm in arms}
    base = by_arm.get("qwen2.5-coder-0.5b") or []
    base_right = sum(a.right for a in base)
    for arm, rows in by_arm.items():
        right = sum(a.right for a in rows)
        heard = [a for a in rows if a.heard_right]
        models = collections.Counter(a.model or "-" for a in rows)
        routed = collections.Counter(a.routed_by for a in rows if a.routed_by)
        versus = f"{right - base_right:+d} questions" if base else "-"
        share = right / max(1, len(rows))
        lines.append(
            f"| {arm} | {sum(bool(a.reply) for a in rows)}/{len(rows)} | {right}/{len(rows)} ({share:.2f}) "
            f"| {versus} | {len(heard)}/{len(rows)} | {sum(a.right for a in heard)}/{len(heard)} "
            f"| {', '.join(f'{m} {n}' for m, n in models.most_common())} "
            f"| {', '.join(f'{r} {n}' for r, n in routed.most_common()) or '-'} "
            f"| {sum(bool(a.cascade) for a in rows)} ({sum('>' in a.cascade for a in rows)}) |")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[Answer]:
    questions = spoken_questions(args.per_category, args.split)
    tts = PiperTTS()
    await tts.load()
    audio = {q.id: await speak(tts, spoken_form(q.prompt)) for q in questions}
    tts.close()
    answers: list[Answer] = []
    with tempfile.TemporaryDirectory() as workdir:
        server = start_voxgate(Path(workdir))
        try:
            for number, question in enumerate(questions):
                arms = args.arms[number % len(args.arms):] + args.arms[: number % len(args.arms)]
                for arm in arms:
                    answers.append(await ask(server.port, arm, question, audio[question.id]))
                print(f"{number + 1}/{len(questions)} {question.category}: "
                      + " | ".join(f"{a.arm}={'ok' if a.right else 'x'}" for a in answers[-len(arms):]),
                      file=sys.stderr, flush=True)
        finally:
            stop_process(server.process)
    return answers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-category", type=int, default=4, help="TEST questions per category (default 4)")
    parser.add_argument("--split", choices=["test", "train"], default="test",
                        help="ladder rows to ask (train: to choose a setting; test: to report it)")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), help="realtime `model` values to compare")
    parser.add_argument("--out", type=Path, help="also write the table and every answer (JSON lines) here")
    args = parser.parse_args(argv)
    answers = asyncio.run(run(args))
    report = table(answers, args.arms)
    print(report)
    if args.out is not None:
        rows = [{"id": a.question.id, "arm": a.arm, "heard": a.heard, "reply": a.reply, "right": a.right,
                 "model": a.model, "routed_by": a.routed_by, "cascade": a.cascade, "errors": a.errors} for a in answers]
        args.out.write_text(report + "\n\n" + "\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
