"""A call refused for made-up required values is asked for them in words (`toolcall_missing`): which
calls qualify, the note sent, and the adapter's second request, streamed or not, and its record."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder, chunk
from voxgate.backends.toolcall_grounding import invented_required, is_grounded
from voxgate.backends.toolcall_missing import (
    MAX_DESCRIPTION_CHARS,
    argument_words,
    ask_for_missing,
    asks_for,
    missing_note,
)
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import asked_for_in
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

BUY: JSONObject = {"name": "buy_movie_tickets", "description": "Buy tickets for a movie", "parameters": {
    "type": "object", "required": ["movie_name", "number_of_tickets", "location"], "properties": {
        "movie_name": {"type": "string", "description": "The title of the movie."},
        "number_of_tickets": {"type": "integer", "description": "How many tickets to buy."},
        "location": {"type": "string", "description": "The city of the cinema, e.g. 'Berkeley, CA'."},
        "show_type": {"type": "string", "enum": ["regular", "imax"]},
    }}}
ASK = "I would like to buy a movie ticket in Concord on the Apr 9th for four people."
MESSAGES = [{"role": "user", "content": ASK}]
TOOLS = [{"type": "function", "function": BUY}]


def buy(**arguments: object) -> ParsedToolCall:
    return ParsedToolCall("buy_movie_tickets", json.dumps(arguments))


def call_text(call: ParsedToolCall) -> str:
    return json.dumps({"name": call.name, "arguments": json.loads(call.arguments)})


GODFATHER = buy(movie_name="The Godfather", number_of_tickets=4, location="Concord, CA")


def test_only_the_made_up_required_values_of_a_call_that_takes_others_from_the_request_are_missing() -> None:
    assert not is_grounded(GODFATHER, ASK, BUY)
    assert invented_required(GODFATHER, ASK, BUY) == ["movie_name"]
    both = buy(movie_name="Up", number_of_tickets=2, location="Concord")  # two tickets: not what was asked
    assert invented_required(both, ASK, BUY) == ["movie_name", "number_of_tickets"]
    nothing = buy(movie_name="Up", number_of_tickets=2, location="Oslo")  # no value from the request: no fit
    assert invented_required(nothing, ASK, BUY) == []
    given = buy(movie_name="Up", number_of_tickets=4, location="Concord")
    assert invented_required(given, f"{ASK} The movie is Up.", BUY) == []  # grounded: nothing missing
    assert invented_required(buy(), ASK, BUY) == []  # no values at all
    enum = buy(movie_name="The Godfather", number_of_tickets=4, location="Concord", show_type="imax")
    assert invented_required(enum, ASK, {**BUY, "parameters": {**BUY["parameters"], "required": [
        "show_type", "movie_name", "location"]}}) == ["movie_name"]  # a declared choice is not made up


def test_the_note_names_each_argument_in_words_with_its_own_description() -> None:
    assert missing_note(BUY, ["movie_name"]) == (
        "(To do this you need: movie name (The title of the movie). I have not given it. Reply with one short "
        "question that asks me for it; do not answer it yourself or make anything up.)")
    two = missing_note(BUY, ["movie_name", "location"])
    assert "movie name (The title of the movie); location (The city of the cinema, e.g. 'Berkeley, CA')" in two
    assert "I have not given them. Reply with one short question that asks me for them;" in two
    bare = {"name": "f", "parameters": {"type": "object", "properties": {"start_date": {"type": "string"}}}}
    assert missing_note(bare, ["start_date"]).startswith("(To do this you need: start date. I have not given it.")
    long = {"name": "f", "parameters": {"properties": {"x": {"description": "word " * 60 + "\nsecond line"}}}}
    described = missing_note(long, ["x"]).split("x (", 1)[1].split(")", 1)[0]
    assert len(described) == MAX_DESCRIPTION_CHARS
    assert described.endswith("...")


def test_the_body_asked_again_carries_the_note_on_the_last_user_message_only() -> None:
    system = {"role": "system", "content": "Be kind."}
    body: JSONObject = {"model": "qwen", "messages": [system, *MESSAGES], "temperature": 0}
    asked = ask_for_missing(body, [GODFATHER], {"buy_movie_tickets": BUY}, ASK)
    assert asked is not None
    sent, missing = asked
    assert missing == ["movie_name"]
    assert sent["messages"][0] == system
    assert sent["temperature"] == 0
    assert sent["messages"][-1]["content"] == f"{ASK}\n\n{missing_note(BUY, ['movie_name'])}"
    assert body["messages"][-1]["content"] == ASK  # the plan's body is not changed
    functions = {"buy_movie_tickets": BUY}
    assert ask_for_missing(body, [buy(movie_name="Up", number_of_tickets=2, location="Oslo")], functions, ASK) is None
    assert ask_for_missing(body, [ParsedToolCall("undeclared", '{"a": "Concord"}')], functions, ASK) is None
    assert ask_for_missing(None, [GODFATHER], functions, ASK) is None
    ends_with_assistant = {"messages": [*MESSAGES, {"role": "assistant", "content": "Hm?"}]}
    assert ask_for_missing(ends_with_assistant, [GODFATHER], functions, ASK) is None


class AnswersAndStreamsInOrder(AnswersInOrder):
    """Streams each answer too, as one chunk of words and a stop."""

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        text = (await self.complete(body))["choices"][0]["message"]["content"]
        for item in (chunk({"content": text}), chunk({}, "stop")):
            yield item


QUESTION = "Which movie would you like tickets for?"


async def test_the_adapter_asks_for_made_up_values_and_records_which(caplog: pytest.LogCaptureFixture) -> None:
    inner = AnswersInOrder(call_text(GODFATHER), QUESTION)
    notes: ToolNotes = []
    with noting_tools(notes), caplog.at_level(logging.INFO, logger="voxgate.tool_calls"):
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": QUESTION}
    assert inner.calls == 2
    assert "<tools>" not in json.dumps(inner.sent[1]["messages"])
    assert inner.sent[1]["messages"][-1]["content"].endswith(missing_note(BUY, ["movie_name"]))
    assert notes == [{"model": "qwen", "action": "asked_again_in_words",
                      "reason": "no call takes a value from the conversation",
                      "functions": ["buy_movie_tickets"], "asked_for": ["movie_name"]}]
    assert "Godfather" not in caplog.text
    assert "Concord" not in caplog.text


async def test_streamed_too_and_off_it_asks_again_in_plain_words() -> None:
    inner = AnswersAndStreamsInOrder(call_text(GODFATHER), QUESTION)
    chunks = [c async for c in FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS})]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == QUESTION
    assert "I have not given it" in inner.sent[1]["messages"][-1]["content"]
    plain = AnswersInOrder(call_text(GODFATHER), "Sure.")
    await FencedToolCallAdapter(plain, ask_for_missing=False).complete({"messages": MESSAGES, "tools": TOOLS})
    assert plain.sent[1]["messages"][-1]["content"] == ASK


async def test_a_call_taking_nothing_from_the_request_is_asked_again_in_plain_words() -> None:
    oslo = buy(movie_name="Up", number_of_tickets=2, location="Oslo")  # no function fits: nothing to ask for
    inner = AnswersInOrder(call_text(oslo), "I can buy tickets if you tell me which.")
    await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    assert inner.sent[1]["messages"][-1]["content"] == ASK


def test_a_short_question_asks_for_an_argument_it_names_by_its_own_words() -> None:
    missing = ["movie_name", "number_of_tickets"]
    assert argument_words([BUY], "movie_name") == {"movie", "title"}  # "name", "the", "of" tell nothing
    assert argument_words([], "fromCurrency") == {"from", "currency"}
    assert asks_for("What is the title of the movie?", [BUY], missing) == ["movie_name"]
    assert asks_for('"Which movie, and how many tickets?"', [BUY], missing) == missing
    assert asks_for("How many ticket?", [BUY], missing) == ["number_of_tickets"]
    for text in ("What is your name?", "Which film?", "The movie is Up.", "Which movie? " + "More. " * 40):
        assert asks_for(text, [BUY], missing) == [], text
    # the request read back as a question names no word the user did not say (the 0.5B, measured)
    assert asks_for("Do you want to buy a movie ticket in Concord?", [BUY], missing, ASK) == []
    assert asks_for("What is the movie title?", [BUY], missing, ASK) == ["movie_name"]  # "title" is new


def test_the_arguments_asked_for_are_read_back_from_a_models_last_note() -> None:
    notes: list[JSONObject] = [{"model": "small", "action": "asked_again_in_words", "asked_for": ["city"]},
             {"model": "big", "action": "asked_again_in_words", "asked_for": ["date"]},
             {"model": "small", "action": "continued"}]
    assert asked_for_in(notes, "small") == ("city",)
    assert asked_for_in(notes, "big") == ("date",)
    assert asked_for_in(notes, "other") == ()
    assert asked_for_in([{"model": "small", "action": "asked_again_in_words"}], "small") == ()
