"""A call cut short inside a runaway list is closed after the list's last whole item, its repeats dropped
(`toolcall_repair`); any other cut is left alone. Through the adapter: made a call, streamed or not, and
noted; the cascade's tool check escalates it like a call cut short."""

from __future__ import annotations

import json

import pytest

from tests.unit.backends.test_toolcall_after_words import StreamsInOrder, content_of
from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_record import REASON_REPAIRED, repaired_in
from voxgate.backends.toolcall_repair import repaired_calls
from voxgate.backends.toolcall_stream import ToolCallStreamRewriter
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

DECLARED = {"post_tweet", "get_weather"}
RUNAWAY = '{"name": "post_tweet", "arguments": {"content": "Hi", "tags": ["#a", "#b", "#a", "#b", "#a", "#b", "#'
"""As measured: the 1.5B on BFCL multi_turn_base_175, `tags` cycling until the token limit."""


@pytest.mark.parametrize("text", [
    RUNAWAY,
    f"<tool_call>\n{RUNAWAY}",
    f"```json\n{RUNAWAY}",
    RUNAWAY.removesuffix(', "#'),  # cut right after a whole item
])
def test_a_runaway_list_is_closed_after_its_last_whole_item_without_repeats(text: str) -> None:
    calls = repaired_calls(text, DECLARED)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("post_tweet", {"content": "Hi", "tags": ["#a", "#b"]})]


def test_only_the_cut_list_loses_its_repeats() -> None:
    text = '{"name": "post_tweet", "arguments": {"counts": [1, 1, 1], "tags": ["x", "y", "x", "y", "x", "y'
    calls = repaired_calls(text, DECLARED)
    assert [json.loads(c.arguments) for c in calls] == [{"counts": [1, 1, 1], "tags": ["x", "y"]}]
    commas = '{"name": "post_tweet", "arguments": {"tags": ["a,b", "a,b", "a,b", "a,b'  # commas inside strings
    assert len(repaired_calls(commas, DECLARED)) == 1


@pytest.mark.parametrize("text", [
    '{"name": "post_tweet", "arguments": {"tags": ["#a", "#b", "#c", "#d", "#e',  # no repeats: maybe a real list
    '{"name": "post_tweet", "arguments": {"content": "Hi, there, and',  # cut inside a string
    '{"name": "post_tweet", "arguments": {"tags": ["#a", "#a", "#a", "#a"], "mentions": ["x',  # that list closed
    '{"name": "post_tweet", "arguments": {"tags": [{"t": 1}, {"t": 1}, {"t": 1}, {"t',  # items are objects
    '{"name": "invented", "arguments": {"tags": ["#a", "#a", "#a", "#a", "#',  # no declared function
    '{"name": "post_tweet", "arguments": {"tags": ["#a", "#a", "#a"]}}',  # a whole call: nothing to repair
    "It is sunny, [1, 1, 1, 1",  # words
])
def test_any_other_text_is_left_alone(text: str) -> None:
    assert repaired_calls(text, DECLARED) == []


TOOLS = [{"type": "function", "function": {"name": "post_tweet", "parameters": {"type": "object", "properties": {
    "content": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}}}]
BODY: JSONObject = {"messages": [{"role": "user", "content": 'Tweet "Hi" with the tags #a and #b.'}], "tools": TOOLS}


async def test_the_adapter_makes_the_repaired_call_streamed_or_not_and_notes_it() -> None:
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(AnswersInOrder(RUNAWAY, ""), force_calls=False).complete(BODY)
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("post_tweet", {"content": "Hi", "tags": ["#a", "#b"]})]
    assert answer["choices"][0]["message"]["content"] is None
    assert notes[0] == {"model": "qwen", "action": "call_repaired", "functions": ["post_tweet"],
                        "reason": REASON_REPAIRED}
    assert repaired_in(notes, "qwen")
    assert not repaired_in(notes, "other")
    streamed = [c async for c in FencedToolCallAdapter(StreamsInOrder(RUNAWAY, ""), force_calls=False).stream(BODY)]
    assert content_of(streamed) == ""  # no broken JSON reaches the client
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in streamed if c["choices"] and "tool_calls" in c[
        "choices"][0]["delta"]]
    assert [json.loads(d["function"]["arguments"])["tags"] for d in deltas] == [["#a", "#b"]]


async def test_a_cut_without_a_runaway_list_stays_text_and_no_note() -> None:
    cut = '{"name": "post_tweet", "arguments": {"content": "Hi, there'
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(AnswersInOrder(cut)).complete(BODY)
    assert answer["choices"][0]["message"]["content"] == cut  # the cascade's check escalates it (call_cut_short)
    assert not repaired_in(notes, "qwen")



def test_held_text_replaced_goes_out_as_the_new_calls_with_the_held_finish() -> None:
    rewriter = ToolCallStreamRewriter({"post_tweet"})
    for delta, finish in (({"content": "{"}, None), ({"content": '"name": "made_up"'}, None), ({}, "length")):
        assert rewriter.feed({"id": "c", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}) == []
    rewriter.replace_held_text('{"name": "post_tweet", "arguments": {}}')
    out = rewriter.finish()
    assert [c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] for c in out[:1]] == ["post_tweet"]
    assert [c["choices"][0]["finish_reason"] for c in out[1:]] == ["tool_calls"]
    assert all(not c["choices"][0]["delta"].get("content") for c in out)  # nothing of the held text


def test_whole_calls_before_a_broken_one_are_kept_and_the_broken_one_dropped() -> None:
    """Measured (BFCL multi_turn_base_175, 2026-12-05 01:57, `--turns-out`): the 1.5B's whole `post_tweet`,
    then `retweet` with a placeholder for the id the first call's result will give."""
    text = ('{"name": "post_tweet", "arguments": {"content": "Loved my flight journey! #TravelDiaries", "tags":'
            ' ["#TravelDiaries"], "mentions": ["@john"]}}\n'
            '{"name": "get_weather", "arguments": {"tweet_id": <tweet-id>}}')
    calls = repaired_calls(text, DECLARED)
    assert [(c.name, json.loads(c.arguments)["tags"]) for c in calls] == [("post_tweet", ["#TravelDiaries"])]
    assert repaired_calls(f"<tool_call>\n{text}", DECLARED) == calls
