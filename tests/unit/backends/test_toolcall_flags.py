"""A yes/no argument the request asks for, set true: which names a request asks for, which requests
set nothing (they negate something), calls that give a flag both ways, and the settled call noted."""

from __future__ import annotations

import json

import pytest

from voxgate.backends.toolcall_flags import asks_for_flag, flags_asked_for, says_no
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ToolRecord
from voxgate.backends.toolcall_relevance import topic_words
from voxgate.backends.toolcall_settle import settle_calls
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject


@pytest.mark.parametrize(("key", "words"), [
    ("species", "Find out the population and species of turtles in Mississippi river in 2020."),
    ("want_year", "I'm curious about the inventor and year of invention of the 'Telephone'."),
    ("include_stats", "Fetch the last match of Manchester United. Also, include the match statistics."),
    ("include_player_stats", "The latest score, individual player stats and team stats for the Lakers."),
    ("dividends", "The projected return of this investment, taking into account potential dividends."),
    ("hasGarage", "A 2-bedroom rental in Austin with a garage."),
])  # fmt: skip
def test_a_flag_whose_name_the_request_says_is_asked_for(key: str, words: str) -> None:
    assert asks_for_flag(key, topic_words(words))


@pytest.mark.parametrize(("key", "words"), [
    ("include_details", "Fetch the details of case LC12345."),  # "give it" words alone name nothing
    ("include_human_impact", "The forest growth in the Amazon over the next 10 years."),  # "human" unsaid
    ("is_unisex", "Find me a hair stylist in Fremont, CA."),
    ("state", "Give me the stats of the Lakers."),  # "stats" is short for statistics, not "state"
])  # fmt: skip
def test_a_flag_the_request_does_not_name_is_not_asked_for(key: str, words: str) -> None:
    assert not asks_for_flag(key, topic_words(words))


@pytest.mark.parametrize(("words", "negates"), [
    ("I'm not concerned about having a garage or in-unit laundry.", True),
    ("Find me a hair stylist in Fremont, CA, and it shouldn't be unisex?", True),
    ("Compare it with a less detailed description of a muscle cell.", True),
    ("I'm talkative and have few artistic interests.", True),
    ("The forecast for the same place, this time without considering human impact.", True),
    ("Can you help me with a few things? Include the match statistics.", False),  # "a few" negates nothing
    ("Find out the population and species of turtles.", False),
])  # fmt: skip
def test_a_request_that_negates_anything_sets_no_flag(words: str, negates: bool) -> None:
    assert says_no(words) is negates


def function(**flags: str) -> JSONObject:
    properties: dict[str, JSONObject] = {"location": {"type": "string"}}
    properties.update({key: {"type": "boolean", "description": text} for key, text in flags.items()})
    return {"name": "turtles", "parameters": {"type": "object", "required": ["location"], "properties": properties}}


FUNCTIONS = {"turtles": function(species="Whether to include species information.", year="Whether to give the year.")}
REQUEST = "Find out the population and species of turtles in the Mississippi river."


def call(**arguments: object) -> ParsedToolCall:
    return ParsedToolCall("turtles", json.dumps(arguments))


@pytest.mark.parametrize("given", [{"species": False}, {}])
def test_a_flag_left_false_or_out_is_set_true(given: dict[str, object]) -> None:
    settled, names = flags_asked_for([call(location="Mississippi", **given)], FUNCTIONS, REQUEST)
    assert json.loads(settled[0].arguments) == {"location": "Mississippi", "species": True}  # "year" is not asked
    assert names == ("species",)


def test_what_the_rule_leaves_alone() -> None:
    already = call(location="Mississippi", species=True)
    assert flags_asked_for([already], FUNCTIONS, REQUEST) == ([already], ())
    both_ways = [call(location="Mississippi", species=True), call(location="Amazon", species=False)]
    assert flags_asked_for(both_ways, FUNCTIONS, REQUEST) == (both_ways, ())  # the model chose per call
    negated = call(location="Mississippi", species=False)
    assert flags_asked_for([negated], FUNCTIONS, "The turtle population, not the species.") == ([negated], ())
    assert flags_asked_for([negated], {}, REQUEST) == ([negated], ())  # an undeclared function: nothing to read
    as_text = call(location="Mississippi", species="false")  # not a boolean: left to the schema check
    assert flags_asked_for([as_text], FUNCTIONS, REQUEST) == ([as_text], ())


def test_every_call_of_a_function_called_several_times_gets_the_flag() -> None:
    calls = [call(location="Galapagos", species=False), call(location="Galapagos")]
    settled, names = flags_asked_for(calls, FUNCTIONS, "The population and species of turtles in 2015 and 2020.")
    assert [json.loads(one.arguments)["species"] for one in settled] == [True, True]
    assert names == ("species",)


def test_the_settled_answer_notes_the_flags_set() -> None:
    notes: ToolNotes = []
    with noting_tools(notes):
        settled = settle_calls([call(location="Mississippi", species=False)], FUNCTIONS, REQUEST, ToolRecord("qwen"),
                               trim_choices=True, drop_unasked_arguments=True, request=REQUEST)
    assert json.loads(settled[0].arguments)["species"] is True
    assert [(note["action"], note["arguments"]) for note in notes] == [("flags_set", ["species"])]


def test_a_sentence_that_negates_nothing_asks_for_a_flag_another_sentence_cannot_negate() -> None:
    """A request of several tasks: a negation in one sentence does not reach the flag asked for in another;
    one in the flag's own sentence does, and a long document (a persona, instructions) sets nothing."""
    given = call(location="Mississippi", species=False)
    several = "I'm not sure where turtles live. Find the population and species of turtles in the Mississippi."
    settled, names = flags_asked_for([given], FUNCTIONS, several)
    assert (json.loads(settled[0].arguments)["species"], names) == (True, ("species",))
    negated_there = "Find the turtles in the Mississippi. Don't list their species!"
    assert flags_asked_for([given], FUNCTIONS, negated_there) == ([given], ())
    document = "You are a helpful agent. " * 12 + "Never guess. You can also include species information."
    assert flags_asked_for([given], FUNCTIONS, document) == ([given], ())
