"""A request that names one declared function by every word of its name ("What is the musical scale
associated with C sharp major?" with `musical_scale` declared) answered in words: which functions count
as named, and the adapter asking for that call, making it (grounded, fitting) or keeping the words."""

from __future__ import annotations

import json

from tests.unit.backends.test_toolcall_described import Answers, collect
from voxgate.backends.toolcall_plan import plan_request
from voxgate.backends.toolcall_record import ACTION_DESCRIBED_CALL, REASON_DESCRIBED_MADE
from voxgate.backends.toolcall_relevance import named_by_request, topic_words
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject


def tool(name: str, *required: str) -> JSONObject:
    properties = {key: {"type": "string"} for key in (*required, "scale_type")}
    return {"type": "function", "function": {"name": name, "description": "Facts.", "parameters": {
        "type": "object", "properties": properties, "required": list(required)}}}


TOOLS = [tool("musical_scale", "key"), tool("walmart_purchase", "item")]
ASKED = "What is the musical scale associated with C sharp major?"
MESSAGES = [{"role": "user", "content": ASKED}]
WORDS = "The musical scale associated with C sharp major is major."
WRITTEN = '"key": "C#", "scale_type": "major"}}'  # after the started call, C# from "C sharp"


def test_a_function_is_named_by_every_word_of_its_name_two_at_least() -> None:
    words = topic_words(ASKED)
    assert named_by_request(["musical_scale", "walmart_purchase"], words) == "musical_scale"
    assert named_by_request(["musical_scale", "scale_musical"], words) is None  # two named: which one?
    assert named_by_request(["scale"], words) is None  # one word names too little
    assert named_by_request(["search_scale"], words) is None  # a generic verb leaves one word
    assert named_by_request(["musical_instrument"], words) is None  # "instrument" is not asked for
    assert named_by_request(["poker_probability_full_house"],
                            topic_words("What is the probability of getting a full house in poker?")) == (
        "poker_probability_full_house")
    assert named_by_request(["solve_quadratic_equation", "convert_rgb_to_hex"], topic_words(
        "What's the root of quadratic equation with coefficients 2, 3 and -4?")) == "solve_quadratic_equation"


def test_only_words_to_a_fresh_auto_request_look_for_a_named_function() -> None:
    assert plan_request({"messages": MESSAGES, "tools": TOOLS}).function_named(WORDS) == "musical_scale"
    assert plan_request({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "none"}).function_named(WORDS) is None
    call = '<tool_call>\n{"name": "musical_scale", "arguments": {"key": "C#"}}\n</tool_call>'
    assert plan_request({"messages": MESSAGES, "tools": TOOLS}).function_named(call) is None  # already a call
    assert plan_request({"messages": MESSAGES, "tools": TOOLS}).function_named("Which key? ") is None  # asks back


async def test_words_to_a_request_naming_a_function_are_replaced_by_its_call() -> None:
    inner = Answers(WORDS, WRITTEN, "", "")
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    message = answer["choices"][0]["message"]
    assert message["content"] is None  # the unchecked answer in words is dropped: the call gives it
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("musical_scale", {"key": "C#", "scale_type": "major"})]
    assert inner.sent[1]["messages"][-1]["content"].endswith('"name": "musical_scale", "arguments": {')
    assert notes[0] == {"model": "qwen", "action": ACTION_DESCRIBED_CALL, "reason": REASON_DESCRIBED_MADE,
                        "functions": ["musical_scale"], "made": True, "named_by_request": True}


async def test_a_named_call_that_invents_its_values_or_misses_a_required_one_keeps_the_words() -> None:
    for written in ('"key": "F minor"}}', '"scale_type": "major"}}'):  # made up; `key` (required) missing
        inner = Answers(WORDS, written)
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": WORDS}
        assert inner.calls == 2


async def test_streamed_words_to_a_request_naming_a_function_are_followed_by_its_call() -> None:
    inner = Answers(WORDS, WRITTEN, "", "")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    said = "".join(c["choices"][0]["delta"].get("content") or "" for c in out if c["choices"])
    assert said == WORDS  # gone out before the call was asked for
    calls = [tc for c in out if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [tc["function"]["name"] for tc in calls if "name" in tc["function"]] == ["musical_scale"]
