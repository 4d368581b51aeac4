"""A list argument holding every declared choice, or padded past two named items, cut to the ones the
conversation names: what each
kind of list, schema and request gets, and the adapter's calls, streamed and not."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder, chunk, collect
from voxgate.backends.toolcall_choices import names_item, settled_calls, trimmed_arguments
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcalls import REASON_CHOICES_CUT, FencedToolCallAdapter
from voxgate.core.types import JSONObject

CUISINES = ["Seafood", "Italian", "Indian", "Chinese"]
RESTAURANT: JSONObject = {"name": "restaurant_find", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"},
    "cuisine": {"type": "array", "items": {"type": "string", "enum": CUISINES}},
    "tags": {"type": "array", "items": {"type": "string"}},
}}}
SEAFOOD = "I want a seafood restaurant in Seattle for a group of 5."  # BFCL multiple_90's kind


def test_a_list_of_every_choice_keeps_the_ones_the_request_names() -> None:
    assert trimmed_arguments({"city": "Seattle", "cuisine": CUISINES}, RESTAURANT, SEAFOOD) == (
        {"city": "Seattle", "cuisine": ["Seafood"]}, ("cuisine",))
    both = "Italian or Indian food in Seattle"
    assert trimmed_arguments({"cuisine": CUISINES}, RESTAURANT, both) == ({"cuisine": ["Italian", "Indian"]},
                                                                          ("cuisine",))


def test_lists_that_are_not_every_choice_or_name_none_or_all_are_kept() -> None:
    kept = [
        ({"cuisine": ["Seafood", "Italian"]}, SEAFOOD),  # not every choice: the model chose these
        ({"cuisine": CUISINES}, "Somewhere nice to eat in Seattle"),  # names none
        ({"cuisine": CUISINES}, "seafood, italian, indian or chinese"),  # names all
        ({"cuisine": ["Seafood"]}, SEAFOOD),  # one item
        ({"tags": ["seafood", "cheap"]}, SEAFOOD),  # no enum declared, one item named
        ({"city": "Seattle"}, SEAFOOD),
    ]
    for arguments, text in kept:
        assert trimmed_arguments(arguments, RESTAURANT, text) == (arguments, ())
    assert trimmed_arguments(["not", "an object"], RESTAURANT, SEAFOOD) == (["not", "an object"], ())
    assert trimmed_arguments({"cuisine": CUISINES}, None, SEAFOOD) == ({"cuisine": CUISINES}, ())
    odd: JSONObject = {"name": "f", "parameters": {"properties": {"x": {"type": "array", "items": {"enum": "ab"}}}}}
    assert trimmed_arguments({"x": ["a", "b"]}, odd, "a") == ({"x": ["a", "b"]}, ())


RECIPE: JSONObject = {"name": "recipe_search", "parameters": {"type": "object", "properties": {
    "ingredients": {"type": "array", "items": {"type": "string"}}, "diet": {"type": "string"}}}}
PASTA = "Give me a recipe for a vegetarian pasta with cheese for 2 servings."  # BFCL multiple_184


def test_a_list_padded_past_two_named_items_keeps_the_named_ones() -> None:
    padded = ["Pasta", "Cheese", "Tomato", "Onion", "Garlic", "Salt", "Pepper"]
    assert trimmed_arguments({"ingredients": padded, "diet": "Vegetarian"}, RECIPE, PASTA) == (
        {"ingredients": ["Pasta", "Cheese"], "diet": "Vegetarian"}, ("ingredients",))
    assert trimmed_arguments({"ingredients": padded}, None, PASTA) == ({"ingredients": padded}, ())  # no schema
    kept = [
        ["Pasta", "Tomato", "Basil"],  # one named item: a category said in other words may stand for the rest
        ["Pasta", "Cheese"],  # every item named
        ["Tomato", "Basil"],  # none named
        ["Pasta", "Cheese", 3],  # not a list of strings
    ]
    for ingredients in kept:
        assert trimmed_arguments({"ingredients": ingredients}, RECIPE, PASTA) == ({"ingredients": ingredients}, ())


def test_an_item_is_named_by_one_of_its_words_on_five_letters() -> None:
    stems = {"glute", "free", "carbs", "g", "pets"}
    assert names_item(stems, "Gluten-free")
    assert not names_item(stems, "Carbohydrates")  # "carbo" is not "carbs"
    assert names_item(stems, "G")  # an item's only word counts at any length
    assert not names_item(stems, "Pet-friendly")  # "pet" is not "pets"; "friendly" absent
    assert not names_item(stems, "--")


def test_settled_calls_cut_each_call_and_say_which_arguments() -> None:
    calls = [ParsedToolCall("restaurant_find", json.dumps({"cuisine": CUISINES})), ParsedToolCall("x", "not json"),
             ParsedToolCall("restaurant_find", '{"city": "Seattle"}')]
    settled, cut = settled_calls(calls, {"restaurant_find": RESTAURANT}, SEAFOOD)
    assert [json.loads(c.arguments) if c.name != "x" else c.arguments for c in settled] == [
        {"cuisine": ["Seafood"]}, "not json", {"city": "Seattle"}]
    assert settled[2] is calls[2]
    assert cut == ("cuisine",)


def restaurant_body(choice: object = "auto") -> JSONObject:
    return {"messages": [{"role": "user", "content": SEAFOOD}], "tool_choice": choice,
            "tools": [{"type": "function", "function": RESTAURANT}]}


EVERY = json.dumps({"name": "restaurant_find", "arguments": {"city": "Seattle", "cuisine": CUISINES}})


async def test_the_adapter_cuts_a_list_of_every_choice_and_logs_why(caplog: pytest.LogCaptureFixture) -> None:
    inner = AnswersInOrder(EVERY, "", "")
    with caplog.at_level(logging.INFO, logger="voxgate.tool_calls"):
        answer = await FencedToolCallAdapter(inner).complete(restaurant_body())
    arguments = json.loads(answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"city": "Seattle", "cuisine": ["Seafood"]}
    assert [record.voxgate_tool_check for record in caplog.records] == [REASON_CHOICES_CUT]  # type: ignore[attr-defined]
    for adapter, body in ((FencedToolCallAdapter(AnswersInOrder(EVERY, "", ""), trim_choices=False), restaurant_body()),
                          (FencedToolCallAdapter(AnswersInOrder(EVERY, "", "")), restaurant_body("required"))):
        answer = await adapter.complete(body)  # off, or a call the client demanded: as the model wrote it
        arguments = json.loads(answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
        assert arguments["cuisine"] == CUISINES


async def test_a_streamed_list_of_every_choice_is_cut_too() -> None:
    class Streams(AnswersInOrder):
        async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
            self.sent.append(body)
            for item in (chunk({"content": EVERY}), chunk({}, "stop")):
                yield item

    out = await collect(FencedToolCallAdapter(Streams(EVERY, "", "")).stream({**restaurant_body(), "stream": True}))
    calls = [call for o in out if o["choices"] for call in o["choices"][0]["delta"].get("tool_calls") or []]
    assert json.loads(calls[0]["function"]["arguments"])["cuisine"] == ["Seafood"]
