"""A bare US city given the state its argument's description asks for: which descriptions ask, which
values get a state and in which form, which stay, and the settled call noted."""

from __future__ import annotations

import json

import pytest

from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_places import cities_with_states, with_state
from voxgate.backends.toolcall_record import ToolRecord
from voxgate.backends.toolcall_settle import settle_calls
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject


def string(description: str) -> JSONObject:
    return {"type": "string", "description": description}


@pytest.mark.parametrize(("value", "description", "placed"), [
    ("Los Angeles", "The city and state, e.g. Los Angeles, CA", "Los Angeles, CA"),  # BFCL simple_python_77
    ("New York", "The city and state, e.g. New York, NY, you should format it as City, State.", "New York, NY"),
    ("Boston", "The location. Specify the location in the format City, State.", "Boston, MA"),
    ("Chicago", "The city, e.g. Seattle, WA", "Chicago, IL"),  # an example with a state code asks too
    ("Chicago", "The city where you are looking for a concert. e.g. Austin, Texas", "Chicago, Illinois"),
    ("san francisco", "City and state, e.g. Austin, TX", "san francisco, CA"),
])  # fmt: skip
def test_a_bare_city_gets_the_state_its_description_asks_for(value: str, description: str, placed: str) -> None:
    assert with_state(value, string(description)) == placed


@pytest.mark.parametrize(("value", "schema"), [
    ("Los Angeles, CA", string("The city and state, e.g. Los Angeles, CA")),  # has one
    ("London", string("The city and state, e.g. London, UK")),  # no US city of the table
    ("LA", string("The city and state, e.g. Los Angeles, CA")),  # a nickname stays as written
    ("Los Angeles", string("The name of the city.")),  # the description asks for no state
    ("Los Angeles", string("The city, e.g. Paris, FR")),  # FR is no US state
    ("Los Angeles", {"type": "string", "description": "City and state.", "enum": ["Los Angeles"]}),
    ("Downtown Los Angeles", string("The city and state, e.g. Los Angeles, CA")),
    ("Washington DC", string("The city and state, e.g. Los Angeles, CA")),
    (5, {"type": "integer", "description": "The city and state"}),
])  # fmt: skip
def test_values_the_rule_leaves_alone(value: object, schema: JSONObject) -> None:
    assert with_state(value, schema) is None


FUNCTIONS: dict[str, JSONObject] = {"restaurant_find_nearby": {"name": "restaurant_find_nearby", "parameters": {
    "type": "object", "required": ["location"], "properties": {
        "location": string("The city and state, e.g. Los Angeles, CA"), "cuisine": string("Cuisine")}}}}


def test_calls_are_rewritten_and_the_settled_answer_notes_it() -> None:
    bare = ParsedToolCall("restaurant_find_nearby", json.dumps({"location": "Los Angeles", "cuisine": "Vegan"}))
    placed, names = cities_with_states([bare], FUNCTIONS)
    assert (json.loads(placed[0].arguments), names) == ({"location": "Los Angeles, CA", "cuisine": "Vegan"},
                                                        ("location",))
    notes: ToolNotes = []
    with noting_tools(notes):
        settled = settle_calls([bare], FUNCTIONS, "Find a vegan restaurant in Los Angeles.", ToolRecord("qwen"),
                               trim_choices=True, drop_unasked_arguments=True)
    assert json.loads(settled[0].arguments)["location"] == "Los Angeles, CA"
    assert [(note["action"], note["arguments"]) for note in notes] == [("states_added", ["location"])]
    untouched, names = cities_with_states([bare], {})  # an undeclared function: nothing to read
    assert (untouched, names) == ([bare], ())
