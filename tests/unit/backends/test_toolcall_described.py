"""An answer in words that names the function it means to call ("I would need to call the
`legal_case_fetch` function with ..."): which words count as naming one, the request that asks for
the call, and the adapter making it (grounded) or keeping the words (not), streamed or not."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator

import pytest

from tests.support.chat_backends import ScriptedChatBackend
from voxgate.backends.toolcall_continuation import FORCED_MAX_TOKENS, described_call_body, forced_call
from voxgate.backends.toolcall_parser import ParsedToolCall, described_functions, has_placeholders
from voxgate.backends.toolcall_plan import plan_request
from voxgate.backends.toolcall_record import (
    ACTION_DESCRIBED_CALL,
    REASON_DESCRIBED_KEPT,
    REASON_DESCRIBED_MADE,
    REASON_PLACEHOLDERS_MADE,
)
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

TOOLS = [
    {"type": "function", "function": {"name": "legal_case_fetch", "description": "Fetch a legal case.",
                                      "parameters": {"type": "object", "properties": {"case_id": {"type": "string"}},
                                                     "required": ["case_id"]}}},
    {"type": "function", "function": {"name": "park_information", "description": "Facts about a park.",
                                      "parameters": {"type": "object", "properties": {"park": {"type": "string"}}}}},
]
MESSAGES = [{"role": "user", "content": "How do I get the case information of the R vs Adams case?"}]
DESCRIBED = ('To get it, you can call the `legal_case_fetch` function with the `case_id` as "R vs Adams".')
WRITTEN = '"case_id": "R vs Adams"}}'  # what the model writes after the started call (its object opened)
SAID = ["To get it, you can call the `legal_", 'case_fetch` function with the `case_id` as "R vs Adams".']


# --- which words name a function -------------------------------------------------------------

def test_names_that_read_as_code_count_wherever_they_stand_as_a_word() -> None:
    declared = ["legal_case_fetch", "getWeather", "math.hcf", "park_information", "v2lookup"]
    text = "Call getWeather, then legal_case_fetch; math.hcf too, and v2lookup."
    assert described_functions(text, declared) == ["getWeather", "legal_case_fetch", "math.hcf", "v2lookup"]
    assert described_functions("the legal_case_fetcher and my_legal_case_fetch", declared) == []  # inside others
    assert described_functions("Park information is public.", declared) == []


def test_a_name_that_is_an_english_word_counts_only_as_code() -> None:
    assert described_functions("I will search the web for it.", ["search"]) == []
    assert described_functions("Use `search` here.", ["search"]) == ["search"]
    assert described_functions('Then search(query="x").', ["search"]) == ["search"]
    assert described_functions("research(x) and `researcher`", ["search"]) == []


def test_the_request_starts_the_answer_as_a_call_to_the_named_function_on_one_line() -> None:
    body: JSONObject = {"messages": MESSAGES, "max_tokens": 900, "stream": True, "temperature": 0}
    sent = described_call_body(body, "legal_case_fetch")
    assert sent["messages"][:-1] == MESSAGES
    assert sent["messages"][-1] == {"role": "assistant",
                                    "content": '<tool_call>\n{"name": "legal_case_fetch", "arguments": {'}
    assert (sent["stop"], sent["max_tokens"], "stream" in sent) == (["\n"], FORCED_MAX_TOKENS, False)
    call = ParsedToolCall("legal_case_fetch", '{"case_id": "R vs Adams"}')
    assert forced_call(sent, WRITTEN, (), {"legal_case_fetch"}) == call
    assert forced_call(sent, sent["messages"][-1]["content"] + WRITTEN, (), {"legal_case_fetch"}) == call
    assert forced_call(sent, '"case_id": "R vs', (), {"legal_case_fetch"}) is None  # cut short: no call


def test_only_an_auto_answer_in_words_to_a_fresh_request_is_asked_for_its_call() -> None:
    auto = plan_request({"messages": MESSAGES, "tools": TOOLS})
    assert auto.described_function(DESCRIBED) == "legal_case_fetch"
    assert auto.described_function("The case is R vs Adams.") is None
    made = 'I will call it.\n<tool_call>\n{"name": "legal_case_fetch", "arguments": {"case_id": "x"}}\n</tool_call>'
    assert auto.described_function(made) is None  # already a call
    cut_short = '{"name": "legal_case_fetch", "arguments": {"case_id": "R vs Adams", "tags": ["a", "b", "a", "b", '
    assert auto.described_function(cut_short) is None  # a call cut short is not words
    assert auto.described_function(f"```json\n{cut_short}") is None
    for body in ({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "required"},
                 {"messages": MESSAGES, "tools": TOOLS, "tool_choice": "none"},
                 {"messages": [*MESSAGES, {"role": "assistant", "content": None, "tool_calls": [
                     {"id": "c1", "type": "function", "function": {"name": "legal_case_fetch", "arguments": "{}"}}]},
                     {"role": "tool", "tool_call_id": "c1", "content": "{}"}], "tools": TOOLS}):
        assert plan_request(body).described_function(DESCRIBED) is None


# --- through the adapter ---------------------------------------------------------------------

def completion(content: str, tokens: int) -> JSONObject:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "qwen",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}}


def chunk(delta: JSONObject | None = None, finish_reason: str | None = None) -> JSONObject:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 8, "model": "qwen", "choices": choices}


def _pieces(text: str) -> list[str]:
    """How the scripted stream sends `text` (not `DESCRIBED`): its words, then any fence in a chunk of its own."""
    words, fence, rest = text.partition("```")
    return [piece for piece in (words, fence + rest) if piece]


class Answers(ScriptedChatBackend):
    """The first request: `first` (streamed as `SAID`'s pieces); each later one: the next of `later`."""

    def __init__(self, first: str, *later: str) -> None:
        usage = {**chunk(), "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}}
        pieces = SAID if first == DESCRIBED else _pieces(first)
        super().__init__("qwen", chunks=[*(chunk({"content": p}) for p in pieces), chunk({}, "stop"), usage])
        self.first, self.later = first, list(later)

    async def complete(self, body: JSONObject) -> JSONObject:
        self.sent.append(body)
        texts = [self.first, *self.later]
        return completion(texts[min(len(self.sent), len(texts)) - 1], 3)

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        self.sent.append(body)
        for item in self.chunks:
            yield copy.deepcopy(item)


async def noted_answer(inner: Answers) -> tuple[JSONObject, ToolNotes]:
    """The adapter's answer to MESSAGES with TOOLS, and the tool notes it left."""
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
    return answer, notes


async def test_words_naming_a_function_are_followed_by_its_call() -> None:
    inner = Answers(DESCRIBED, WRITTEN, "", "")
    answer, notes = await noted_answer(inner)
    message = answer["choices"][0]["message"]
    assert message["content"] == DESCRIBED
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("legal_case_fetch", {"case_id": "R vs Adams"})]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert inner.sent[1]["messages"][-1]["content"].endswith('"name": "legal_case_fetch", "arguments": {')
    assert inner.calls == 4  # the words, the call asked for, its continuation and one push for more
    assert answer["usage"]["completion_tokens"] == 12  # every request counted
    assert notes[0] == {"model": "qwen", "action": ACTION_DESCRIBED_CALL, "reason": REASON_DESCRIBED_MADE,
                                "functions": ["legal_case_fetch"], "made": True}


async def test_a_described_call_with_no_value_from_the_conversation_keeps_the_words() -> None:
    inner = Answers(DESCRIBED, '"case_id": "Smith v Jones"}}')
    answer, notes = await noted_answer(inner)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": DESCRIBED}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert inner.calls == 2
    assert answer["usage"]["completion_tokens"] == 6  # both requests counted
    assert notes == [{"model": "qwen", "action": ACTION_DESCRIBED_CALL, "reason": REASON_DESCRIBED_KEPT,
                              "functions": ["legal_case_fetch"], "made": False}]


async def test_make_described_calls_false_and_plain_words_send_one_request() -> None:
    for adapter, first in ((FencedToolCallAdapter, "It is R vs Adams."),
                           (lambda inner: FencedToolCallAdapter(inner, make_described_calls=False), DESCRIBED)):
        inner = Answers(first, WRITTEN)
        answer = await adapter(inner).complete({"messages": MESSAGES, "tools": TOOLS})
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": first}
        assert inner.calls == 1


async def collect(stream: AsyncIterator[JSONObject]) -> list[JSONObject]:
    return [item async for item in stream]


async def test_streamed_words_naming_a_function_end_with_its_call() -> None:
    inner = Answers(DESCRIBED, WRITTEN, "", "")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    sent = "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"])
    assert sent == DESCRIBED  # the words go out as they come, exactly
    calls = [o["choices"][0]["delta"]["tool_calls"][0] for o in out if o["choices"] and
             o["choices"][0]["delta"].get("tool_calls")]
    assert [(c["index"], c["function"]["name"]) for c in calls] == [(0, "legal_case_fetch")]
    finishes = [o["choices"][0]["finish_reason"] for o in out if o["choices"] and o["choices"][0]["finish_reason"]]
    assert finishes == ["tool_calls"]
    assert out[-1]["usage"]["completion_tokens"] == 12 + 3 * 3  # the stream and the three requests after it


async def test_streamed_plain_words_pass_unchanged_in_one_request() -> None:
    inner = Answers("It is R vs Adams.", WRITTEN)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    assert out == inner.chunks  # the finishing and usage chunks too, in their order
    assert inner.calls == 1
    refused = Answers(DESCRIBED, '"case_id": "Smith v Jones"}}')
    out = await collect(FencedToolCallAdapter(refused).stream({"messages": MESSAGES, "tools": TOOLS}))
    assert [o["choices"][0]["finish_reason"] for o in out if o["choices"]][-1] == "stop"
    assert not any(o["choices"][0]["delta"].get("tool_calls") for o in out if o["choices"])
    assert refused.calls == 2


FENCED_ARGUMENTS = ("To get it, I would use the `legal_case_fetch` function. The arguments I would provide:\n"
                    '```json\n{"case_id": "R vs Adams"}\n```')


async def test_words_then_a_fenced_example_of_the_arguments_end_with_the_call_streamed_or_not() -> None:
    inner = Answers(FENCED_ARGUMENTS, WRITTEN, "", "")
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    sent = "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"])
    assert sent == FENCED_ARGUMENTS  # the words and the fence, as written, then the call
    calls = [o["choices"][0]["delta"]["tool_calls"][0] for o in out if o["choices"] and
             o["choices"][0]["delta"].get("tool_calls")]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("legal_case_fetch", {"case_id": "R vs Adams"})]
    finishes = [o["choices"][0]["finish_reason"] for o in out if o["choices"] and o["choices"][0]["finish_reason"]]
    assert finishes == ["tool_calls"]
    assert out.index(next(o for o in out if o["choices"] and o["choices"][0]["delta"].get("tool_calls"))) > max(
        i for i, o in enumerate(out) if o["choices"] and o["choices"][0]["delta"].get("content"))
    plain = await FencedToolCallAdapter(Answers(FENCED_ARGUMENTS, WRITTEN, "", "")).complete(
        {"messages": MESSAGES, "tools": TOOLS})
    assert [c["function"]["name"] for c in plain["choices"][0]["message"]["tool_calls"]] == ["legal_case_fetch"]


async def test_words_then_a_fence_that_is_no_call_pass_unchanged_when_nothing_is_described() -> None:
    text = "Here is an example:\n```json\n{\"case_id\": \"R vs Adams\"}\n```"
    inner = Answers(text, WRITTEN)
    out = await collect(FencedToolCallAdapter(inner).stream({"messages": MESSAGES, "tools": TOOLS, "stream": True}))
    assert "".join(o["choices"][0]["delta"].get("content") or "" for o in out if o["choices"]) == text
    assert [o["choices"][0]["finish_reason"] for o in out if o["choices"]][-1] == "stop"
    assert inner.calls == 1


# --- words holding placeholders where values should be --------------------------------------------

PLACEHOLDER_WORDS = "The case information for R vs Adams is: [insert case details]. Its status is XXX."
"""The shape measured: the 1.5B on BFCL multi_turn_base_75 ("The front left tire pressure is XXX PSI ...")."""
PICKED = 'legal_case_fetch", "arguments": {"case_id": "R vs Adams"}}'  # written after `{"name": "`


@pytest.mark.parametrize(("text", "placeholder"), [
    ("The front left tire pressure is XXX PSI.", True),
    ("It costs $XX.XX today.", True),
    ("The price is [Current Price].", True),
    ("Enter <insert value> here.", True),
    ("Order the XXL shirt.", False),  # a size, not a placeholder
    ("The tire pressure is 32 PSI.", False),
    ("Use xx as the prefix.", False),  # lower case
])
def test_placeholders_are_capital_x_runs_and_bracketed_insert_words(text: str, placeholder: bool) -> None:
    assert has_placeholders(text) is placeholder


async def test_words_holding_placeholders_are_replaced_by_the_call_that_gives_the_values() -> None:
    inner = Answers(PLACEHOLDER_WORDS, PICKED, "", "")
    answer, notes = await noted_answer(inner)
    message = answer["choices"][0]["message"]
    assert message["content"] is None  # the placeholder words are dropped
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        ("legal_case_fetch", {"case_id": "R vs Adams"})]
    assert inner.sent[1]["messages"][-1]["content"] == '<tool_call>\n{"name": "'  # the model picks the function
    assert notes[0] == {"model": "qwen", "action": ACTION_DESCRIBED_CALL, "reason": REASON_PLACEHOLDERS_MADE,
                        "functions": ["legal_case_fetch"], "made": True, "placeholders": True}


async def test_placeholder_words_whose_call_takes_nothing_from_the_conversation_are_kept() -> None:
    inner = Answers(PLACEHOLDER_WORDS, 'legal_case_fetch", "arguments": {"case_id": "Smith v Jones"}}')
    answer, notes = await noted_answer(inner)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": PLACEHOLDER_WORDS}
    assert inner.calls == 2
    assert notes[0]["made"] is False
    assert notes[0]["placeholders"] is True
    after_result = [*MESSAGES, {"role": "assistant", "content": None, "tool_calls": [{
        "id": "c1", "type": "function", "function": {"name": "legal_case_fetch", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"}]
    assert not plan_request({"messages": after_result, "tools": TOOLS}).fills_placeholders(PLACEHOLDER_WORDS)


async def test_a_placeholder_call_to_a_function_off_the_request_topic_keeps_the_words() -> None:
    """Where no function fits (BFCL's irrelevance items), placeholder words must not become a call that
    merely takes a value from the request: the function must share a topic word with it."""
    asked = [{"role": "user", "content": "How many people live in Adams county?"}]
    words = "The population of Adams county is XXX people."
    inner = Answers(words, 'park_information", "arguments": {"park": "Adams"}}')
    answer = await FencedToolCallAdapter(inner).complete({"messages": asked, "tools": TOOLS})
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": words}
    assert inner.calls == 2
