"""Whether a declared function is about what the user asks: the words each text gives, what each
function/request pair gets, the plan's check, and the adapter asking an off-topic call again in words."""

from __future__ import annotations

import json
import logging

import pytest

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_relevance import (
    asks_several_things,
    function_words,
    names_new_task,
    request_text,
    shares_topic,
    topic_words,
)
from voxgate.backends.toolcalls import (
    REASON_OFF_TOPIC,
    REASON_UNGROUNDED,
    FencedToolCallAdapter,
    plan_request,
    words_reason,
)
from voxgate.core.types import JSONObject

STOCK: JSONObject = {
    "name": "get_stock_data", "description": "Retrieve the latest trading price of a company's shares.",
    "parameters": {"type": "object", "required": ["company"], "properties": {
        "company": {"type": "string", "description": "Ticker or name of the company."}}},
}
WEATHER: JSONObject = {
    "name": "getCurrentWeather", "description": "Current conditions for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}},
}
LAKERS = "What was the final score of the Lakers game last night?"  # BFCL irrelevance_72's kind


def test_topic_words_are_stems_of_latin_words_without_stop_words() -> None:
    assert topic_words("What are the temperatures in Oslo?") == {"temper", "oslo"}
    assert topic_words("temperature") == topic_words("Temperatures")  # one stem: "temper"
    assert topic_words("getCurrentWeather") == {"curren", "weathe"}  # camelCase split, "get" a stop word
    assert topic_words("Find me a big cat") == {"big", "cat"}  # "find" a stop word, "me" and "a" under 3 letters
    assert topic_words("Please tell me what you can do") == set()
    assert topic_words("上海的天气") == set()  # no Latin letters: no words
    assert topic_words("") == set()


def test_function_words_come_from_the_name_description_and_parameters() -> None:
    words = function_words(WEATHER)
    assert {"curren", "weathe", "condit", "city", "unit", "celsiu", "fahren"} <= words
    assert function_words({"name": "spotify.play_song"}) == {"spotif", "play", "song"}
    assert function_words({"name": 3, "description": None, "parameters": ["x"]}) == set()  # malformed: nothing
    nested: JSONObject = {"name": "f", "parameters": {"type": "object", "properties": {"items": {
        "type": "array", "items": {"type": "object", "properties": {"ticker": {"type": "string"}}}}}}}
    assert "ticker" in function_words(nested)


def test_a_function_shares_the_topic_of_a_request_when_some_word_meets() -> None:
    assert not shares_topic(STOCK, topic_words(LAKERS))  # filled from the request, but off topic
    assert shares_topic(STOCK, topic_words("What is Apple's share price today?"))  # "shares"/"share" meet
    assert shares_topic(WEATHER, topic_words("Will it be warm in Oslo, in Fahrenheit?"))  # through an enum value
    assert shares_topic(STOCK, topic_words("上海目前的股价"))  # no Latin words: the check does not apply


@pytest.mark.parametrize(("name", "made", "named"), [
    ("kinematics_distance_traveled", ["kinematics_final_velocity"], True),  # "distance": the request's, not made's
    ("kinematics.final_velocity", ["kinematics_final_velocity"], False),  # the same words
    ("kinematics_acceleration", ["kinematics_final_velocity"], False),  # a new word the request lacks
    ("distance_search", ["velocity_search"], True),
    ("search_fetch", ["velocity_lookup"], False),  # generic verbs name no task
])
def test_a_function_names_a_new_task_by_a_word_of_its_name_the_request_has_and_the_made_ones_lack(
    name: str, made: list[str], named: bool
) -> None:
    request = topic_words("Calculate the final velocity of a car. Also, compute the total distance covered and search.")
    assert names_new_task(name, made, request) is named


@pytest.mark.parametrize(("text", "several"), [
    ("Final velocity after 6 s? Also, compute the total distance covered.", True),  # BFCL parallel_multiple_8
    ("How many steps to lose 500 calories and how much water if I exercise 2 hours?", True),  # ..._17
    ("What is the weather in Paris? And in Oslo?", True),  # two questions
    ("The displacement of a car at 20 m/s that then accelerates at 10 m/s^2 for 5 s?", False),  # BFCL multiple_4
    ("The air quality index of New York for the next week?", False),
])
def test_a_request_asks_several_things_when_it_joins_a_second_request_on(text: str, several: bool) -> None:
    assert asks_several_things(text) is several


def test_request_text_is_the_user_messages_only() -> None:
    messages = [{"role": "system", "content": "You trade shares."}, {"role": "user", "content": LAKERS},
                {"role": "assistant", "content": "Checking."}, "not a message",
                {"role": "user", "content": [{"type": "text", "text": "Lakers again"}]}]
    assert request_text(messages) == f"{LAKERS}\nLakers again"
    assert request_text(None) == ""


def body_with(*functions: JSONObject, choice: object = "auto") -> JSONObject:
    return {"messages": [{"role": "user", "content": LAKERS}], "tool_choice": choice,
            "tools": [{"type": "function", "function": function} for function in functions]}


def call_text(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def test_a_plan_finds_an_answer_of_off_topic_calls_only_with_tool_choice_auto() -> None:
    scores: JSONObject = {"name": "game_score", "description": "Final score of a basketball game."}
    lakers = call_text("get_stock_data", company="Lakers")
    assert plan_request(body_with(STOCK)).is_off_topic(lakers)
    assert words_reason(plan_request(body_with(STOCK)), lakers) == REASON_OFF_TOPIC
    assert words_reason(plan_request(body_with(STOCK)), lakers, check_relevance=False) is None
    both = f"{lakers}\n{call_text('game_score', team='Lakers')}"
    assert not plan_request(body_with(STOCK, scores)).is_off_topic(both)  # one call on topic: kept whole
    assert not plan_request(body_with(STOCK)).is_off_topic("I cannot look up scores.")  # words are no calls
    assert not plan_request(body_with(STOCK, choice="required")).is_off_topic(lakers)  # the client demanded a call
    assert not plan_request({"messages": body_with(STOCK)["messages"]}).is_off_topic(lakers)  # no tools


def test_grounding_is_reported_before_relevance() -> None:
    invented = call_text("get_stock_data", company="Acme")  # off topic and not from the request
    assert words_reason(plan_request(body_with(STOCK)), invented) == REASON_UNGROUNDED
    assert words_reason(plan_request(body_with(STOCK)), invented, ground_calls=False) == REASON_OFF_TOPIC


async def test_an_off_topic_call_is_asked_again_in_words_and_the_reason_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner = AnswersInOrder(call_text("get_stock_data", company="Lakers"), "I cannot look up game scores.")
    with caplog.at_level(logging.INFO, logger="voxgate.tool_calls"):
        answer = await FencedToolCallAdapter(inner, check_relevance=True).complete(body_with(STOCK))
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "I cannot look up game scores."}
    assert inner.calls == 2
    assert all("<tools>" not in str(m["content"]) for m in inner.sent[1]["messages"])
    assert [record.voxgate_tool_check for record in caplog.records] == [REASON_OFF_TOPIC]  # type: ignore[attr-defined]
    assert "Lakers" not in caplog.text  # the reason only, no text of the request
    kept = AnswersInOrder(call_text("get_stock_data", company="Lakers"), "", "")
    answer = await FencedToolCallAdapter(kept, check_relevance=False, force_calls=False).complete(body_with(STOCK))
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_stock_data"


def test_after_a_tool_result_a_further_call_is_not_checked_for_the_topic() -> None:
    answered = [
        {"role": "user", "content": LAKERS},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_stock_data", "arguments": '{"company": "x"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"price": 3}'},
    ]
    plan = plan_request({"messages": answered, "tools": body_with(STOCK)["tools"]})
    assert not plan.is_off_topic(call_text("get_stock_data", company="Lakers"))


async def test_off_by_default_because_a_right_call_asked_in_other_words_shares_no_word() -> None:
    # Why `check_relevance` is opt-in: "rain" is weather, but no word says so, and the right call
    # would be asked again in words (the model then makes up the weather).
    weather: JSONObject = {"name": "get_weather", "description": "Current weather for a city",
                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    rain = "Will it rain tomorrow in Oslo?"
    assert not shares_topic(weather, topic_words(rain))
    body = {**body_with(weather), "messages": [{"role": "user", "content": rain}]}
    inner = AnswersInOrder(call_text("get_weather", city="Oslo"), "", "")
    answer = await FencedToolCallAdapter(inner, force_calls=False).complete(body)
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    dropped = AnswersInOrder(call_text("get_weather", city="Oslo"), "It will be sunny.")
    answer = await FencedToolCallAdapter(dropped, check_relevance=True, force_calls=False).complete(body)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "It will be sunny."}
