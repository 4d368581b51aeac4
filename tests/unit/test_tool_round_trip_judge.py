"""The contract the tool integration tests and `bench/tool_round_trips.py` hold an answer after a tool
result to (tests/support/tool_round_trips.py): words, or a short answer naming a value the tool
returned, whatever the wording; never JSON, never a call written out. Replies measured live."""

from __future__ import annotations

import json

import pytest

from tests.support.tool_round_trips import (
    WEATHER,
    answers_in_words,
    chat_messages,
    failed_round_trips,
    is_call_or_json,
    mentions_result,
    reads_as_words,
    round_trips,
    tool_problems,
)

PARIS = round_trips()[0]  # 21 C, sunny


@pytest.mark.parametrize("text", [
    "The temperature in Paris is 21°C and the sky is sunny.",
    "21°C, sunny",  # a sampled voice reply (1 of 160): one word of two letters, both values named
    "21 degrees Celsius, sunny.",
    "Sunny.",
])
def test_words_or_a_short_answer_naming_the_result_pass(text: str) -> None:
    assert answers_in_words(PARIS, text)


@pytest.mark.parametrize("text", [
    "",
    None,
    "Yes.",  # names nothing of the result
    '{"temperature_c": 21, "sky": "sunny"}',  # the result read back as JSON
    '[21, "sunny"]',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call> 21',
    '```json\n{"temperature_c": 21}\n```',
])
def test_json_a_call_written_out_or_nothing_of_the_result_fails(text: str | None) -> None:
    assert not answers_in_words(PARIS, text)


def test_the_short_answer_is_what_reads_as_words_alone_refused() -> None:
    assert not reads_as_words("21°C, sunny")
    assert not is_call_or_json("21°C, sunny")
    assert is_call_or_json('{"sky": "sunny"}')
    assert not is_call_or_json("{sunny} 21")  # braces, but not JSON


def test_tool_problems_reads_calls_against_the_schema_and_tool_choice() -> None:
    body = {"messages": chat_messages(PARIS)[:1], "tools": [WEATHER], "tool_choice": "required"}

    def call(arguments: object) -> dict[str, object]:
        return {"tool_calls": [{"id": "call_2", "type": "function",
                                "function": {"name": "get_weather", "arguments": json.dumps(arguments)}}]}

    assert tool_problems(body, call({"city": "Paris"})) == []
    assert [p.split(":")[0] for p in tool_problems(body, call({"town": "Paris"}))] == ["arguments_invalid"]
    assert [p.split(":")[0] for p in tool_problems(body, {"content": "Sunny."})] == ["call_required"]
    after = {"messages": chat_messages(PARIS), "tools": [WEATHER]}
    assert [p.split(":")[0] for p in tool_problems(after, call({"city": "Paris"}))] == ["repeated_call"]


def test_failed_round_trips_are_ten_errors_one_per_tool_and_the_judge_wants_the_failure_said() -> None:
    failed = failed_round_trips()
    assert len(failed) == 10
    assert len({case.name for case in failed}) == 10
    assert all(set(case.result) == {"error"} for case in failed)
    atlantis = failed[0]
    assert answers_in_words(atlantis, "I couldn't find a city called Atlantis.")
    assert mentions_result(atlantis, "I couldn't find a city called Atlantis.")
    assert not answers_in_words(atlantis, '<tool_response>\n{"error": "city not found: Atlantis"}\n</tool_response>')
    assert not answers_in_words(atlantis, '{"error": "city not found: Atlantis"}')
