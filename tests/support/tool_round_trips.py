"""Tool round trips for tests and `bench/tool_round_trips.py`: a question, the call a model would
make, the tool's result, and what an answer that used the result mentions.

`round_trips()` builds 60 varied cases over ten tools (weather, currency, search, calendar,
calculator, stocks, flights, time zones, units, translation); `failed_round_trips()` 10 more where
the tool answered with an error. `chat_messages(case)` is the
conversation after the result came back; `answers_in_words(case, text)` is the contract every
answer to it must meet, whatever its wording: words, or a short answer naming a value the tool
returned ("21°C, sunny", "16:40"); never JSON, never a tool call written out. `send_round_trip`
plays a case over the realtime API. `tool_problems(body, message)` is what voxgate's own exact
check (`tool_validation`) finds wrong with an answer's calls: names, arguments against the schema,
`tool_choice`, a call repeated or written out as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from voxgate.backends.tool_validation import find_tool_call_problems

_WORD = re.compile(r"[^\W\d_]{2,}")
_CALL_MARKERS = ("<tool_call", "<tool_response", "```", '{"name"', '"arguments"')


@dataclass(frozen=True)
class RoundTrip:
    """One case: the user's question, the call made, the tool's JSON result, and the values of
    which an answer using the result names at least one (lower case)."""

    question: str
    tool: dict[str, Any]
    arguments: dict[str, Any]
    result: dict[str, Any]
    mentions: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.tool["function"]["name"])


def _tool(name: str, description: str, **properties: str) -> dict[str, Any]:
    schema = {key: {"type": kind} for key, kind in properties.items()}
    parameters = {"type": "object", "properties": schema, "required": list(properties)}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


WEATHER = _tool("get_weather", "Current weather for a city", city="string")
CURRENCY = _tool("convert_currency", "Convert an amount between currencies", amount="number", source="string",
                 target="string")
SEARCH = _tool("web_search", "Search the web and return the top result", query="string")
CALENDAR = _tool("next_event", "The user's next calendar event on a day", day="string")
CALCULATOR = _tool("calculate", "Evaluate an arithmetic expression", expression="string")
STOCKS = _tool("stock_price", "Latest price of a stock ticker", ticker="string")
FLIGHTS = _tool("flight_status", "Status of a flight by number", flight="string")
TIME = _tool("local_time", "Current local time in a city", city="string")
UNITS = _tool("convert_units", "Convert a value between units", value="number", source="string", target="string")
TRANSLATE = _tool("translate", "Translate a text into a language", text="string", language="string")


def _weather() -> list[RoundTrip]:
    rows = [("Paris", 21, "sunny"), ("Oslo", -3, "snowing"), ("Tokyo", 28, "humid and cloudy"),
            ("Cairo", 35, "clear"), ("Lima", 17, "foggy"), ("Toronto", 9, "raining")]
    return [RoundTrip(f"What's the weather like in {city} right now?", WEATHER, {"city": city},
                      {"temperature_c": temp, "sky": sky}, (str(temp), sky.split()[0])) for city, temp, sky in rows]


def _currency() -> list[RoundTrip]:
    rows = [(100, "USD", "EUR", 92.4), (50, "GBP", "JPY", 9431.0), (250, "EUR", "CHF", 236.1),
            (10, "AUD", "USD", 6.52), (1000, "INR", "USD", 11.98), (75, "CAD", "GBP", 43.7)]
    return [RoundTrip(f"How much is {amount} {src} in {dst}?", CURRENCY,
                      {"amount": amount, "source": src, "target": dst}, {"amount": value, "currency": dst},
                      _number_forms(value)) for amount, src, dst, value in rows]


def _search() -> list[RoundTrip]:
    rows = [("Who designed the Eiffel Tower?", "Gustave Eiffel's company designed the tower", "eiffel"),
            ("When was the first iPhone released?", "The first iPhone was released on June 29, 2007", "2007"),
            ("What is the tallest mountain in Africa?", "Kilimanjaro, 5,895 m", "kilimanjaro"),
            ("Who wrote the novel Dune?", "Dune is a 1965 novel by Frank Herbert", "herbert"),
            ("What is the population of Iceland?", "Iceland has about 390,000 inhabitants", "390"),
            ("What language is spoken in Brazil?", "Portuguese is the official language of Brazil", "portuguese")]
    return [RoundTrip(q, SEARCH, {"query": q}, {"top_result": snippet}, (mention,)) for q, snippet, mention in rows]


def _calendar() -> list[RoundTrip]:
    rows = [("today", "Dentist", "14:30"), ("tomorrow", "Team standup", "09:00"), ("Friday", "Lunch with Ana", "12:15"),
            ("Monday", "Budget review", "16:00"), ("Saturday", "Football practice", "10:00"),
            ("Sunday", "Call with parents", "18:30")]
    return [RoundTrip(f"What's my next meeting {day}?", CALENDAR, {"day": day}, {"title": title, "starts": start},
                      (title.split()[0].lower(), start.split(":")[0].lstrip("0") or "0")) for day, title, start in rows]


def _calculator() -> list[RoundTrip]:
    rows = [("17 * 23", 391), ("1024 / 16", 64), ("3.5 * 8", 28), ("999 + 1234", 2233), ("2 ** 10", 1024),
            ("(45 - 12) * 3", 99)]
    return [RoundTrip(f"Please calculate {expr}.", CALCULATOR, {"expression": expr}, {"result": value},
                      _number_forms(value)) for expr, value in rows]


def _stocks() -> list[RoundTrip]:
    rows = [("AAPL", 189.52), ("MSFT", 415.1), ("NVDA", 121.33), ("TSLA", 242.9), ("AMZN", 178.25), ("IBM", 167.4)]
    return [RoundTrip(f"What's the stock price of {ticker}?", STOCKS, {"ticker": ticker},
                      {"ticker": ticker, "price_usd": price}, _number_forms(price)) for ticker, price in rows]


def _flights() -> list[RoundTrip]:
    rows = [("BA117", "delayed", "45 minutes"), ("LH400", "on time", "gate B22"), ("AF1234", "cancelled", "storm"),
            ("UA90", "boarding", "gate C7"), ("KL1001", "landed", "terminal 2"), ("DL15", "departed", "10:42")]
    return [RoundTrip(f"Is flight {flight} on time?", FLIGHTS, {"flight": flight}, {"status": status, "detail": detail},
                      (status.split()[0],)) for flight, status, detail in rows]


def _time() -> list[RoundTrip]:
    rows = [("Sydney", "07:15"), ("New York", "16:40"), ("London", "21:05"), ("Mumbai", "02:35"), ("Berlin", "22:05"),
            ("Mexico City", "15:40")]
    return [RoundTrip(f"What time is it in {city}?", TIME, {"city": city}, {"local_time": clock},
                      (clock, clock.split(":")[0].lstrip("0") or "0")) for city, clock in rows]


def _units() -> list[RoundTrip]:
    rows = [(10, "miles", "kilometres", 16.09), (5, "kilograms", "pounds", 11.02), (30, "celsius", "fahrenheit", 86),
            (2, "litres", "gallons", 0.53), (6, "feet", "metres", 1.83), (100, "yards", "metres", 91.44)]
    return [RoundTrip(f"Convert {value} {src} to {dst}.", UNITS, {"value": value, "source": src, "target": dst},
                      {"value": out, "unit": dst}, _number_forms(out)) for value, src, dst, out in rows]


def _translate() -> list[RoundTrip]:
    rows = [("good morning", "Spanish", "buenos días"), ("thank you", "German", "danke"),
            ("where is the station", "French", "où est la gare"), ("cheers", "Italian", "salute"),
            ("see you tomorrow", "Portuguese", "até amanhã"), ("I love you", "Dutch", "ik hou van jou")]
    return [RoundTrip(f"How do you say '{text}' in {language}?", TRANSLATE, {"text": text, "language": language},
                      {"translation": out}, (out.split()[0],)) for text, language, out in rows]


def _number_forms(value: float) -> tuple[str, ...]:
    """How an answer may write a number: as given, rounded, with a thousands separator."""
    forms = {str(value), f"{value:,}", str(round(value)), f"{round(value):,}"}
    if isinstance(value, float) and value.is_integer():
        forms.add(str(int(value)))
    return tuple(sorted(forms))


def round_trips() -> list[RoundTrip]:
    """60 cases, 6 per tool, in a fixed order."""
    groups = [_weather(), _currency(), _search(), _calendar(), _calculator(), _stocks(), _flights(), _time(),
              _units(), _translate()]
    return [case for group in groups for case in group]


def failed_round_trips() -> list[RoundTrip]:
    """10 cases, one per tool, where the tool answered with an error: an answer that used it tells the
    user what went wrong (`mentions`: the error's own words), in words, without reading the JSON back."""
    rows: list[tuple[str, dict[str, Any], dict[str, Any], str, tuple[str, ...]]] = [
        ("What's the weather like in Atlantis?", WEATHER, {"city": "Atlantis"}, "city not found: Atlantis",
         ("atlantis", "find", "found")),
        ("How much is 100 USD in XYZ?", CURRENCY, {"amount": 100, "source": "USD", "target": "XYZ"},
         "unknown currency code: XYZ", ("xyz", "unknown", "currency")),
        ("Who won the 2031 World Cup?", SEARCH, {"query": "2031 World Cup winner"}, "no results",
         ("no results", "find", "found", "information")),
        ("What's my next meeting tomorrow?", CALENDAR, {"day": "tomorrow"},
         "calendar access denied: sign in again", ("sign in", "access", "denied")),
        ("Please calculate 10 / 0.", CALCULATOR, {"expression": "10 / 0"}, "division by zero",
         ("zero", "undefined", "divide")),
        ("What's the stock price of ZZZZ?", STOCKS, {"ticker": "ZZZZ"}, "unknown ticker: ZZZZ",
         ("zzzz", "unknown", "ticker")),
        ("Is flight XX999 on time?", FLIGHTS, {"flight": "XX999"}, "flight not found: XX999",
         ("xx999", "find", "found")),
        ("What time is it in Gotham?", TIME, {"city": "Gotham"}, "unknown city: Gotham",
         ("gotham", "unknown", "find", "found")),
        ("Convert 5 parsecs to cups.", UNITS, {"value": 5, "source": "parsecs", "target": "cups"},
         "cannot convert length to volume", ("convert", "length", "volume")),
        ("Translate 'hello' into Klingon.", TRANSLATE, {"text": "hello", "language": "Klingon"},
         "service timed out, try again later", ("timed out", "try again", "later")),
    ]
    return [RoundTrip(question, tool, arguments, {"error": error}, mentions)
            for question, tool, arguments, error, mentions in rows]


def chat_messages(case: RoundTrip, call_id: str = "call_1") -> list[dict[str, Any]]:
    """The conversation right after the tool answered: question, the assistant's call, the result."""
    call = {"id": call_id, "type": "function", "function": {"name": case.name, "arguments": json.dumps(case.arguments)}}
    return [
        {"role": "user", "content": case.question},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps(case.result, ensure_ascii=False)},
    ]


async def send_round_trip(connection: Any, case: RoundTrip) -> None:
    """Over a realtime connection (the `openai` SDK's): offer the case's tool, then add the
    question, the call and its result as conversation items, and ask for a spoken response."""
    tool = {"type": "function", **case.tool["function"]}
    await connection.session.update(session={
        "type": "realtime", "output_modalities": ["audio"], "tools": [tool], "tool_choice": "auto",
        "instructions": "You are a voice assistant. Answer in one short sentence.",
    })
    await connection.conversation.item.create(item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": case.question}]})
    await connection.conversation.item.create(item={
        "type": "function_call", "call_id": "call_1", "name": case.name, "arguments": json.dumps(case.arguments)})
    await connection.conversation.item.create(item={
        "type": "function_call_output", "call_id": "call_1", "output": json.dumps(case.result)})
    await connection.response.create()


def reads_as_words(text: str | None) -> bool:
    """An answer a person can read or hear: some words, no JSON object, no tool call written out."""
    if not text or len(_WORD.findall(text)) < 2:
        return False
    return not is_call_or_json(text)


def is_call_or_json(text: str) -> bool:
    """Whether `text` writes a tool call out (a fence, a `<tool_call>` tag, call keys) or is JSON."""
    if any(marker in text for marker in _CALL_MARKERS):
        return True
    stripped = text.strip()
    if stripped[:1] not in ("{", "["):
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def answers_in_words(case: RoundTrip, text: str | None) -> bool:
    """The answer after `case`'s result is words (`reads_as_words`), or a short answer naming a value
    the tool returned, as a sampled voice reply may be ("21°C, sunny" has one word of two letters);
    never JSON, never a call written out."""
    if reads_as_words(text):
        return True
    return bool(text) and mentions_result(case, text) and not is_call_or_json(text or "")


def mentions_result(case: RoundTrip, text: str | None) -> bool:
    """Whether the answer names one of the values the tool returned."""
    lowered = (text or "").lower()
    return any(mention.lower() in lowered for mention in case.mentions)


def tool_problems(body: dict[str, Any], message: dict[str, Any]) -> list[str]:
    """What is wrong with `message` (an answer's assistant message, as a dict) as the answer to the
    tool request `body`: each problem's kind and message (`tool_validation.find_tool_call_problems`)."""
    return [f"{problem.kind}: {problem.message}" for problem in find_tool_call_problems(body, message)]
