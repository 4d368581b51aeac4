"""An answer continued after its tool calls: the continuation request, the calls it may add, and
the adapter over a backend that answers the first request and its continuation differently."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator

from tests.support.chat_backends import ScriptedChatBackend
from voxgate.backends.toolcall_continuation import (
    CONTINUATION_MAX_TOKENS,
    FORCED_MAX_TOKENS,
    FORCED_START,
    MAX_CALLS,
    add_usage,
    continuation_body,
    forced_call,
    forced_call_body,
    further_calls,
)
from voxgate.backends.toolcall_parser import ParsedToolCall, parse_leading_tool_calls
from voxgate.backends.toolcall_record import ACTION_CALLS_DROPPED, REASON_CALLS_DROPPED
from voxgate.backends.toolcall_settle import without_made_up_requests
from voxgate.backends.toolcalls import FencedToolCallAdapter, plan_request
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

DECLARED = frozenset({"get_weather", "get_time"})
BOSTON = ParsedToolCall("get_weather", '{"city": "Boston"}')
PARIS = ParsedToolCall("get_weather", '{"city": "Paris"}')
TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {
        key: {"type": "string"}}}}}
    for name, key in (("get_weather", "city"), ("get_time", "tz"))
]
MESSAGES = [{"role": "user", "content": "Weather in Boston and in Paris?"}]


def call_text(name: str, **arguments: str) -> str:
    return json.dumps({"name": name, "arguments": arguments})


# --- the pure pieces -------------------------------------------------------------------------

def test_continuation_starts_the_answer_with_the_calls_as_tool_call_blocks() -> None:
    body: JSONObject = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0, "max_tokens": 4000,
                        "stream": True, "response_format": {"type": "json_schema"}, "logprobs": True}
    continued = continuation_body(body, [BOSTON, PARIS])
    assert continued["messages"][:-1] == body["messages"]
    assert continued["messages"][-1] == {"role": "assistant", "content": (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Boston"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n')}
    assert continued["max_tokens"] == CONTINUATION_MAX_TOKENS
    assert continued["temperature"] == 0
    assert continued["logprobs"] is True
    assert "stream" not in continued
    assert "response_format" not in continued  # a forced call's grammar would demand yet another call
    assert continuation_body({**body, "max_tokens": 30}, [BOSTON])["max_tokens"] == 30


def test_further_calls_are_the_new_leading_calls() -> None:
    text = f"{call_text('get_weather', city='Paris')}\n</tool_call>\n<tool_call>\n{call_text('get_time', tz='CET')}"
    assert further_calls(text, [BOSTON], DECLARED) == [PARIS, ParsedToolCall("get_time", '{"tz": "CET"}')]


def test_repeats_prose_and_undeclared_calls_add_nothing() -> None:
    repeat = '{"name": "get_weather", "arguments": {"city": "Boston"}}'
    assert further_calls("", [BOSTON], DECLARED) == []
    assert further_calls(repeat, [BOSTON], DECLARED) == []
    assert further_calls(f"{call_text('get_weather', city='Paris')}\n{call_text('get_weather', city='Paris')}",
                         [BOSTON], DECLARED) == [PARIS]
    assert further_calls("That is all the calls needed.", [BOSTON], DECLARED) == []
    assert further_calls(call_text("rm_rf"), [BOSTON], DECLARED) == []
    # the calls before something else still count
    assert further_calls(f"{call_text('get_weather', city='Paris')}\nDone!", [BOSTON], DECLARED) == [PARIS]


def test_further_calls_stop_at_max_calls() -> None:
    many = "\n".join(call_text("get_weather", city=f"city {index}") for index in range(20))
    assert len(further_calls(many, [BOSTON], DECLARED)) == MAX_CALLS - 1


def test_leading_calls_stop_at_the_first_thing_that_is_not_one() -> None:
    text = f"```json\n{call_text('get_weather', city='Paris')}\n```\n{call_text('nope')}\n{call_text('get_time')}"
    assert parse_leading_tool_calls(text, DECLARED) == [PARIS]
    assert parse_leading_tool_calls('{"name": "get_weather", "arguments": {"city": "Pa', DECLARED) == []
    assert parse_leading_tool_calls("Sure.", DECLARED) == []


def test_add_usage_adds_the_counts_another_request_reported() -> None:
    payload: JSONObject = {"usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14, "note": "x"}}
    add_usage(payload, {"prompt_tokens": 40, "completion_tokens": 3, "total_tokens": 43})
    assert payload["usage"] == {"prompt_tokens": 45, "completion_tokens": 12, "total_tokens": 57, "note": "x"}
    partial: JSONObject = {"usage": {"prompt_tokens": 5}}
    add_usage(partial, {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": "many"})
    assert partial["usage"] == {"prompt_tokens": 6, "completion_tokens": 2}  # a count it lacked starts at 0


def test_add_usage_leaves_payloads_without_usage_and_non_usage_alone() -> None:
    for payload, more in (({"choices": []}, {"prompt_tokens": 1}), ({"usage": None}, {"prompt_tokens": 1}),
                          ({"usage": {"prompt_tokens": 5}}, None), ({"usage": {"prompt_tokens": 5}}, [1, 2])):
        before: object = copy.deepcopy(payload)
        add_usage(payload, more)
        assert payload == before


def test_add_usage_replaces_the_usage_object_instead_of_changing_a_shared_one() -> None:
    shared = {"prompt_tokens": 5, "completion_tokens": 1}
    first: JSONObject = {"usage": shared}
    add_usage(first, {"prompt_tokens": 2})
    assert shared == {"prompt_tokens": 5, "completion_tokens": 1}
    assert first["usage"] == {"prompt_tokens": 7, "completion_tokens": 1}


# --- through the adapter ---------------------------------------------------------------------

class TwoAnswerBackend(ScriptedChatBackend):
    """Answers the first request with `first` and every later one (the continuation) with `later`."""

    def __init__(self, first: JSONObject, later: JSONObject, chunks: list[JSONObject] | None = None) -> None:
        super().__init__("qwen", answer=first, chunks=chunks or [])
        self.later = later

    async def complete(self, body: JSONObject) -> JSONObject:
        answer = await super().complete(body)
        return answer if len(self.sent) == 1 else copy.deepcopy(self.later)


def completion(content: str, tokens: int = 9) -> JSONObject:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "qwen",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                     "logprobs": {"content": [{"token": "x", "logprob": -0.1}] * tokens}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens},
    }


async def test_a_continued_answer_makes_the_call_the_model_left_out() -> None:
    first = f"```json\n{call_text('get_weather', city='Boston')}\n```"
    inner = TwoAnswerBackend(completion(first), completion(call_text("get_weather", city="Paris"), 4))
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS, "max_tokens": 80})
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [json.loads(call["function"]["arguments"])["city"] for call in calls] == ["Boston", "Paris"]
    assert len({call["id"] for call in calls}) == 2
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["usage"] == {"prompt_tokens": 10, "completion_tokens": 13, "total_tokens": 23}
    assert len(answer["choices"][0]["logprobs"]["content"]) == 13
    assert inner.sent[1]["messages"][-1]["content"].startswith("<tool_call>\n")
    assert inner.sent[1]["max_tokens"] == 80


async def test_text_answers_and_parallel_tool_calls_false_are_not_continued() -> None:
    for body, first in (
        ({"messages": MESSAGES, "tools": TOOLS}, "It is sunny in both."),
        ({"messages": MESSAGES, "tools": TOOLS, "parallel_tool_calls": False}, call_text("get_weather", city="Boston")),
    ):
        inner = TwoAnswerBackend(completion(first), completion(call_text("get_weather", city="Paris")))
        answer = await FencedToolCallAdapter(inner).complete(body)
        assert inner.calls == 1
        made = answer["choices"][0]["message"].get("tool_calls") or []
        assert len(made) == (1 if "parallel_tool_calls" in body else 0)


async def test_a_named_tool_choice_keeps_only_calls_to_that_function() -> None:
    inner = TwoAnswerBackend(completion(call_text("get_time", tz="CET")),
                             completion(f"{call_text('get_weather', city='Paris')}\n{call_text('get_time', tz='UTC')}"))
    choice = {"type": "function", "function": {"name": "get_time"}}
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS, "tool_choice": choice})
    assert "response_format" in inner.sent[0]
    assert "response_format" not in inner.sent[1]
    assert [call["function"]["name"] for call in answer["choices"][0]["message"]["tool_calls"]] == ["get_time"]


def chunk(delta: JSONObject | None = None, finish_reason: str | None = None) -> JSONObject:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 8, "model": "qwen", "choices": choices}


async def collect(stream: AsyncIterator[JSONObject]) -> list[JSONObject]:
    return [item async for item in stream]


async def test_a_streamed_call_is_continued_too() -> None:
    pieces = ["<tool_call>\n", call_text("get_weather", city="Boston"), "\n</tool_call>"]
    chunks = [chunk({"role": "assistant", "content": None}), *(chunk({"content": p}) for p in pieces),
              chunk({}, "stop")]
    inner = TwoAnswerBackend(completion(""), completion(call_text("get_weather", city="Paris")), chunks)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    calls = [o["choices"][0]["delta"]["tool_calls"][0] for o in out if o["choices"] and
             o["choices"][0]["delta"].get("tool_calls")]
    cities = [(c["index"], json.loads(c["function"]["arguments"])["city"]) for c in calls]
    assert cities == [(0, "Boston"), (1, "Paris")]
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert "stream" not in inner.sent[1]


def usage_of(out: list[JSONObject]) -> list[JSONObject]:
    return [o["usage"] for o in out if isinstance(o.get("usage"), dict)]


async def test_a_streamed_answers_usage_counts_its_continuation() -> None:
    pieces = ["<tool_call>\n", call_text("get_weather", city="Boston"), "\n</tool_call>"]
    chunks = [chunk({"role": "assistant", "content": None}), *(chunk({"content": p}) for p in pieces),
              chunk({}, "stop"), {**chunk(), "usage": {"prompt_tokens": 30, "completion_tokens": 12,
                                                       "total_tokens": 42}}]
    inner = TwoAnswerBackend(completion(""), completion(call_text("get_weather", city="Paris"), 4), chunks)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    assert inner.calls == 2
    assert usage_of(out) == [{"prompt_tokens": 35, "completion_tokens": 16, "total_tokens": 51}]
    assert out[-1]["usage"] == usage_of(out)[0]  # still the stream's last chunk, as OpenAI sends it


async def test_a_streamed_answer_without_usage_gets_none_made_up() -> None:
    chunks = [chunk({"content": call_text("get_weather", city="Boston")}), chunk({}, "stop")]
    inner = TwoAnswerBackend(completion(""), completion(call_text("get_weather", city="Paris"), 4), chunks)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    assert inner.calls == 2
    assert usage_of(out) == []  # the dispatcher estimates a stream's usage when none came


AFTER_RESULT: list[JSONObject] = [
    *MESSAGES,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Boston"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"temperature_c": 21}'},
]


async def test_an_answer_asked_again_in_words_counts_the_first_answer_too() -> None:
    repeat = call_text("get_weather", city="Boston")
    inner = TwoAnswerBackend(completion(repeat, 7), completion("It is 21 degrees in Boston.", 8))
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert inner.calls == 2
    assert answer["choices"][0]["message"]["content"] == "It is 21 degrees in Boston."
    assert answer["usage"] == {"prompt_tokens": 10, "completion_tokens": 15, "total_tokens": 25}


async def test_a_streamed_answer_asked_again_in_words_counts_the_first_answer_too() -> None:
    class StreamsInTurn(TwoAnswerBackend):
        async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
            self.sent.append(body)
            text, tokens = (call_text("get_weather", city="Boston"), 7) if len(self.sent) == 1 else ("Sunny.", 2)
            for item in (chunk({"content": text}), chunk({}, "stop"),
                         {**chunk(), "usage": {"prompt_tokens": 20, "completion_tokens": tokens}}):
                yield item

    inner = StreamsInTurn(completion(""), completion(""))
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"]) == "Sunny."
    assert usage_of(out) == [{"prompt_tokens": 40, "completion_tokens": 9}]


async def test_continue_calls_false_sends_one_request_and_keeps_its_calls() -> None:
    first = call_text("get_weather", city="Boston")
    inner = TwoAnswerBackend(completion(first), completion(call_text("get_weather", city="Paris"), 4))
    adapter = FencedToolCallAdapter(inner, continue_calls=False)
    answer = await adapter.complete({"messages": MESSAGES, "tools": TOOLS})
    assert inner.calls == 1
    assert [c["function"]["arguments"] for c in answer["choices"][0]["message"]["tool_calls"]] == [
        '{"city": "Boston"}']
    assert answer["usage"] == {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}
    streamed = TwoAnswerBackend(completion(""), completion(call_text("get_weather", city="Paris")),
                                [chunk({"content": first}), chunk({}, "stop")])
    out = await collect(FencedToolCallAdapter(streamed, continue_calls=False).stream(
        {"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    assert streamed.calls == 1
    assert len([o for o in out if o["choices"] and o["choices"][0]["delta"].get("tool_calls")]) == 1


# --- pushed for one more call, and calls that take nothing from the conversation ---------------

def test_a_forced_call_body_starts_the_next_call_on_one_line() -> None:
    body: JSONObject = {"messages": MESSAGES, "temperature": 0, "max_tokens": 4000}
    forced = forced_call_body(body, [BOSTON])
    assert forced["messages"][-1]["content"] == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Boston"}}\n</tool_call>\n' + FORCED_START)
    assert forced["stop"] == ["\n"]
    assert forced["max_tokens"] == FORCED_MAX_TOKENS
    assert forced_call_body({**body, "max_tokens": 20}, [BOSTON])["max_tokens"] == 20


def test_forced_call_reads_the_written_call_with_or_without_the_started_answer() -> None:
    sent = forced_call_body({"messages": MESSAGES}, [BOSTON])
    written = 'get_weather", "arguments": {"city": "Paris"}}'
    assert forced_call(sent, written, [BOSTON], DECLARED) == PARIS
    assert forced_call(sent, sent["messages"][-1]["content"] + written, [BOSTON], DECLARED) == PARIS  # llama.cpp
    assert forced_call(sent, 'get_weather", "arguments": {"city": "Boston"}}', [BOSTON], DECLARED) is None  # repeat
    assert forced_call(sent, 'rm_rf", "arguments": {}}', [BOSTON], DECLARED) is None  # undeclared
    assert forced_call(sent, 'get_weather", "arguments": {"city": "Pa', [BOSTON], DECLARED) is None  # cut short
    assert forced_call(sent, "", [BOSTON], DECLARED) is None


class AnswersInOrder(ScriptedChatBackend):
    """Answers each `complete` with the next text of `texts`, the last one again once they run out."""

    def __init__(self, *texts: str) -> None:
        super().__init__("qwen")
        self.texts = list(texts)

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        return completion(self.texts[min(len(self.sent), len(self.texts)) - 1], 2)


async def test_a_model_that_stops_after_one_call_is_pushed_for_the_one_it_left_out() -> None:
    inner = AnswersInOrder(call_text("get_weather", city="Boston"), "", 'get_weather", "arguments": {"city": "Paris"}}',
                           'get_weather", "arguments": {"city": "Boston"}}')
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Boston", "Paris"]
    assert inner.calls == 4  # the answer, its continuation, Paris pushed, then a repeat that ends it
    assert inner.sent[3]["messages"][-1]["content"].count("<tool_call>") == 2
    assert answer["usage"]["completion_tokens"] == 8  # every request counted


async def test_a_pushed_call_the_request_never_asked_for_is_dropped() -> None:
    for pushed in ('get_weather", "arguments": {"city": "Oslo"}}',  # a value nobody named
                   'get_time", "arguments": {"tz": "Boston"}}',  # nothing new
                   'get_weather", "arguments": {"city": "Boston", "days": 3}}'):  # only an undeclared argument new
        inner = AnswersInOrder(call_text("get_weather", city="Boston"), "", pushed)
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
        assert len(answer["choices"][0]["message"]["tool_calls"]) == 1
        assert inner.calls == 3


async def test_calls_go_back_to_the_model_without_undeclared_arguments_and_come_back_without_them() -> None:
    """BFCL parallel_68 (the 0.5B): given `calculate_area(base: 12, height: 15, required: [...])` back, it copied
    the made-up `required` into the second triangle's call, which then failed the function's parameters."""
    first = json.dumps({"name": "get_weather", "arguments": {"city": "Boston", "required": ["city"]}})
    inner = AnswersInOrder(first, "", 'get_weather", "arguments": {"city": "Paris", "required": ["city"]}}',
                           'get_weather", "arguments": {"city": "Boston"}}')
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Boston"}, {"city": "Paris"}]
    assert all("required" not in body["messages"][-1]["content"] for body in inner.sent[1:])


async def test_a_continued_call_that_differs_only_by_an_undeclared_argument_is_a_repeat() -> None:
    first = json.dumps({"name": "get_weather", "arguments": {"city": "Boston", "units": "C"}})
    inner = AnswersInOrder(first, f"<tool_call>\n{first}\n</tool_call>", "")
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    assert [json.loads(c["function"]["arguments"]) for c in answer["choices"][0]["message"]["tool_calls"]] == [
        {"city": "Boston"}]


KINEMATICS = [{"type": "function", "function": {"name": name, "parameters": {
    "type": "object", "required": ["speed", "time"], "properties": {"speed": {"type": "number"}, "time": {
        "type": "number"}}}}} for name in ("final_velocity", "distance_traveled", "acceleration")]


async def test_a_pushed_call_to_another_task_of_the_request_is_kept_with_the_same_values() -> None:
    """BFCL parallel_multiple_8 (the 0.5B): the second function the request names, the same values."""
    messages = [{"role": "user", "content": "Final velocity at 20 m/s after 6 s? Also, the total distance covered."}]
    first = json.dumps({"name": "final_velocity", "arguments": {"speed": 20, "time": 6}})
    for pushed, kept in (('distance_traveled", "arguments": {"speed": 20, "time": 6}}', True),
                         ('acceleration", "arguments": {"speed": 20, "time": 6}}', False),  # a task nobody named
                         ('distance_traveled", "arguments": {"speed": 20, "time": 9}}', False),  # 9: made up
                         ('final_velocity", "arguments": {"speed": 6, "time": 20}}', False)):  # the same task
        inner = AnswersInOrder(first, "", pushed, "")
        answer = await FencedToolCallAdapter(inner).complete({"messages": messages, "tools": KINEMATICS})
        names = [call["function"]["name"] for call in answer["choices"][0]["message"]["tool_calls"]]
        assert names == (["final_velocity", "distance_traveled"] if kept else ["final_velocity"]), pushed
    one_request = [{"role": "user", "content": "Final velocity at 20 m/s after 6 s, and the distance covered?"}]
    inner = AnswersInOrder(first, "", 'distance_traveled", "arguments": {"speed": 20, "time": 6}}', "")
    answer = await FencedToolCallAdapter(inner).complete({"messages": one_request, "tools": KINEMATICS})
    assert len(answer["choices"][0]["message"]["tool_calls"]) == 1  # no second request joined on: no new task


async def test_force_calls_false_and_a_forced_tool_choice_push_for_no_more() -> None:
    first = call_text("get_weather", city="Boston")
    for adapter_options, body in (({"force_calls": False}, {"messages": MESSAGES, "tools": TOOLS}),
                                  ({}, {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required"})):
        inner = AnswersInOrder(first, "", 'get_weather", "arguments": {"city": "Paris"}}')
        answer = await FencedToolCallAdapter(inner, **adapter_options).complete(body)  # type: ignore[arg-type]
        assert len(answer["choices"][0]["message"]["tool_calls"]) == 1
        assert inner.calls == 2  # the answer and its continuation only


async def test_calls_with_no_value_from_the_conversation_are_asked_again_in_words() -> None:
    invented = call_text("get_weather", city="Oslo")  # the user asked about Boston and Paris
    inner = AnswersInOrder(invented, "I can only look up the weather.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "I can only look up the weather."}
    assert inner.calls == 2
    assert all("<tools>" not in str(m["content"]) for m in inner.sent[1]["messages"])
    assert answer["usage"]["completion_tokens"] == 4  # both answers counted
    kept = AnswersInOrder(invented, "")
    answer = await FencedToolCallAdapter(kept, ground_calls=False, force_calls=False,
                                         drop_unasked_arguments=False).complete({"messages": MESSAGES, "tools": TOOLS})
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    required = AnswersInOrder(invented, "")  # a call the client demanded is never turned into words
    answer = await FencedToolCallAdapter(required).complete({"messages": MESSAGES, "tools": TOOLS,
                                                             "tool_choice": "required"})
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'


async def test_a_streamed_call_with_no_value_from_the_conversation_is_streamed_again_in_words() -> None:
    class StreamsInTurn(ScriptedChatBackend):
        async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
            self.sent.append(body)
            text = call_text("get_weather", city="Oslo") if len(self.sent) == 1 else "No tool fits."
            for item in (chunk({"content": text}), chunk({}, "stop")):
                yield item

    inner = StreamsInTurn("qwen")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS}))
    assert "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"]) == "No tool fits."
    assert not any(o["choices"][0]["delta"].get("tool_calls") for o in out if o["choices"])


STRAY_TOOLS = [*TOOLS, {"type": "function", "function": {
    "name": "sports_ranking", "description": "The ranking of a sports team in its league.",
    "parameters": {"type": "object", "properties": {"team": {"type": "string"}, "league": {"type": "string"}}}}}]


def test_a_plan_names_the_added_calls_to_a_new_function_off_the_request() -> None:
    plan = plan_request({"messages": MESSAGES, "tools": STRAY_TOOLS})
    made = [BOSTON]
    sports = ParsedToolCall("sports_ranking", '{"team": "Boston Red Sox", "league": "MLB"}')  # a value, off topic
    invented_time = ParsedToolCall("get_time", '{"tz": "CET"}')  # a new function, no value from the request
    boston_time = ParsedToolCall("get_time", '{"tz": "Boston"}')  # a new function on a value the user gave
    assert plan.stray_additions([PARIS, sports, invented_time], made) == [sports, invented_time]
    assert plan.stray_additions([PARIS, boston_time], made) == [boston_time]  # no topic word: "time" unasked
    asked = plan_request({"messages": [{"role": "user", "content": "Weather and the time in Boston?"}],
                          "tools": STRAY_TOOLS})
    assert asked.stray_additions([boston_time], made) == []
    oslo = ParsedToolCall("get_weather", '{"city": "Oslo"}')  # the same function: the push's own rule judges it
    assert plan.stray_additions([oslo], made) == []
    assert plan_request({"messages": MESSAGES, "tools": STRAY_TOOLS, "tool_choice": "required"}).stray_additions(
        [sports], made) == []  # nothing is judged where the client demanded calls


def farm_tool(name: str, kind: str, extra: str) -> JSONObject:
    properties: JSONObject = {"coordinates": {"type": "array"}, "month": {"type": "string"}, extra: {"type": "number"}}
    return {"type": "function", "function": {
        "name": name, "description": f"The energy potential of a {kind} farm.",
        "parameters": {"type": "object", "required": ["coordinates", "month", extra], "properties": properties}}}


FARM_TOOLS = [farm_tool("solarFarm_potential", "solar", "panelArea"),
              farm_tool("windFarm_potential", "wind", "turbineCount")]


def test_an_added_call_that_makes_up_a_value_and_asks_for_nothing_new_is_a_stray() -> None:
    """BFCL multiple_15: the wind-farm call takes the solar call's place and month and makes up the turbines."""
    request = ("How much is the potential of the Solar farm at location with coordinates [43.653225, -79.383186] in "
               "December, given that it has a total solar panel area of 80000 sq ft?")
    plan = plan_request({"messages": [{"role": "user", "content": request}], "tools": FARM_TOOLS})
    solar = ParsedToolCall("solarFarm_potential",
                           '{"coordinates": [43.653225, -79.383186], "panelArea": 80000, "month": "December"}')
    wind = ParsedToolCall("windFarm_potential",
                          '{"coordinates": [43.653225, -79.383186], "turbineCount": 10, "month": "December"}')
    assert plan.stray_additions([wind], [solar]) == [wind]
    asked = plan_request({"messages": [{"role": "user", "content": request + " And a wind farm with 10 turbines?"}],
                          "tools": FARM_TOOLS})
    assert asked.stray_additions([wind], [solar]) == []  # the turbines are given: a second request


async def test_the_models_own_answer_loses_a_made_up_second_request_and_notes_it() -> None:
    """BFCL multiple_15, whole-category run: the 0.5B wrote both calls in its first answer, so the
    continuation's rule never saw the second one; settling drops it (`without_made_up_requests`)."""
    request = ("How much is the potential of the Solar farm at location with coordinates [43.653225, -79.383186] in "
               "December, given that it has a total solar panel area of 80000 sq ft?")
    solar = {"coordinates": [43.653225, -79.383186], "panelArea": 80000, "month": "December"}
    wind = {"coordinates": [43.653225, -79.383186], "turbineCount": 10, "month": "December"}
    answer = "\n".join(json.dumps({"name": name, "arguments": arguments})
                       for name, arguments in (("solarFarm_potential", solar), ("windFarm_potential", wind)))
    body: JSONObject = {"messages": [{"role": "user", "content": request}], "tools": FARM_TOOLS}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, ""), continue_calls=False).complete(body)
    calls = out["choices"][0]["message"]["tool_calls"]
    assert [(call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls] == [
        ("solarFarm_potential", solar)]
    assert [note for note in notes if note["action"] == ACTION_CALLS_DROPPED] == [
        {"model": "qwen", "action": ACTION_CALLS_DROPPED, "reason": REASON_CALLS_DROPPED,
         "functions": ["windFarm_potential"]}]
    kept, dropped = without_made_up_requests([ParsedToolCall("windFarm_potential", json.dumps(wind))],
                                             {}, request)
    assert (len(kept), dropped) == (1, [])  # the first call is judged by grounding, not here


async def test_a_continuation_drops_a_call_to_a_new_function_off_the_request_and_notes_it() -> None:
    first = call_text("get_weather", city="Boston")
    added = f"{call_text('get_weather', city='Paris')}\n{call_text('sports_ranking', team='Red Sox', league='MLB')}"
    inner = TwoAnswerBackend(completion(first), completion(added, 4))
    notes: list[JSONObject] = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": STRAY_TOOLS})
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Boston"}), ("get_weather", {"city": "Paris"})]
    continued = next(note for note in notes if note["action"] == "continued")
    assert continued["added"] == 1
    assert continued["functions"] == ["get_weather"]
    assert continued["dropped"] == ["sports_ranking"]
