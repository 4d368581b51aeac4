"""Calls that follow words in one answer are judged by grounding as calls alone are
(`tools.ground_calls_after_words`): refused and asked again in words, not streamed or not; streamed,
the words asked again follow the prose that went out, as one answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from tests.unit.backends.test_toolcall_missing import ASK, BUY, GODFATHER, MESSAGES, QUESTION, TOOLS, call_text
from voxgate.backends.toolcall_missing import missing_note
from voxgate.backends.toolcall_stream import ToolCallStreamRewriter
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import ToolNotes, noting_tools
from voxgate.core.types import JSONObject

PROSE = "Sure! I will buy the tickets for you:\n"
INVENTED_AFTER_WORDS = f"{PROSE}{call_text(GODFATHER)}"
GIVEN = json.dumps({"name": "buy_movie_tickets",
                    "arguments": {"movie_name": "Up", "number_of_tickets": 4, "location": "Concord"}})
BODY: JSONObject = {"messages": MESSAGES, "tools": TOOLS}


def piece(answer_id: str, delta: JSONObject, finish_reason: str | None = None) -> JSONObject:
    return {"id": answer_id, "object": "chat.completion.chunk", "created": 8 if answer_id == "first" else 9,
            "model": "qwen", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}


def streamed(answer_id: str, text: str, tokens: int) -> list[JSONObject]:
    """`text` as a model streams it: a role, then a few characters at a time, a stop, then usage."""
    pieces = [text[start:start + 6] for start in range(0, len(text), 6)]
    usage = {"id": answer_id, "object": "chat.completion.chunk", "created": 8, "model": "qwen", "choices": [],
             "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}}
    return [piece(answer_id, {"role": "assistant", "content": ""}),
            *(piece(answer_id, {"content": part}) for part in pieces), piece(answer_id, {}, "stop"), usage]


class StreamsInOrder(AnswersInOrder):
    """Streams each answer of `texts` in order, a few characters at a time (`streamed`)."""

    async def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        text = (await self.complete(body))["choices"][0]["message"]["content"]
        for item in streamed("first" if len(self.sent) == 1 else "second", text, 3 * len(self.sent)):
            yield item


def content_of(chunks: list[JSONObject]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def test_a_made_up_call_after_words_is_asked_again_for_what_is_missing() -> None:
    inner = AnswersInOrder(INVENTED_AFTER_WORDS, QUESTION)
    notes: ToolNotes = []
    with noting_tools(notes):
        answer = await FencedToolCallAdapter(inner).complete(BODY)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": QUESTION}  # no call, no prose
    assert inner.sent[1]["messages"][-1]["content"] == f"{ASK}\n\n{missing_note(BUY, ['movie_name'])}"
    assert notes == [{"model": "qwen", "action": "asked_again_in_words",
                      "reason": "no call takes a value from the conversation", "functions": ["buy_movie_tickets"],
                      "asked_for": ["movie_name"], "after_words": True}]


async def test_a_grounded_call_after_words_is_made_and_off_a_made_up_one_is_too() -> None:
    given = await FencedToolCallAdapter(AnswersInOrder(f"{PROSE}{GIVEN}", "")).complete(
        {"messages": [{"role": "user", "content": f"{ASK} The movie is Up."}], "tools": TOOLS})
    message = given["choices"][0]["message"]
    assert message["content"] == PROSE.strip()
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["buy_movie_tickets"]
    off = await FencedToolCallAdapter(AnswersInOrder(INVENTED_AFTER_WORDS, ""),
                                      ground_calls_after_words=False).complete(BODY)
    assert "Godfather" in off["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    alone = await FencedToolCallAdapter(AnswersInOrder(call_text(GODFATHER), QUESTION),
                                        ground_calls_after_words=False).complete(BODY)
    assert alone["choices"][0]["message"]["content"] == QUESTION  # calls alone are judged either way


async def test_streamed_the_words_asked_again_follow_the_prose_as_one_answer() -> None:
    inner = StreamsInOrder(INVENTED_AFTER_WORDS, QUESTION)
    chunks = [c async for c in FencedToolCallAdapter(inner).stream(BODY)]
    assert content_of(chunks) == f"{PROSE}\n{QUESTION}"  # the prose's own line end, then a blank line
    assert not any(c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"])
    assert {(c["id"], c["created"]) for c in chunks} == {("first", 8)}  # one answer's identity throughout
    assert sum(1 for c in chunks if c["choices"] and "role" in c["choices"][0]["delta"]) == 1
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finishes == ["stop"]
    assert [c["usage"]["completion_tokens"] for c in chunks if c.get("usage")] == [3 + 6]  # both answers counted
    assert inner.sent[1]["messages"][-1]["content"].endswith(missing_note(BUY, ["movie_name"]))


async def test_streamed_off_the_call_after_words_reaches_the_client() -> None:
    inner = StreamsInOrder(INVENTED_AFTER_WORDS, QUESTION)
    adapter = FencedToolCallAdapter(inner, ground_calls_after_words=False, continue_calls=False)
    chunks = [c async for c in adapter.stream(BODY)]
    calls = [c["choices"][0]["delta"]["tool_calls"] for c in chunks if c["choices"]
             and c["choices"][0]["delta"].get("tool_calls")]
    assert "Godfather" in calls[0][0]["function"]["arguments"]
    assert inner.calls == 1


def test_the_rewriter_shows_calls_after_prose_and_sets_its_continuation_apart() -> None:
    rewriter = ToolCallStreamRewriter({"buy_movie_tickets"})
    for item in streamed("first", INVENTED_AFTER_WORDS, 3)[:-2]:
        rewriter.feed(item)
    assert rewriter.calls_after_prose() == INVENTED_AFTER_WORDS
    assert rewriter.held_text() is None  # prose went out
    first = rewriter.continuing(piece("second", {"role": "assistant", "content": " "}))
    assert first["id"] == "first"
    assert first["choices"][0]["delta"] == {"content": ""}
    assert rewriter.continuing(piece("second", {"content": "Which?"}))["choices"][0]["delta"] == {"content": "\nWhich?"}
    assert rewriter.continuing(piece("second", {"content": " Up?"}))["choices"][0]["delta"] == {"content": " Up?"}
    words = ToolCallStreamRewriter({"buy_movie_tickets"})
    for item in streamed("first", f"{PROSE}```json\n{{\"city\": \"Concord\"}}\n```", 3)[:-2]:
        words.feed(item)
    assert words.calls_after_prose() is None  # held text that is no call
