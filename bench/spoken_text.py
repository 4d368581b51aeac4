"""What the voice reads aloud of the bundled models' real replies, before and after `spoken_text`.

Run (a voxgate server with the bundled ladder must be up):
    flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.spoken_text --url http://127.0.0.1:8080 \\
        [--model auto] [--out bench/results/spoken_text.md] [--replies-out replies.jsonl]

Every reply comes through the realtime API (the official `openai` SDK, a session per reply, text
output: the reply's words are the same, and no speech is synthesised), with no instructions:
- "tool request": the 60 round trips' questions (`tests/support/tool_round_trips.py`), their tool
  offered, `tool_choice` auto: the model calls it, describes the call in words, or answers;
- "after tool result": the same 60, the call and its result in the conversation;
- "questions": the voice latency bench's commands and requests, and questions that invite lists
  and code (written for this bench).
Each reply is cut as a voice reply is, before (`SpeechChunker` alone: what was read aloud until
now) and after (`SpokenPieces`: what is read aloud now). A piece "reads marks" when it holds a
character the voice reads as a word (`* # ` { } [ ] < > | ~` or an emoji); "described call" when the
reply made a call and a piece names its function. "words dropped" counts the words of the old
pieces that the new ones lack; the log prints them for every reply, to read.
The cost line times both over every reply (median of 20 passes) in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from tqdm import tqdm

from bench.voice_utterances import COMMANDS, PAUSED_REQUESTS
from tests.support.tool_round_trips import RoundTrip, round_trips
from voxgate.voice.realtime.sentences import SpeechChunker
from voxgate.voice.realtime.spoken_text import SpokenPieces

FIRST_PIECE_CHARS = 12  # voice.first_piece_chars' default
MAX_OUTPUT_TOKENS = 160
TIMEOUT_S = 300.0
OPEN_QUESTIONS = [
    "How do I make pancakes?", "Give me three tips for sleeping better.", "What are the planets in order?",
    "How do I reverse a string in Python?", "What's the difference between a list and a tuple?",
    "Write a function that adds two numbers.", "How do I center a div in CSS?", "Explain what an API is.",
    "What should I pack for a weekend hike?", "How do I convert Celsius to Fahrenheit?",
    "List the steps to change a flat tyre.", "How do I read a JSON file in JavaScript?",
]  # fmt: skip
_MARKS = re.compile("[*#`{}\\[\\]<>|~\U0001F000-\U0001FAFF\u2600-\u27BF]")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Ask:
    """One reply to ask for: its set, the conversation items, the tools offered."""

    kind: str
    items: list[dict[str, Any]]
    tools: list[dict[str, Any]]


@dataclass(frozen=True)
class Reply:
    kind: str
    text: str
    called: bool
    declared: frozenset[str]


def _user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _realtime_tool(case: RoundTrip) -> dict[str, Any]:
    return {"type": "function", **case.tool["function"]}


def asks() -> list[Ask]:
    cases = round_trips()
    tool_requests = [Ask("tool request", [_user(c.question)], [_realtime_tool(c)]) for c in cases]
    after_results = [Ask("after tool result", [
        _user(c.question),
        {"type": "function_call", "call_id": "call_1", "name": c.name, "arguments": json.dumps(c.arguments)},
        {"type": "function_call_output", "call_id": "call_1", "output": json.dumps(c.result)},
    ], [_realtime_tool(c)]) for c in cases]
    questions = [*COMMANDS, *(" ".join(clauses) for clauses in PAUSED_REQUESTS), *OPEN_QUESTIONS]
    return [*tool_requests, *after_results, *(Ask("questions", [_user(q)], []) for q in questions)]


async def ask(client: openai.AsyncOpenAI, model: str, request: Ask) -> Reply:
    """The reply's words and whether it made a call, through the realtime API."""
    async with client.realtime.connect(model=model) as connection:
        session: Any = {"type": "realtime", "output_modalities": ["text"], "tools": request.tools,
                        "tool_choice": "auto", "max_output_tokens": MAX_OUTPUT_TOKENS}
        await connection.session.update(session=session)
        for item in request.items:
            await connection.conversation.item.create(item=item)  # type: ignore[arg-type]
        await connection.response.create()
        text: list[str] = []
        async with asyncio.timeout(TIMEOUT_S):
            async for event in connection:
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
                elif event.type == "error":
                    raise RuntimeError(event.error.message)
                elif event.type == "response.done":
                    called = any(item.type == "function_call" for item in event.response.output or [])
                    declared = frozenset(str(tool["name"]) for tool in request.tools)
                    return Reply(request.kind, "".join(text), called, declared)
    raise RuntimeError("the realtime connection closed before response.done")


def old_pieces(text: str) -> list[str]:
    chunker = SpeechChunker(FIRST_PIECE_CHARS)
    return [piece for character in text for piece in chunker.push(character)] + chunker.flush()


def new_pieces(text: str, declared: Collection[str], called: bool) -> list[str]:
    spoken = SpokenPieces(FIRST_PIECE_CHARS, declared)
    pieces = [piece for character in text for piece in spoken.push(character)]
    if called:
        spoken.tool_called()
    return pieces + spoken.flush()


def reads_marks(pieces: list[str]) -> bool:
    return any(_MARKS.search(piece) for piece in pieces)


def reads_described_call(pieces: list[str], reply: Reply) -> bool:
    return reply.called and any(name in piece for piece in pieces for name in reply.declared)


def dropped_words(old: list[str], new: list[str]) -> list[str]:
    lost = Counter(_WORD.findall(" ".join(old).lower())) - Counter(_WORD.findall(" ".join(new).lower()))
    return sorted(lost.elements())


def table(replies: list[Reply]) -> str:
    rows = ["| replies | n | with a call | read marks: before → after | read a described call: before → after "
            "| words dropped | characters spoken, after / before |", "|---|---|---|---|---|---|---|"]
    for kind in (*dict.fromkeys(r.kind for r in replies), "all"):
        chosen = [r for r in replies if kind in ("all", r.kind)]
        pairs = [(old_pieces(r.text), new_pieces(r.text, r.declared, r.called), r) for r in chosen]
        marks = (sum(reads_marks(o) for o, _, _ in pairs), sum(reads_marks(n) for _, n, _ in pairs))
        described = (sum(reads_described_call(o, r) for o, _, r in pairs),
                     sum(reads_described_call(n, r) for _, n, r in pairs))
        words = sum(len(dropped_words(o, n)) for o, n, _ in pairs)
        chars = (sum(len(" ".join(o)) for o, _, _ in pairs), sum(len(" ".join(n)) for _, n, _ in pairs))
        rows.append(f"| {kind} | {len(chosen)} | {sum(r.called for r in chosen)} | {marks[0]} → {marks[1]} | "
                    f"{described[0]} → {described[1]} | {words} | {chars[1] / max(chars[0], 1):.3f} |")
    return "\n".join(rows)


def cost_line(replies: list[Reply], passes: int = 20) -> str:
    """Median time to cut every reply, old and new, over `passes` passes."""
    def timed(cut: Any) -> float:
        times = []
        for _ in range(passes):
            started = time.perf_counter()
            for reply in replies:
                cut(reply)
            times.append(time.perf_counter() - started)
        return statistics.median(times) / max(len(replies), 1) * 1e6

    old_us = timed(lambda r: old_pieces(r.text))
    new_us = timed(lambda r: new_pieces(r.text, r.declared, r.called))
    return (f"cutting one reply (median of {passes} passes over {len(replies)} replies): before {old_us:.0f} µs, "
            f"after {new_us:.0f} µs ({new_us / old_us:.2f}x)")


async def collect(url: str, model: str, replies_out: Path | None) -> list[Reply]:
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x",
                                websocket_base_url=url.replace("http", "ws", 1) + "/v1")
    replies: list[Reply] = []
    with tqdm(asks(), unit="reply", dynamic_ncols=True) as bar:
        for request in bar:
            reply = await ask(client, model, request)
            replies.append(reply)
            lost = dropped_words(old_pieces(reply.text), new_pieces(reply.text, reply.declared, reply.called))
            bar.write(f"{reply.kind}: called={reply.called} dropped={lost} {reply.text[:90]!r}")
            if replies_out is not None:
                with replies_out.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"kind": reply.kind, "text": reply.text, "called": reply.called,
                                          "declared": sorted(reply.declared)}) + "\n")
    return replies


def load(path: Path) -> list[Reply]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Reply(row["kind"], row["text"], row["called"], frozenset(row["declared"])) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--out", type=Path, default=None, help="append the table to this file")
    parser.add_argument("--replies-out", type=Path, default=None, help="write each reply here (JSON lines)")
    parser.add_argument("--replies-in", type=Path, default=None, help="read replies written before; ask nothing")
    args = parser.parse_args()
    started = time.monotonic()
    replies = load(args.replies_in) if args.replies_in else asyncio.run(collect(args.url, args.model, args.replies_out))
    report = "\n".join([f"model `{args.model}`; {len(replies)} replies; {time.monotonic() - started:.0f} s",
                        "", table(replies), "", cost_line(replies)])
    print(report)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n{report}\n")


if __name__ == "__main__":
    main()
