"""Quantities the user wrote their own way, passed as the function takes them: heights in feet and
inches, coordinates with a hemisphere, compounding frequencies; what is left alone; the settled call noted."""

from __future__ import annotations

import json

import pytest

from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ToolRecord
from voxgate.backends.toolcall_settle import settle_calls
from voxgate.backends.toolcall_units import quantities_as_declared
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject


def functions(height_description: str, key: str = "height") -> dict[str, JSONObject]:
    return {"predict": {"name": "predict", "parameters": {"type": "object", "required": [key, "weight"], "properties": {
        key: {"type": "integer", "description": height_description},
        "weight": {"type": "integer", "description": "Weight of the person in lbs."},
        "unit": {"type": "string", "description": "'imperial' or 'metric'. Default is 'metric'."}}}}}


def call(**arguments: object) -> ParsedToolCall:
    return ParsedToolCall("predict", json.dumps(arguments))


def heights(calls: list[ParsedToolCall]) -> list[object]:
    return [json.loads(one.arguments).get("height", json.loads(one.arguments).get("size")) for one in calls]


@pytest.mark.parametrize(("request_text", "written", "inches"), [
    ("weight 150lbs and height 5ft 10in, lightly active", 5, 70),  # BFCL simple_python_61: the feet alone
    ("I am a 180 lbs, 5'11\" tall individual", 511, 71),  # parallel_multiple_180: written together
    ("I am a 180 lbs, 5'11\" tall individual", 5.11, 71),
    ("he weighs 200 pounds and is 6 feet 2 inches tall", 6, 74),
])  # fmt: skip
def test_part_of_a_height_becomes_the_height_in_inches(request_text: str, written: float, inches: int) -> None:
    settled, names = quantities_as_declared([call(height=written, weight=180)], functions("Height in inches."),
                                            request_text)
    assert (heights(settled), names) == ([inches], ("height",))


def test_a_metric_description_keeps_the_value_unless_the_call_asks_for_imperial() -> None:
    metric = functions("Height of the person in centimeters.")
    request = "a person who weighs 200 pounds and is 6 feet 2 inches tall, using the imperial system"
    assert quantities_as_declared([call(height=6, weight=200)], metric, request)[1] == ()
    settled, names = quantities_as_declared([call(height=6, weight=200, unit="imperial")], metric, request)  # pm_148
    assert (heights(settled), names) == ([74], ("height",))


@pytest.mark.parametrize(("request_text", "written", "description", "key"), [
    ("height 5ft 10in", 70, "Height in inches.", "height"),  # right already
    ("height 5ft 10in", 10, "Height in inches.", "height"),  # not a part the rule knows
    ("height 5ft 10in", 5, "Shoe size.", "size"),  # not a height
    ("height 5ft 10in", 5, "Height in feet.", "height"),  # the description's unit is feet
    ("5ft 10in and 6ft 1in", 5, "Height in inches.", "height"),  # two heights: which one is unclear
    ("a height of 5 meters", 5, "Height in inches.", "height"),  # no feet and inches
])  # fmt: skip
def test_heights_the_rule_leaves_alone(request_text: str, written: int, description: str, key: str) -> None:
    given = call(**{key: written, "weight": 150})
    assert quantities_as_declared([given], functions(description, key), request_text) == ([given], ())


NUMBERS: JSONObject = {"type": "array", "items": {"type": "number"}}
DISTANCE: dict[str, JSONObject] = {"distance": {"name": "distance", "parameters": {"type": "object", "properties": {
    "coord1": NUMBERS, "coord2": NUMBERS, "longitude": {"type": "number"}, "unit": {"type": "string"}}}}}


def test_a_coordinate_written_west_or_south_is_negative() -> None:
    request = "The distance between (33.4484 N, 112.0740 W) and (34.0522 N, 118.2437 W) in miles."  # simple_python_83
    given = ParsedToolCall("distance", json.dumps({"coord1": [33.4484, 112.074], "coord2": [34.0522, 118.2437],
                                                   "unit": "miles"}))
    settled, names = quantities_as_declared([given], DISTANCE, request)
    assert json.loads(settled[0].arguments) == {"coord1": [33.4484, -112.074], "coord2": [34.0522, -118.2437],
                                                "unit": "miles"}
    assert names == ("coord1", "coord2")
    south = ParsedToolCall("distance", json.dumps({"longitude": 33.9}))
    assert json.loads(quantities_as_declared([south], DISTANCE, "Sydney is at 33.9° S.")[0][0].arguments) == {
        "longitude": -33.9}


@pytest.mark.parametrize("request_text", [
    "The point at 33.4484 N, 112.0740 E.",  # north and east stay positive
    "112.074 W of here, and 112.074 east",  # written both ways: unclear
    "Go 112.074 miles west.",  # no hemisphere written after the number
    "Run 112.074 s, then 33.4484 N.",  # a lower-case "s" is seconds
])  # fmt: skip
def test_coordinates_the_rule_leaves_alone(request_text: str) -> None:
    given = ParsedToolCall("distance", json.dumps({"coord1": [33.4484, 112.074]}))
    assert quantities_as_declared([given], DISTANCE, request_text) == ([given], ())


PER_YEAR: JSONObject = {"type": "integer",
                        "description": "The number of times that interest is compounded per year. Default is 1."}
COMPOUND: dict[str, JSONObject] = {"future_value": {"name": "future_value", "parameters": {"type": "object",
    "properties": {"present_value": {"type": "number"}, "compounding_periods_per_year": PER_YEAR}}}}  # fmt: skip


@pytest.mark.parametrize(("request_text", "written", "counted"), [
    ("The future value of $5000 at 5% in 3 years with monthly compounding.", 1, 12),  # simple_python_133
    ("$5000 at 3% for 5 years, compounded quarterly.", 12, 4),
    ("$5000 at 3% for 5 years, compounded quarterly.", 4, 4),  # right already: unchanged
    ("$3000 at 5% compounded twice a year, and $5000 compounded annually.", 1, 1),  # two frequencies: unclear
    ("$5000 at 3% for 5 years.", 1, 1),  # no frequency named
])  # fmt: skip
def test_a_compounding_frequency_is_counted(request_text: str, written: int, counted: int) -> None:
    given = ParsedToolCall("future_value", json.dumps({"present_value": 5000, "compounding_periods_per_year": written}))
    settled, _ = quantities_as_declared([given], COMPOUND, request_text)
    assert json.loads(settled[0].arguments)["compounding_periods_per_year"] == counted


def test_the_settled_answer_notes_the_quantities_read() -> None:
    request = "Predict diabetes for weight 150lbs and height 5ft 10in."
    notes: ToolNotes = []
    with noting_tools(notes):
        settled = settle_calls([call(height=5, weight=150)], functions("Height in inches."), request,
                               ToolRecord("qwen"), trim_choices=True, drop_unasked_arguments=True, request=request)
    assert heights(settled) == [70]
    assert [(note["action"], note["arguments"]) for note in notes] == [("quantities_read", ["height"])]
