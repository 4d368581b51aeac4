"""A height the user gave in feet and inches, passed as inches where the model passed part of it:
which values are rewritten, which arguments and requests are left alone, and the settled call noted."""

from __future__ import annotations

import json

import pytest

from voxgate.backends.toolcall_heights import heights_in_inches
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ToolRecord
from voxgate.backends.toolcall_settle import settle_calls
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
    settled, names = heights_in_inches([call(height=written, weight=180)], functions("Height in inches."), request_text)
    assert (heights(settled), names) == ([inches], ("height",))


def test_a_metric_description_keeps_the_value_unless_the_call_asks_for_imperial() -> None:
    metric = functions("Height of the person in centimeters.")
    request = "a person who weighs 200 pounds and is 6 feet 2 inches tall, using the imperial system"
    assert heights_in_inches([call(height=6, weight=200)], metric, request)[1] == ()
    settled, names = heights_in_inches([call(height=6, weight=200, unit="imperial")], metric, request)  # pm_148
    assert (heights(settled), names) == ([74], ("height",))


@pytest.mark.parametrize(("request_text", "written", "description", "key"), [
    ("height 5ft 10in", 70, "Height in inches.", "height"),  # right already
    ("height 5ft 10in", 10, "Height in inches.", "height"),  # not a part the rule knows
    ("height 5ft 10in", 5, "Shoe size.", "size"),  # not a height
    ("height 5ft 10in", 5, "Height in feet.", "height"),  # the description's unit is feet
    ("5ft 10in and 6ft 1in", 5, "Height in inches.", "height"),  # two heights: which one is unclear
    ("a height of 5 meters", 5, "Height in inches.", "height"),  # no feet and inches
])  # fmt: skip
def test_what_the_rule_leaves_alone(request_text: str, written: int, description: str, key: str) -> None:
    given = call(**{key: written, "weight": 150})
    assert heights_in_inches([given], functions(description, key), request_text) == ([given], ())


def test_the_settled_answer_notes_the_heights_rewritten() -> None:
    request = "Predict diabetes for weight 150lbs and height 5ft 10in."
    notes: ToolNotes = []
    with noting_tools(notes):
        settled = settle_calls([call(height=5, weight=150)], functions("Height in inches."), request,
                               ToolRecord("qwen"), trim_choices=True, drop_unasked_arguments=True, request=request)
    assert heights(settled) == [70]
    assert [(note["action"], note["arguments"]) for note in notes] == [("heights_in_inches", ["height"])]
