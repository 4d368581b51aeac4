"""A source and a target given the other way round from the user's "from A to B": which pairs are
swapped, which are left, and the adapter doing it under `trim_choices`, noted."""

from __future__ import annotations

import json

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_direction import source_target_pairs, swapped_arguments
from voxgate.backends.toolcall_record import ACTION_DIRECTIONS_SWAPPED, REASON_DIRECTIONS_SWAPPED
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

TRAFFIC = "How much traffic should I expect from Las Vegas to Los Angeles this weekend?"
REVERSED = {"start_location": "Los Angeles", "end_location": "Las Vegas", "time_period": "weekend"}


def test_pairs_are_argument_names_that_differ_in_a_source_and_a_target_word() -> None:
    assert source_target_pairs({"start_location": 1, "end_location": 2, "time": 3}) == [
        ("start_location", "end_location")]
    assert source_target_pairs({"from_currency": 1, "to_currency": 2, "amount": 3}) == [
        ("from_currency", "to_currency")]
    assert source_target_pairs({"origin": 1, "destination": 2}) == [("origin", "destination")]
    assert source_target_pairs({"startDate": 1, "endDate": 2}) == [("startDate", "endDate")]
    assert source_target_pairs({"start_location": 1, "end_date": 2}) == []  # not the same thing
    assert source_target_pairs({"source": 1, "value": 2}) == []


def test_the_ends_are_swapped_to_the_users_from_a_to_b() -> None:
    """BFCL multiple_66 (the 0.5B's call)."""
    assert swapped_arguments(REVERSED, TRAFFIC) == (
        {"start_location": "Las Vegas", "end_location": "Los Angeles", "time_period": "weekend"},
        ("start_location", "end_location"))
    money = {"amount": 100, "from_currency": "USD", "to_currency": "EUR"}
    assert swapped_arguments(money, "Convert 100 from EUR to USD.")[0] == {
        "amount": 100, "from_currency": "EUR", "to_currency": "USD"}
    # a value with more words than the span ("Las Vegas, NV") still names it
    assert swapped_arguments({"origin": "Los Angeles, CA", "destination": "Las Vegas, NV"}, TRAFFIC)[1] == (
        "origin", "destination")


def test_calls_already_the_users_way_or_not_named_by_the_span_are_left() -> None:
    right = {"start_location": "Las Vegas", "end_location": "Los Angeles"}
    assert swapped_arguments(right, TRAFFIC) == (right, ())
    assert swapped_arguments(REVERSED, "How much traffic between Las Vegas and Los Angeles?") == (REVERSED, ())
    assert swapped_arguments({"start_location": "Boston", "end_location": "Las Vegas"}, TRAFFIC)[1] == ()
    same = {"start_location": "Paris", "end_location": "Paris"}  # a round trip names both ends alike
    assert swapped_arguments(same, "A loop from Paris to Paris.") == (same, ())
    assert swapped_arguments(["not", "a dict"], TRAFFIC) == (["not", "a dict"], ())


async def test_the_adapter_swaps_under_trim_choices_and_notes_it() -> None:
    answer = json.dumps({"name": "traffic_estimate", "arguments": REVERSED})
    function = {"name": "traffic_estimate", "parameters": {"type": "object", "properties": {
        key: {"type": "string"} for key in REVERSED}, "required": ["start_location", "end_location"]}}
    body: JSONObject = {"messages": [{"role": "user", "content": TRAFFIC}],
                        "tools": [{"type": "function", "function": function}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete(body)
    arguments = json.loads(out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert (arguments["start_location"], arguments["end_location"]) == ("Las Vegas", "Los Angeles")
    assert [note for note in notes if note["action"] == ACTION_DIRECTIONS_SWAPPED] == [
        {"model": "qwen", "action": ACTION_DIRECTIONS_SWAPPED, "reason": REASON_DIRECTIONS_SWAPPED,
         "functions": ["traffic_estimate"], "arguments": ["start_location", "end_location"]}]
    off = await FencedToolCallAdapter(AnswersInOrder(answer, ""), trim_choices=False).complete(body)
    assert json.loads(off["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == REVERSED
