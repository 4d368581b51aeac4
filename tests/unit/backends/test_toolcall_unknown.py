"""A call to a function the request does not declare is answered "no such function" upstream, once; a
second answer that calls declared functions is the answer, anything else leaves the first
(`toolcall_unknown`, `tools.answer_unknown_calls`): off, the decision note, and the same in a stream,
where the answer is held."""

from __future__ import annotations

import json
from contextlib import nullcontext

from tests.unit.backends.test_toolcall_after_words import StreamsInOrder, content_of, streamed
from tests.unit.backends.test_toolcall_continuation import AnswersInOrder, call_text
from voxgate.backends.toolcall_unknown import unknown_call_body, unknown_calls
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.escalation import escalation_may_follow
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

MOVE = '```json\n{\n  "name": "move",\n  "arguments": {"file_name": "report.pdf", "to": "temp"}\n}\n```'
"""Measured: the 0.5B on BFCL multi_turn_base_0, where the tool is `mv`."""
TOOLS = [{"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}}}}} for name in ("get_weather", "get_time")]
BODY: JSONObject = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS}
PARIS = call_text("get_weather", city="Paris")


def test_unknown_calls_are_the_undeclared_names_written_when_no_declared_call_is() -> None:
    declared = {"get_weather", "mv"}
    assert unknown_calls(MOVE, declared) == ["move"]
    assert unknown_calls(f"{MOVE}\nor\n{MOVE}", declared) == ["move"]  # each name once
    assert unknown_calls(PARIS, declared) == []  # a call to a declared function: the answer
    assert unknown_calls("It is sunny in Paris.", declared) == []
    assert unknown_calls('{"name": "Ada", "born": 1815}', declared) == []
    dotted = '{"name": "get.weather", "arguments": {"city": "Paris"}}'
    assert unknown_calls(dotted, declared) == []  # the declared `get_weather`, spelt with a dot: a call


def test_the_body_asked_again_holds_the_answer_and_an_error_naming_the_declared_functions() -> None:
    body = {"model": "qwen", "messages": [{"role": "user", "content": "Move it."}], "temperature": 0}
    again = unknown_call_body(body, MOVE, ["move"], {"mv", "cd"})
    assert again["messages"][:1] == body["messages"]
    assert again["messages"][1] == {"role": "assistant", "content": MOVE}
    error = again["messages"][2]["content"]
    assert error.startswith("<tool_response>\n")
    assert error.endswith("\n</tool_response>")
    assert json.loads(error.split("\n")[1]) == {
        "error": 'no function named "move". The functions are: cd, mv. Call one of them, or answer in plain words.'}
    assert again["temperature"] == 0
    assert body["messages"] == [{"role": "user", "content": "Move it."}]  # not changed in place


async def test_an_unknown_call_is_answered_and_the_second_answer_is_made_a_call() -> None:
    inner = AnswersInOrder(MOVE, PARIS, "")
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner, force_calls=False).complete(BODY)
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Paris"})]
    assert '"no function named \\"move\\". The functions are: get_time, get_weather.' in inner.sent[1]["messages"][-1][
        "content"]
    assert inner.sent[2]["messages"][-3]["content"] == MOVE  # the continuation follows the exchange
    assert answer["usage"]["completion_tokens"] == 6  # the three requests
    assert notes[0] == {"model": "qwen", "action": "unknown_function_answered", "unknown": 1, "made": True,
                        "reason": ("the answer wrote out a call to a function the request does not declare; the"
                                   " model was told so, with the declared names, and asked again (its second answer"
                                   " kept if it made calls)")}


async def test_before_a_later_stage_a_second_answer_without_a_declared_call_leaves_the_first() -> None:
    echoed = '{"name": "no function named \\"move\\". The functions are: get_time", "arguments": {}}'
    off_topic = call_text("get_time", city="Paris")  # declared, but nothing of the weather asked for
    for second in (MOVE, echoed, "I cannot move files.", off_topic):  # measured: the 0.5B echoed the error
        inner = AnswersInOrder(MOVE, second)
        notes: ToolNotes = []
        with noting_tools(notes), escalation_may_follow():
            answer = await FencedToolCallAdapter(inner).complete(BODY)
        assert answer["choices"][0]["message"]["content"] == MOVE, second  # the cascade's check escalates it
        assert answer["usage"]["completion_tokens"] == 4  # both requests counted
        assert len(inner.sent) == 2  # answered once, not again
        assert notes[0]["made"] is False
        assert "words" not in notes[0]
    off = AnswersInOrder(MOVE)
    answer = await FencedToolCallAdapter(off, answer_unknown_calls=False).complete(BODY)
    assert answer["choices"][0]["message"]["content"] == MOVE
    assert len(off.sent) == 1


async def test_where_no_later_stage_can_replace_it_the_request_is_asked_again_in_words() -> None:
    words = "I can only get the weather or the time; which city?"
    for last_stage in (False, True):  # a model asked directly; a cascade's last stage
        inner = AnswersInOrder(MOVE, MOVE, words)
        notes: ToolNotes = []
        with noting_tools(notes), escalation_may_follow(False) if last_stage else nullcontext():
            answer = await FencedToolCallAdapter(inner).complete(BODY)
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": words}
        assert answer["usage"]["completion_tokens"] == 6  # the three requests
        assert "<tools>" not in json.dumps(inner.sent[2])  # asked without the signatures
        assert inner.sent[2]["messages"][-1] == BODY["messages"][-1]  # the request itself, not the exchange
        assert (notes[0]["made"], notes[0]["words"]) == (False, True)
    bare = MOVE.removeprefix("```json\n").removesuffix("\n```")
    streamed_inner = StreamsInOrder(bare, bare, words)
    out = [chunk async for chunk in FencedToolCallAdapter(streamed_inner).stream(BODY)]
    assert content_of(out) == words  # nothing of the made-up call reached the client
    assert len(streamed_inner.sent) == 3


async def test_a_streamed_unknown_call_is_answered_and_the_second_answer_streams_as_calls() -> None:
    bare = MOVE.removeprefix("```json\n").removesuffix("\n```")
    for first in (bare, MOVE):
        inner = StreamsInOrder(first, PARIS, "")
        notes: ToolNotes = []
        with noting_tools(notes):
            out = [chunk async for chunk in FencedToolCallAdapter(inner, force_calls=False).stream(BODY)]
        assert content_of(out) == ""  # the made-up call never goes out as text
        calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in out if c["choices"] and "tool_calls" in c[
            "choices"][0]["delta"]]
        assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
            ("get_weather", {"city": "Paris"})]
        assert [c["choices"][0]["finish_reason"] for c in out if c["choices"]][-1] == "tool_calls"
        assert {c["id"] for c in out} == {"first"}  # one answer to the client
        assert "no function named" in inner.sent[1]["messages"][-1]["content"]
        assert inner.sent[2]["messages"][-3]["content"] == first  # the continuation follows the exchange
        assert out[-1]["usage"]["completion_tokens"] == 3 + 2 + 2  # the stream, the second answer, the continuation
        assert notes[0]["action"] == "unknown_function_answered"
        assert notes[0]["made"] is True


async def test_before_a_later_stage_a_streamed_unknown_call_whose_second_answer_is_no_call_is_released() -> None:
    bare = MOVE.removeprefix("```json\n").removesuffix("\n```")
    for second in (bare, "I cannot move files.", f"Sure.\n{PARIS}"):  # a stream's held text takes calls only
        inner = StreamsInOrder(bare, second)
        notes: ToolNotes = []
        with noting_tools(notes), escalation_may_follow():
            out = [chunk async for chunk in FencedToolCallAdapter(inner).stream(BODY)]
        assert content_of(out) == bare, second  # as it came (the cascade's check escalates it)
        assert len(inner.sent) == 2
        assert out[-1]["usage"]["completion_tokens"] == 3 + 2  # both requests counted
        assert notes[0]["made"] is False
    off = StreamsInOrder(bare, PARIS)
    out = [chunk async for chunk in FencedToolCallAdapter(off, answer_unknown_calls=False).stream(BODY)]
    assert content_of(out) == bare
    assert len(off.sent) == 1
    assert out == streamed("first", bare, 3)  # released exactly as it arrived
