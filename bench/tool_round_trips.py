"""After a tool result, does the model answer in words? 60 round trips by chat and by voice.

Run (a voxgate server with the bundled ladder must be up):
    flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.tool_round_trips --url http://127.0.0.1:8080 \\
        [--model auto] [--voice 20] [--out bench/results/tool_round_trips.md]

Cases: tests/support/tool_round_trips.py (weather, currency, search, calendar, calculator, stocks,
flights, time zones, units, translation; 6 each; `--failed`: one each where the tool answered with
an error, whose answer should say what went wrong). Each is the conversation right after the tool
answered; the tools stay offered (`tool_choice` auto), as agent frameworks send it.
- chat: POST /v1/chat/completions with the official `openai` SDK, streamed for odd cases;
- voice: the realtime API (GA events) with the SDK: the question as a user item, the call as a
  `function_call` item, the result as `function_call_output`, then `response.create` with audio
  output; the spoken reply's transcript is what is judged.
An answer passes when it makes no new call, is not JSON or a call written out, is not the user's
question read back, and has words or names a value the tool returned ("16:40" for the time in New
York); "uses result" is the share that also names a value the tool returned.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any, cast

import openai
from tqdm import tqdm

from tests.support.tool_round_trips import (
    RoundTrip,
    answers_in_words,
    chat_messages,
    failed_round_trips,
    mentions_result,
    round_trips,
    send_round_trip,
)
from voxgate.backends.toolcall_stream import is_echo

MAX_TOKENS = 120
VOICE_TIMEOUT_S = 300.0


def ask_chat(client: openai.OpenAI, model: str, case: RoundTrip, stream: bool) -> tuple[str, bool]:
    """(answer text, made a call) for one case by chat."""
    messages, tools = cast(Any, chat_messages(case)), cast(Any, [case.tool])
    if not stream:
        completion = client.chat.completions.create(
            model=model, messages=messages, tools=tools, temperature=0, max_tokens=MAX_TOKENS
        )
        message = completion.choices[0].message
        return message.content or "", bool(message.tool_calls)
    text, called = [], False
    for chunk in client.chat.completions.create(
        model=model, messages=messages, tools=tools, temperature=0, max_tokens=MAX_TOKENS, stream=True
    ):
        if chunk.choices:
            delta = chunk.choices[0].delta
            text.append(delta.content or "")
            called = called or bool(delta.tool_calls)
    return "".join(text), called


async def ask_voice(client: openai.AsyncOpenAI, model: str, case: RoundTrip) -> tuple[str, bool]:
    """(spoken transcript, made a call) for one case through the realtime API."""
    async with client.realtime.connect(model=model) as connection:
        await send_round_trip(connection, case)
        transcript: list[str] = []
        async with asyncio.timeout(VOICE_TIMEOUT_S):
            async for event in connection:
                if event.type == "response.output_audio_transcript.delta":
                    transcript.append(event.delta)
                elif event.type == "error":
                    return f"error: {event.error.message}", False
                elif event.type == "response.done":
                    called = any(item.type == "function_call" for item in event.response.output or [])
                    return "".join(transcript), called
    return "".join(transcript), False


def judge(case: RoundTrip, text: str, called: bool) -> tuple[bool, bool]:
    """(answered without a new call: in words, or naming a value the tool returned, and not the
    user's question read back; and named a value from the result)."""
    used = mentions_result(case, text)
    words = answers_in_words(case, text) and not called and not is_echo(text, case.question)
    return words, words and used


def summary_row(label: str, verdicts: list[tuple[bool, bool]]) -> str:
    count = len(verdicts)
    words = sum(v[0] for v in verdicts)
    used = sum(v[1] for v in verdicts)
    return f"| {label} | {count} | {words / count:.2f} ({words}/{count}) | {used / count:.2f} |" if count else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--model", default="auto")
    parser.add_argument("--chat", type=int, default=60, help="chat cases (every 60/N-th case; at most 60)")
    parser.add_argument("--voice", type=int, default=20, help="voice cases (every 60/N-th case)")
    parser.add_argument("--failed", action="store_true",
                        help="the 10 cases where the tool answered with an error (--chat 10 --voice 10 takes them all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = failed_round_trips() if args.failed else round_trips()
    client = openai.OpenAI(base_url=f"{args.url}/v1", api_key="x", max_retries=0, timeout=300)
    voice_client = openai.AsyncOpenAI(base_url=f"{args.url}/v1", api_key="x",
                                      websocket_base_url=args.url.replace("http", "ws", 1) + "/v1")
    chat_cases = cases[:: max(1, len(cases) // args.chat)][: args.chat] if args.chat > 0 else []
    voice_start = 0 if args.failed else 1
    voice_cases = cases[voice_start :: max(1, len(cases) // args.voice)][: args.voice] if args.voice > 0 else []
    chat: list[tuple[bool, bool]] = []
    voice: list[tuple[bool, bool]] = []
    started = time.monotonic()
    with tqdm(total=len(chat_cases) + len(voice_cases), unit="trip", dynamic_ncols=True) as bar:
        for index, case in enumerate(chat_cases):
            text, called = ask_chat(client, args.model, case, stream=index % 2 == 1)
            chat.append(judge(case, text, called))
            bar.write(f"chat {'ok  ' if chat[-1][0] else 'FAIL'} {case.question!r}: called={called} {text[:100]!r}")
            bar.update()
        for case in voice_cases:
            text, called = asyncio.run(ask_voice(voice_client, args.model, case))
            voice.append(judge(case, text, called))
            bar.write(f"voice {'ok  ' if voice[-1][0] else 'FAIL'} {case.question!r}: called={called} {text[:100]!r}")
            bar.update()
    table = "\n".join([
        f"model `{args.model}`{', the tool answered with an error' if args.failed else ''}; "
        f"{time.monotonic() - started:.0f} s",
        "| path | n | answered in words | uses result |", "|---|---|---|---|",
        *(row for row in (summary_row("chat (half streamed)", chat), summary_row("voice (realtime, audio out)", voice))
          if row),
    ])
    print(table)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {table}\n")


if __name__ == "__main__":
    main()
