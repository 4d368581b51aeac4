"""Tool calls written as text: request planning, the stream rewriter, and the adapter over a fake backend.

The parser itself is tested in test_toolcall_parser.py."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.chat_backends import USAGE, ScriptedChatBackend
from voxgate.backends.toolcall_stream import is_bare_reply, is_echo, is_refusal
from voxgate.backends.toolcalls import (
    FencedToolCallAdapter,
    ToolCallStreamRewriter,
    parse_tool_calls,
    plan_request,
)
from voxgate.core.errors import BackendConnectError, InvalidRequestError
from voxgate.core.types import JSONObject

DECLARED = frozenset({"get_weather", "get_time"})


def tool(name: str, properties: JSONObject | None = None) -> JSONObject:
    parameters = {"type": "object", "properties": properties or {"city": {"type": "string"}}}
    return {"type": "function", "function": {"name": name, "description": f"{name} tool", "parameters": parameters}}


TOOLS = [tool("get_weather"), tool("get_time", {"tz": {"type": "string"}})]
MESSAGES = [{"role": "user", "content": "weather in Paris?"}]


# --- request planning ----------------------------------------------------------------------

def test_without_tools_the_body_is_untouched() -> None:
    body = {"messages": MESSAGES}
    plan = plan_request(body)
    assert plan.body is body
    assert plan.declared is None


def test_auto_renders_tools_into_the_system_turn_and_recognises_declared_names() -> None:
    body = {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "auto", "temperature": 0}
    plan = plan_request(body)
    assert set(plan.body) == {"messages", "temperature"}
    system, user = plan.body["messages"]
    assert system["role"] == "system"
    assert json.dumps(TOOLS[1]) in system["content"]
    assert user == MESSAGES[0]
    assert plan.declared == DECLARED
    assert plan.max_calls is None


def test_parallel_tool_calls_false_allows_one_call() -> None:
    plan = plan_request({"messages": MESSAGES, "tools": TOOLS, "parallel_tool_calls": False})
    assert plan.max_calls == 1


def test_tool_choice_none_strips_tools() -> None:
    plan = plan_request({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "none", "parallel_tool_calls": True})
    assert plan.body == {"messages": MESSAGES}
    assert plan.declared is None


def test_a_history_with_tool_turns_is_rendered_even_without_tools() -> None:
    history = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "21 C"},
    ]
    plan = plan_request({"messages": history})
    assert [m["role"] for m in plan.body["messages"]] == ["user", "assistant", "user"]
    assert plan.declared is None


def test_named_tool_choice_becomes_a_json_schema() -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    body = {"messages": MESSAGES, "tools": TOOLS, "tool_choice": choice, "temperature": 0}
    original = copy.deepcopy(body)
    plan = plan_request(body)
    assert body == original
    assert "tools" not in plan.body
    assert "tool_choice" not in plan.body
    assert plan.body["temperature"] == 0
    assert plan.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "tool_call", "schema": {
            "type": "object",
            "properties": {"name": {"const": "get_time"}, "arguments": TOOLS[1]["function"]["parameters"]},
            "required": ["name", "arguments"],
        }},
    }
    assert plan.declared == frozenset({"get_time"})


def test_required_allows_any_declared_call() -> None:
    plan = plan_request({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required"})
    schema = plan.body["response_format"]["json_schema"]["schema"]
    assert [option["properties"]["name"]["const"] for option in schema["anyOf"]] == ["get_weather", "get_time"]
    assert plan.declared == DECLARED


def test_tool_without_parameters_gets_a_free_form_object() -> None:
    bare = {"type": "function", "function": {"name": "ping"}}
    plan = plan_request({"messages": MESSAGES, "tools": [bare], "tool_choice": "required"})
    schema = plan.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["arguments"] == {"type": "object"}


def test_tool_choice_naming_an_undeclared_function_is_rejected() -> None:
    choice = {"type": "function", "function": {"name": "rm_rf"}}
    with pytest.raises(InvalidRequestError) as raised:
        plan_request({"messages": MESSAGES, "tools": TOOLS, "tool_choice": choice})
    assert raised.value.param == "tool_choice"


# --- the adapter ---------------------------------------------------------------------------

def completion(content: str | None, finish_reason: str = "stop") -> JSONObject:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "qwen",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
    }


def chunk(delta: JSONObject | None = None, finish_reason: str | None = None) -> JSONObject:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 8, "model": "qwen", "choices": choices}


def text_stream(*pieces: str, usage: bool = True) -> list[JSONObject]:
    chunks = [chunk({"role": "assistant", "content": None})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    chunks.append(chunk({}, "stop"))
    if usage:
        chunks.append({**chunk(), "usage": {"prompt_tokens": 5, "completion_tokens": len(pieces)}})
    return chunks


def qwen_backend(answer: JSONObject | None = None, chunks: list[JSONObject] | None = None) -> ScriptedChatBackend:
    """The backend the adapter wraps: answers `answer`, streams `chunks`, records what it was sent."""
    return ScriptedChatBackend("qwen", answer=answer, chunks=chunks or [])


def ids() -> str:
    return "call_test"


async def test_complete_turns_text_into_tool_calls() -> None:
    inner = qwen_backend(completion('```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'))
    answer = await FencedToolCallAdapter(inner, make_call_id=ids).complete({"messages": MESSAGES, "tools": TOOLS})
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_test", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
    }
    assert answer["usage"]["completion_tokens"] == 27  # 9, the continuation's 9, the pushed call's 9 (no call added)
    assert inner.sent[1]["messages"][-1]["role"] == "assistant"  # the answer continued after its call
    assert inner.sent[2]["messages"][-1]["content"].endswith('</tool_call>\n{"name": "')  # then pushed for one more


async def test_complete_keeps_prose_before_the_calls_as_content_and_makes_every_call() -> None:
    text = (
        "To get the weather I will call the function:\n"
        '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```\n'
        '```json\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n```'
    )
    adapter = FencedToolCallAdapter(qwen_backend(completion(text)), make_call_id=ids)
    answer = await adapter.complete({"messages": [{"role": "user", "content": "weather in Oslo and Rome?"}],
                                     "tools": TOOLS})
    message = answer["choices"][0]["message"]
    assert message["content"] == "To get the weather I will call the function:"
    assert [call["function"]["arguments"] for call in message["tool_calls"]] == ['{"city": "Oslo"}', '{"city": "Rome"}']


async def test_parallel_tool_calls_false_keeps_the_first_call() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' * 2
    answer = await FencedToolCallAdapter(qwen_backend(completion(text)), make_call_id=ids).complete(
        {"messages": MESSAGES, "tools": TOOLS, "parallel_tool_calls": False}
    )
    assert len(answer["choices"][0]["message"]["tool_calls"]) == 1


async def test_complete_leaves_prose_and_undeclared_calls_alone() -> None:
    for content in ("It is sunny.", '{"name": "rm_rf", "arguments": {}}'):
        answer = await FencedToolCallAdapter(qwen_backend(completion(content)), answer_unknown_calls=False).complete(
            {"messages": MESSAGES, "tools": TOOLS}
        )
        assert answer == completion(content)
    # by default an undeclared call is answered "no such function" once (test_toolcall_unknown); again, it stays text
    undeclared = '{"name": "rm_rf", "arguments": {}}'
    answer = await FencedToolCallAdapter(qwen_backend(completion(undeclared))).complete(
        {"messages": MESSAGES, "tools": TOOLS})
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": undeclared}


async def test_complete_without_tools_does_not_look_at_the_text() -> None:
    text = '{"name": "get_weather", "arguments": {}}'
    answer = await FencedToolCallAdapter(qwen_backend(completion(text))).complete({"messages": MESSAGES})
    assert answer == completion(text)


async def test_native_tool_calls_pass_through() -> None:
    native = completion(None, "tool_calls")
    native["choices"][0]["message"]["tool_calls"] = [{"id": "x", "type": "function",
                                                      "function": {"name": "get_time", "arguments": "{}"}}]
    answer = await FencedToolCallAdapter(qwen_backend(native)).complete({"messages": MESSAGES, "tools": TOOLS})
    assert answer == native


async def test_forced_choice_sends_a_schema_and_returns_the_call() -> None:
    inner = qwen_backend(completion('{\n  "name": "get_time",\n  "arguments": {"tz": "CET"}\n}'))
    choice = {"type": "function", "function": {"name": "get_time"}}
    answer = await FencedToolCallAdapter(inner, make_call_id=ids).complete(
        {"messages": MESSAGES, "tools": TOOLS, "tool_choice": choice}
    )
    assert "tools" not in inner.sent[0]
    assert "get_time" in inner.sent[0]["messages"][0]["content"]
    assert inner.sent[0]["response_format"]["type"] == "json_schema"
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "get_time",
                                                                             "arguments": '{"tz": "CET"}'}


async def test_tool_choice_none_is_plain_chat() -> None:
    inner = qwen_backend(completion('{"name": "get_weather", "arguments": {}}'))
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "none"})
    assert inner.sent[0] == {"messages": MESSAGES}
    assert answer["choices"][0]["message"]["content"] == '{"name": "get_weather", "arguments": {}}'


async def test_aclose_closes_the_inner_backend() -> None:
    inner = qwen_backend(completion("hi"))
    await FencedToolCallAdapter(inner).aclose()
    assert inner.closed


async def collect(stream: AsyncIterator[JSONObject]) -> list[JSONObject]:
    return [item async for item in stream]


async def test_stream_without_tools_is_the_inner_stream() -> None:
    chunks = text_stream('{"name": "get_weather"}')
    out = await collect(FencedToolCallAdapter(qwen_backend(chunks=chunks)).stream({"messages": MESSAGES}))
    assert out == chunks


async def test_stream_of_prose_passes_through_as_it_arrives() -> None:
    chunks = text_stream("\n", "It ", "is ", "sunny.")
    inner = qwen_backend(chunks=chunks)
    stream = FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS})
    assert [await anext(stream) for _ in range(3)] == chunks[:3]
    assert inner.yielded == 3  # nothing was read ahead
    assert [item async for item in stream] == chunks[3:]


async def test_stream_of_a_tool_call_becomes_tool_call_chunks() -> None:
    pieces = ["```", "json", "\n", '{"name": "get_weather", ', '"arguments": {"city": "Paris"}}', "\n```"]
    chunks = text_stream(*pieces)
    out = await collect(FencedToolCallAdapter(qwen_backend(chunks=chunks), make_call_id=ids).stream(
        {"messages": MESSAGES, "tools": TOOLS, "stream_options": {"include_usage": True}}
    ))
    assert out[0] == chunks[0]  # the role chunk went out at once
    call = {"index": 0, "id": "call_test", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert out[1] == {**chunk({"tool_calls": [call]})}
    assert out[2] == chunk({}, "tool_calls")
    continued = USAGE  # the continuation and the push for one more call ("ok": no call added) are counted too
    assert out[3] == {**chunks[-1], "usage": {key: chunks[-1]["usage"][key] + 2 * continued[key] for key in continued}}
    assert len(out) == 4


async def test_stream_with_several_calls_and_no_finish_chunk() -> None:
    text = '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call><tool_call>{"name": "get_time"}</tool_call>'
    chunks = [chunk({"role": "assistant", "content": ""}), chunk({"content": text})]
    out = await collect(FencedToolCallAdapter(qwen_backend(chunks=chunks), make_call_id=ids).stream(
        {"messages": MESSAGES, "tools": TOOLS}
    ))
    assert [o["choices"][0]["delta"]["tool_calls"][0]["index"] for o in out[1:3]] == [0, 1]
    assert [o["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] for o in out[1:3]] == ["get_weather",
                                                                                                 "get_time"]
    assert out[3]["choices"][0]["finish_reason"] == "tool_calls"
    assert {o["id"] for o in out} == {"chatcmpl-2"}


async def test_stream_that_looked_like_a_call_but_was_not_is_released_unchanged() -> None:
    chunks = text_stream("{", '"name": "rm_rf", "arguments": {}}')
    adapter = FencedToolCallAdapter(qwen_backend(chunks=chunks), answer_unknown_calls=False)
    assert await collect(adapter.stream({"messages": MESSAGES, "tools": TOOLS})) == chunks
    cut = text_stream("{", '"name": "get_weather", "arguments": {"city"')  # a declared call cut short
    assert await collect(FencedToolCallAdapter(qwen_backend(chunks=cut)).stream(
        {"messages": MESSAGES, "tools": TOOLS})) == cut


async def test_stream_released_as_soon_as_it_cannot_be_a_call() -> None:
    chunks = text_stream("```", "python\n", "print(1)\n", "```")
    inner = qwen_backend(chunks=chunks)
    stream = FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS})
    assert [await anext(stream) for _ in range(4)] == chunks[:4]
    assert inner.yielded == 4
    await stream.aclose()  # type: ignore[attr-defined]
    assert inner.stream_closed


async def test_stream_error_while_holding_back_propagates() -> None:
    inner = ScriptedChatBackend(
        "qwen",
        chunks=text_stream("{", '"name": "get_weather"', ', "arguments": {}}'),
        error=BackendConnectError("qwen: upstream connection lost", model_id="qwen"),
        fail_after_chunks=3,
    )
    with pytest.raises(BackendConnectError):
        await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS}))
    assert inner.stream_closed


async def test_early_close_closes_the_inner_stream() -> None:
    inner = qwen_backend(chunks=text_stream("It ", "is ", "sunny."))
    stream = FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS})
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert inner.stream_closed


def test_rewriter_releases_several_choice_chunks() -> None:
    rewriter = ToolCallStreamRewriter(DECLARED)
    held = chunk({"content": "{"})
    assert rewriter.feed(held) == []
    several = {**chunk(), "choices": [{"index": 0, "delta": {"content": '"'}}, {"index": 1, "delta": {}}]}
    assert rewriter.feed(several) == [held, several]
    assert rewriter.finish() == []


@given(st.lists(st.text(max_size=12), max_size=12))
def test_rewriter_never_loses_or_reorders_text(pieces: list[str]) -> None:
    check_text_kept(pieces)


def check_text_kept(pieces: list[str]) -> None:
    rewriter = ToolCallStreamRewriter(DECLARED, ids)
    out: list[JSONObject] = []
    for piece in pieces:
        out += rewriter.feed(chunk({"content": piece}))
    out += rewriter.finish()
    text = "".join(o["choices"][0]["delta"].get("content") or "" for o in out)
    calls = [o["choices"][0]["delta"]["tool_calls"][0] for o in out if "tool_calls" in o["choices"][0]["delta"]]
    whole = "".join(pieces)
    if calls:  # the text sent is what came before the calls, and the rest is nothing but calls
        assert whole.startswith(text)
        assert parse_tool_calls(whole[len(text):], DECLARED) is not None
    else:
        assert text == whole


@given(st.lists(st.sampled_from(["Sure", ", I will", " call it:", "\n", "``", "`json\n", "{", '"name": ',
                                 '"get_weather", "arguments": {}}', "\n```", "<tool_", "call>", "</tool_call>",
                                 " ok", "["]), max_size=14))
def test_rewriter_never_loses_or_reorders_call_like_text(pieces: list[str]) -> None:
    check_text_kept(pieces)


async def test_calls_after_a_sentence_are_made_not_read_out() -> None:
    pieces = ["To get the weather, ", "I will call:\n", "``", "`json\n", '{"name": "get_weather", ',
              '"arguments": {"city": "Oslo"}}\n```\n', '```json\n{"name": "get_time", "arguments": {}}\n```']
    chunks = text_stream(*pieces)
    out = await collect(FencedToolCallAdapter(qwen_backend(chunks=chunks), make_call_id=ids).stream(
        {"messages": MESSAGES, "tools": TOOLS}
    ))
    text = "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"])
    assert text == "To get the weather, I will call:\n"
    names = [o["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] for o in out
             if o["choices"] and "tool_calls" in o["choices"][0]["delta"]]
    assert names == ["get_weather", "get_time"]
    assert [o["choices"][0]["finish_reason"] for o in out if o["choices"]][-1] == "tool_calls"


# --- right after a tool result --------------------------------------------------------------

AFTER_RESULT = [
    *MESSAGES,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    ]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"temperature_c": 21}'},
]
REPEAT = '{"name": "get_weather", "arguments": {"city": "Paris"}}'


class AnswersInTurn(ScriptedChatBackend):
    """Answers each `complete` with the next of `answers` (and streams them likewise)."""

    def __init__(self, *answers: str) -> None:
        super().__init__("qwen")
        self.answers = list(answers)

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        return completion(self.answers.pop(0))

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.sent.append(body)
        for item in text_stream(self.answers.pop(0)):
            yield item


@pytest.mark.parametrize("first", [
    REPEAT,
    f"<tool_call>\n{REPEAT}\n</tool_call>",
    REPEAT + '\n{"temperature_c": 21}',  # qwen2.5-coder-0.5b: the call again, the result echoed
    '{"name": "get_weather", "arguments": {"city": " paris"}}',  # the same call, loosely
    '{"temperature_c": 21}',  # the result read back
])
async def test_a_repeated_call_after_the_result_is_asked_again_without_tools(first: str) -> None:
    inner = AnswersInTurn(first, "It is 21 degrees in Paris.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "It is 21 degrees in Paris."}
    assert "<tools>" in inner.sent[0]["messages"][0]["content"]
    assert all("<tools>" not in m["content"] for m in inner.sent[1]["messages"])
    assert "<tool_response>" in inner.sent[1]["messages"][-1]["content"]
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")


async def test_a_new_call_after_the_result_is_made_not_retried() -> None:
    inner = AnswersInTurn('{"name": "get_time", "arguments": {"tz": "Paris"}}', "", "")
    answer = await FencedToolCallAdapter(inner, make_call_id=ids).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"
    assert len(inner.sent) == 3  # continued after its call and pushed for one more (both added none), not asked again
    assert inner.sent[1]["messages"][-1]["role"] == "assistant"
    assert inner.sent[2]["messages"][-1]["content"].endswith('{"name": "')


async def test_a_streamed_repeated_call_after_the_result_is_streamed_again_in_words() -> None:
    inner = AnswersInTurn(REPEAT, "Sunny, 21 degrees.")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    text = "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"])
    assert text == "Sunny, 21 degrees."
    assert not any(o["choices"] and "tool_calls" in o["choices"][0]["delta"] for o in out)
    assert len(inner.sent) == 2


class PiecesInTurn(AnswersInTurn):
    """Streams each answer in the given pieces (a list), or whole (a str)."""

    def __init__(self, *answers: str | list[str]) -> None:
        super().__init__()
        self.pieces = list(answers)

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        answer = self.pieces.pop(0)
        return completion(answer if isinstance(answer, str) else "".join(answer))

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.sent.append(body)
        answer = self.pieces.pop(0)
        for item in text_stream(*([answer] if isinstance(answer, str) else answer)):
            yield item


def streamed_text(out: list[JSONObject]) -> str:
    return "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"])


@pytest.mark.parametrize(("text", "question", "expected"), [
    ("Weather in Paris?", "weather in Paris?", True),
    ("Please calculate 1024 / 16.", "Please calculate 1024 / 16.", True),
    ("How do you say 'thank you'", "How do you say 'thank you' in German?", True),  # most of it, from its start
    ("How", "How do you say 'thank you' in German?", False),  # a start, not an echo
    ("It is 21 degrees in Paris.", "weather in Paris?", False),
    ("Weather in Paris is sunny.", "weather in Paris?", False),
    ("anything", None, False),
])
def test_an_echo_is_most_of_the_question_read_back_from_its_start(text: str, question: str | None,
                                                                  expected: bool) -> None:
    assert is_echo(text, question) is expected


async def test_the_question_read_back_after_the_result_is_asked_again_in_words() -> None:
    inner = PiecesInTurn("Weather in Paris?", "It is 21 degrees in Paris.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "It is 21 degrees in Paris."
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")


async def test_a_streamed_echo_of_the_question_is_held_and_replaced_by_words() -> None:
    inner = PiecesInTurn(["Weather", " in", " Paris?"], "Sunny, 21 degrees.")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "Sunny, 21 degrees."  # nothing of the echo reached the client
    assert len(inner.sent) == 2


async def test_an_answer_that_only_starts_like_the_question_streams_on() -> None:
    inner = PiecesInTurn(["Weather", " in Paris", " is sunny, 21 degrees."])
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "Weather in Paris is sunny, 21 degrees."
    assert len(inner.sent) == 1


async def test_an_echo_before_any_tool_result_is_not_judged() -> None:
    inner = PiecesInTurn(["weather in Paris?"])
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS}))
    assert streamed_text(out) == "weather in Paris?"
    assert len(inner.sent) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("Yes.", True),
    ("Done", True),
    ("OK, sure!", True),
    ("21", False),  # a number: an answer
    ("Sunny.", False),  # named in the result
    ("It is sunny.", False),  # three words
    ("", False),
])
def test_a_bare_reply_names_nothing_of_the_results_in_two_words_or_fewer(text: str, expected: bool) -> None:
    assert is_bare_reply(text, '{"temperature_c": 21, "sky": "sunny"}') is expected
    assert is_bare_reply(text, None) is False  # no tool result being answered: nothing to judge


@pytest.mark.parametrize("text", ["None", "None.", "null", "`None`"])
def test_a_null_read_back_is_bare_even_where_the_result_is_that_null(text: str) -> None:
    assert is_bare_reply(text, "None") is True  # what BFCL's executor returns after `mkdir`
    assert is_bare_reply(text, '{"result": null}') is True
    assert is_bare_reply("Sunny.", '{"sky": "sunny", "rain": null}') is False  # named: an answer


async def test_a_streamed_none_after_a_result_that_was_none_is_replaced_by_words() -> None:
    none_result = {"role": "tool", "tool_call_id": "c1", "content": "None"}
    inner = PiecesInTurn(["No", "ne"], "I created the folder.")
    out = await collect(FencedToolCallAdapter(inner).stream(
        {"messages": [*AFTER_RESULT[:-1], none_result], "tools": TOOLS}))
    assert streamed_text(out) == "I created the folder."
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")


async def test_a_bare_reply_after_the_result_is_asked_again_in_words() -> None:
    inner = PiecesInTurn("Yes.", "It is 21 degrees in Paris.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "It is 21 degrees in Paris."
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")


async def test_a_streamed_bare_reply_is_held_and_replaced_by_words() -> None:
    inner = PiecesInTurn(["Do", "ne", "."], "It is 21 degrees in Paris.")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "It is 21 degrees in Paris."  # nothing of "Done." reached the client
    assert len(inner.sent) == 2


RESULT_READ_BACK = '<tool_response>\n{"error": "mv: cannot move \'final_report.pdf\'"}\n</tool_response>'


async def test_a_tool_response_block_written_back_after_the_result_is_asked_again_in_words() -> None:
    """Measured: the 1.5B after BFCL's `mv` failed answered with the error in a <tool_response> block."""
    inner = PiecesInTurn(RESULT_READ_BACK, "It is 21 degrees in Paris.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "It is 21 degrees in Paris."
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")
    streamed = PiecesInTurn(["<tool", "_resp", RESULT_READ_BACK[10:]], "It is 21 degrees in Paris.")
    out = await collect(FencedToolCallAdapter(streamed).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "It is 21 degrees in Paris."  # nothing of the block reached the client
    assert len(streamed.sent) == 2


REFUSAL = "I'm sorry, but I can't assist with that."


@pytest.mark.parametrize(("text", "expected"), [
    (REFUSAL, True),
    ("I'm sorry, but I can't assist with that request.", True),
    ("I can't help with that.", True),
    ("I'm sorry, the flight is delayed by 45 minutes.", False),  # an answer that opens politely
    ("I'm sorry, but I can't assist with that: the city was not found.", False),  # says what went wrong
])
def test_a_stock_refusal_is_judged_only_whole_and_only_after_a_result(text: str, expected: bool) -> None:
    assert is_refusal(text, '{"temperature_c": 21}') is expected
    assert is_refusal(text, None) is False


async def test_a_stock_refusal_after_the_result_is_asked_again_in_words_streamed_or_not() -> None:
    """Measured: the 1.5B after BFCL's get_stock_info result (multi_turn_base_100) refused in these words."""
    inner = PiecesInTurn(REFUSAL, "It is 21 degrees in Paris.")
    answer = await FencedToolCallAdapter(inner).complete({"messages": AFTER_RESULT, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "It is 21 degrees in Paris."
    assert inner.sent[1]["messages"][-1]["content"].endswith("answer my question in plain words.")
    streamed = PiecesInTurn(["I'm sorry", ", but I can't ", "assist with that."], "It is 21 degrees in Paris.")
    out = await collect(FencedToolCallAdapter(streamed).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "It is 21 degrees in Paris."  # nothing of the refusal reached the client
    polite = PiecesInTurn(["I'm sorry", ", it is raining."])
    out = await collect(FencedToolCallAdapter(polite).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "I'm sorry, it is raining."
    assert len(polite.sent) == 1


async def test_words_that_open_with_a_less_than_sign_stream_on_and_tags_before_any_result_are_not_judged() -> None:
    inner = PiecesInTurn(["<", "3 degrees in Paris."], RESULT_READ_BACK)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "<3 degrees in Paris."
    answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == RESULT_READ_BACK  # no result being answered
    assert len(inner.sent) == 2


async def test_a_short_answer_naming_the_result_streams_on_and_is_kept() -> None:
    inner = PiecesInTurn(["21", " degrees."], ["Sun", "ny."])
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": AFTER_RESULT, "tools": TOOLS}))
    assert streamed_text(out) == "21 degrees."
    bare_but_named = {"role": "tool", "tool_call_id": "c1", "content": '{"sky": "sunny"}'}
    out = await collect(FencedToolCallAdapter(inner).stream(
        {"messages": [*AFTER_RESULT[:-1], bare_but_named], "tools": TOOLS}))
    assert streamed_text(out) == "Sunny."
    assert len(inner.sent) == 2  # neither was asked again


async def test_a_result_given_as_text_parts_is_read_as_its_text() -> None:
    parts = {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": '{"sky": "sunny"}'}]}
    inner = PiecesInTurn("Sunny.", "Text.", "It is sunny.")
    messages = [*AFTER_RESULT[:-1], parts]
    answer = await FencedToolCallAdapter(inner).complete({"messages": messages, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "Sunny."  # named in the result: kept
    answer = await FencedToolCallAdapter(inner).complete({"messages": messages, "tools": TOOLS})
    assert answer["choices"][0]["message"]["content"] == "It is sunny."  # "text" is the part's key, not a result
