"""Requests that leave a required value out, asked of voxgate servers side by side: does the answer
ask the user for what is missing, or make something up? (`backends/toolcall_missing`.)

Fourteen requests, each with one fitting tool whose required arguments the request gives only in
part ("Buy movie tickets in Concord on April 9th for four people": no movie). Each is asked of every
arm (a `voxgate serve` with the bundled ladder and the arm's environment, started and stopped here by
PID), one after the other, the order flipped on every other request, with the official `openai`
SDK, non-streamed, temperature 0:

    flock /work/notes/heavy.lock .venv/bin/python -m bench.tool_missing_values \\
        --arm on: --arm off:VOXGATE_TOOLS_ASK_FOR_MISSING=0 [--out FILE.md]

Each answer is one of: `call` (a tool call), `asks` (words that ask: a `?`, or "please provide /
specify / let me know / tell me", naming a word of a missing argument or its description), `other`
(words that do neither: a refusal, or made-up results). Printed: the counts per arm, the tool layer's
actions (`model:asked_again_in_words(ARGUMENTS)` where the model was told what to ask), each answer's
first 160 characters, and the median seconds per answer.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import openai

from bench.bfcl_ab import tool_actions
from bench.server_variant import Variant
from tests.support.processes import RunningProcess, start_voxgate, stop_process

MAX_TOKENS = 200
_ASKING = re.compile(r"\?|\bplease (?:provide|specify|let me know|tell me|share|confirm)\b|\bcould you (?:please )?"
                     r"(?:provide|specify|tell|share|confirm)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Request:
    name: str
    text: str
    function: dict[str, Any]
    missing: tuple[str, ...]


def _function(name: str, description: str, **arguments: str) -> dict[str, Any]:
    """A function whose every argument (name -> description) is a required string."""
    return {"name": name, "description": description, "parameters": {
        "type": "object", "required": list(arguments),
        "properties": {key: {"type": "string", "description": text} for key, text in arguments.items()}}}


REQUESTS = [
    Request("table", "Book a table for four at Luigi's.", _function(
        "book_table", "Reserve a restaurant table", restaurant="Restaurant name", party_size="Number of guests",
        time="Date and time of the booking"), ("time",)),
    Request("text", "Send a text to John.", _function(
        "send_message", "Send a text message", recipient="Who gets it", message="The text to send"), ("message",)),
    Request("transfer", "Transfer money to Alice.", _function(
        "transfer_money", "Send money to a contact", recipient="The contact", amount_usd="Amount in US dollars"),
        ("amount_usd",)),
    Request("alarm", "Set an alarm for tomorrow.", _function(
        "set_alarm", "Set an alarm", time="Time of day, HH:MM", day="Day of the alarm"), ("time",)),
    Request("convert", "Convert 100 dollars.", _function(
        "convert_currency", "Convert money between currencies", amount="The amount", from_currency="ISO code",
        to_currency="ISO code to convert into"), ("to_currency",)),
    Request("flight", "Book a flight to Paris for two people.", _function(
        "book_flight", "Book a plane ticket", origin="Departure city", destination="Arrival city",
        date="Departure date, YYYY-MM-DD", passengers="Number of passengers"), ("origin", "date")),
    Request("meeting", "Schedule a meeting with Bob.", _function(
        "create_event", "Add an event to the calendar", title="Event title", attendees="Who is invited",
        start_time="Start, YYYY-MM-DD HH:MM"), ("start_time",)),
    Request("pizza", "Order a large pizza.", _function(
        "order_pizza", "Order a pizza for delivery", size="small, medium or large", toppings="Toppings",
        address="Delivery address"), ("toppings", "address")),
    Request("car", "Rent a car in Toronto from today until tomorrow, picking it up at 10 am.", _function(
        "get_cars_available", "Find rental cars", city="City", start_date="YYYY-MM-DD", end_date="YYYY-MM-DD",
        pickup_time="HH:MM"), ("start_date", "end_date")),
    Request("movie", "Buy movie tickets in Concord on April 9th for four people.", _function(
        "buy_movie_tickets", "Buy cinema tickets", movie_name="The title of the movie", location="City",
        show_date="YYYY-MM-DD", number_of_tickets="How many tickets"), ("movie_name",)),
    Request("house", "Find me a house in London for 4 adults.", _function(
        "book_house", "Book a house for a stay", where_to="City", number_of_adults="Guests",
        check_in_date="MM/DD/YYYY", check_out_date="MM/DD/YYYY"), ("check_in_date", "check_out_date")),
    Request("translate", "Translate this into Spanish.", _function(
        "translate", "Translate text", text="The text to translate", target_language="Language to translate into"),
        ("text",)),
    Request("forecast", "What's the weather going to be on Saturday?", _function(
        "get_forecast", "Weather forecast for a city", city="The city", day="The day"), ("city",)),
    Request("remind", "Remind me to call my sister.", _function(
        "create_reminder", "Create a reminder", text="What to be reminded of", time="When, YYYY-MM-DD HH:MM"),
        ("time",)),
]


def verdict(message: Any, request: Request) -> str:
    """`call`, `asks` (words asking, naming a missing argument's word) or `other`."""
    if message.tool_calls:
        return "call"
    text = (message.content or "").lower()
    properties = request.function["parameters"]["properties"]
    words = {word for name in request.missing for word in _WORD.findall(
        f"{name.replace('_', ' ')} {properties[name]['description']}".lower()) if len(word) > 2}
    return "asks" if _ASKING.search(text) and words & set(_WORD.findall(text)) else "other"


def ask(client: openai.OpenAI, model: str, request: Request) -> tuple[str, float, str, list[str]]:
    """(verdict, seconds, the answer's words, the tool layer's actions) for one request."""
    started = time.perf_counter()
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": request.text}], temperature=0, max_tokens=MAX_TOKENS,
        tools=cast(Any, [{"type": "function", "function": request.function}]))
    seconds = time.perf_counter() - started
    message = raw.parse().choices[0].message
    actions = list(tool_actions(client, raw.headers.get("x-voxgate-decision-id")))
    return verdict(message, request), seconds, (message.content or "").replace("\n", " "), actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm", action="append", type=Variant.parse, required=True,
                        help="LABEL[@MODEL]:NAME=VALUE,... (two or more)")
    parser.add_argument("--out", type=Path, default=None, help="append the tables to this Markdown file")
    args = parser.parse_args()
    arms: list[Variant] = args.arm
    servers: dict[str, RunningProcess] = {}
    rows: list[str] = []
    tallies: dict[str, Counter[str]] = {arm.label: Counter() for arm in arms}
    seconds: dict[str, list[float]] = {arm.label: [] for arm in arms}
    try:
        workdir = Path(tempfile.mkdtemp(prefix="tool-missing-"))
        for arm in arms:
            (workdir / arm.label).mkdir()
            servers[arm.label] = start_voxgate(workdir / arm.label, name=arm.label,
                                               env={"VOXGATE_VOICE_ENABLED": "0", **arm.env})
        clients = {label: openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0, timeout=300)
                   for label, server in servers.items()}
        for index, request in enumerate(REQUESTS):
            for arm in arms if index % 2 == 0 else arms[::-1]:
                found, took, words, actions = ask(clients[arm.label], arm.model, request)
                tallies[arm.label][found] += 1
                seconds[arm.label].append(took)
                rows.append(f"| {request.name} | {arm.label} | {found} | {', '.join(actions) or '-'} | "
                            f"{words[:160].replace('|', '/')} |")
                print(rows[-1], flush=True)
    finally:
        for server in servers.values():
            stop_process(server.process)
    table = ["| arm | call | asks | other | median s per answer |", "|---|---|---|---|---|"]
    table += [f"| {label} | {t['call']} | {t['asks']} | {t['other']} | {statistics.median(seconds[label]):.1f} |"
              for label, t in tallies.items()]
    answers = ["| request | arm | verdict | tool layer | answer (first 160 characters) |", "|---|---|---|---|---|",
               *rows]
    report = "\n".join([*table, "", *answers])
    print(f"\n{report}")
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(f"\n{report}\n")


if __name__ == "__main__":
    main()
