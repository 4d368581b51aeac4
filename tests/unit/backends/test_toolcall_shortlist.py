"""The tool shortlist: the ranking, the functions always kept, no signal -> every tool, and the
adapter sending the model only the shortlisted signatures (and logging counts, no request text)."""

from __future__ import annotations

import json
import logging

import pytest

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_shortlist import (
    REASON_CUT,
    REASON_FAMILY,
    REASON_FEW_MEET,
    REASON_NO_SIGNAL,
    REASON_TIE,
    rank_scores,
    shortlist_tools,
    shortlisted_body,
    tool_families,
)
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.types import JSONObject


def function(name: str, description: str, *parameters: str, enum: tuple[str, ...] = ()) -> JSONObject:
    properties: JSONObject = {parameter: {"type": "string"} for parameter in parameters}
    if enum:
        properties["unit"] = {"type": "string", "enum": list(enum)}
    return {"name": name, "description": description, "parameters": {"type": "object", "properties": properties}}


WEATHER = function("get_weather", "Current weather conditions for a city.", "city", enum=("celsius", "fahrenheit"))
FLIGHT = function("book_flight", "Book a flight between two airports.", "origin", "destination")
EMAIL = function("send_email", "Send an email message to a recipient.", "recipient", "subject")
MUSIC = function("playSong", "Play a song by an artist on the speaker.", "artist")
ALARM = function("set_alarm", "Set an alarm clock for a time.", "time")
STOCK = function("get_stock_price", "Latest trading price of a company's shares.", "ticker")
FORECAST = function("weather_forecast", "Weather forecast for the next days in a city.", "city", "days")
FUNCTIONS = [WEATHER, FLIGHT, EMAIL, MUSIC, ALARM, STOCK, FORECAST]


def body(text: str, *functions: JSONObject, **extra: object) -> JSONObject:
    return {"messages": [{"role": "user", "content": text}],
            "tools": [{"type": "function", "function": f} for f in functions or FUNCTIONS], **extra}


def kept(shortlist_body: JSONObject, k: int) -> list[str]:
    return [tool["function"]["name"] for tool in shortlist_tools(shortlist_body, k).tools]


def test_functions_rank_by_the_words_they_share_with_the_request() -> None:
    scores = rank_scores("What's the weather in Oslo today, in celsius?", FUNCTIONS)
    assert scores[0] == max(scores) > scores[6] > 0  # get_weather: "weather" and the enum "celsius"
    assert scores[1:6] == [0.0] * 5
    play = rank_scores("Play the latest song by Adele", FUNCTIONS)
    assert play.index(max(play)) == 3  # camelCase split: "play", "song"
    assert rank_scores("上海的天气怎么样", FUNCTIONS) == [0.0] * 7  # no Latin words: no signal
    assert rank_scores("weather", []) == []


def test_a_word_every_function_holds_counts_less_than_a_rare_one() -> None:
    common = [function("a_city_weather", "A city."), function("b_city_time", "A city."), function("c_city", "A city.")]
    scores = rank_scores("weather in a city", common)
    assert scores[0] > scores[1] > 0  # both hold "city"; only the first holds the rarer "weather"


def test_a_long_list_is_cut_to_the_k_best_in_the_callers_order() -> None:
    request = body("Book a flight to Oslo and email the weather forecast to Ana")
    assert kept(request, 3) == ["book_flight", "send_email", "weather_forecast"]
    shortlist = shortlist_tools(request, 3)
    assert (shortlist.dropped, shortlist.reason) == (4, REASON_CUT)
    assert kept(request, 4) == ["get_weather", "book_flight", "send_email", "weather_forecast"]


def test_a_list_no_longer_than_k_or_k_zero_or_tool_choice_none_is_kept_whole() -> None:
    request = body("Book a flight to Oslo")
    for k in (0, 7, 8):
        assert shortlist_tools(request, k).dropped == 0
        assert shortlist_tools(request, k).reason is None
    assert shortlist_tools(body("Book a flight to Oslo", tool_choice="none"), 1).tools == request["tools"]
    assert shortlist_tools({"messages": []}, 3).tools == []


def test_no_signal_keeps_every_tool_never_a_blind_guess() -> None:
    # "Will it rain tomorrow?" meets no function's words: nothing to rank by, so nothing dropped
    for text in ("Will it rain tomorrow in Oslo?", "上海的天气", ""):
        shortlist = shortlist_tools(body(text), 2)
        assert (len(shortlist.tools), shortlist.dropped, shortlist.reason) == (7, 0, REASON_NO_SIGNAL)


def test_fewer_functions_meeting_the_request_than_k_keeps_every_tool() -> None:
    # Only "book_flight" meets the request: the k-th place is a tie at no score, and the right
    # function may be one that shares no word with it ("rain" for a weather function).
    shortlist = shortlist_tools(body("Book a flight to Oslo, will it rain there?"), 2)
    assert (len(shortlist.tools), shortlist.dropped, shortlist.reason) == (7, 0, REASON_FEW_MEET)


def test_functions_tied_at_the_cut_are_all_kept() -> None:
    twins = [function("city_time", "Local time in a city."), function("city_weather", "Weather in a city."),
             function("city_weather_2", "Weather in a city."), EMAIL, ALARM]
    assert kept(body("What's the weather in the city of Oslo?", *twins), 1) == ["city_weather", "city_weather_2"]
    alike = [function(f"city_weather_{n}", "Weather in a city.") for n in range(4)]
    shortlist = shortlist_tools(body("weather in Oslo", *alike), 2)
    assert (len(shortlist.tools), shortlist.dropped, shortlist.reason) == (4, 0, REASON_TIE)


def test_the_function_tool_choice_names_and_the_ones_called_before_are_always_kept() -> None:
    choice = {"type": "function", "function": {"name": "set_alarm"}}
    named = body("Book a flight to Oslo and email me", tool_choice=choice)
    assert kept(named, 2) == ["book_flight", "send_email", "set_alarm"]
    earlier = body("Book a flight to Oslo and email me")
    earlier["messages"] = [
        {"role": "user", "content": "Play something by Adele"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "playSong", "arguments": '{"artist": "Adele"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "playing"},
        {"role": "user", "content": "Now book a flight to Oslo and send an email"},
    ]
    assert kept(earlier, 2) == ["book_flight", "send_email", "playSong"]  # ranked on the latest request only


FILES = "This tool belongs to the file system, which stores the user's documents."
SOCIAL = "This tool belongs to the social network, where the user posts short messages."
CAR = "This tool belongs to the car control system, which drives the vehicle's parts."
FILE_TOOLS = [function("cat", f"{FILES} Display the contents of a file.", "file_name"),
              function("cd", f"{FILES} Change the current working directory.", "folder"),
              function("ls", f"{FILES} List the entries of the current directory.")]
SOCIAL_TOOLS = [function("login", f"{SOCIAL} Log in with a username and a password.", "username"),
                function("post_tweet", f"{SOCIAL} Post a tweet with tags.", "content")]
CAR_TOOLS = [function("start_engine", f"{CAR} Start the engine.", "mode"),
             function("press_brake", f"{CAR} Press the brake pedal.", "force")]


def test_functions_documented_with_the_same_opening_sentence_form_a_family() -> None:
    lone = function("lone", "This tool belongs to the file system, which stores the user's documents!")
    short = [function("a", "Short lead. Reads a."), function("b", "Short lead. Reads b.")]
    whole = [function(name, "Does what its name says, nothing more.") for name in ("c", "d")]
    families = tool_families([*FILE_TOOLS, *SOCIAL_TOOLS, lone, *short, *whole, EMAIL])
    assert families[:5] == [FILES] * 3 + [SOCIAL] * 2
    # no other opening like it; "Short lead." too short; a whole description alike is no opening; none shared
    assert families[5:] == [None] * 6


def test_the_families_of_the_two_best_ranked_functions_are_kept_whole() -> None:
    # "cd" and "ls" share no word with the request (score 0), yet reading a file may need them first
    tools = [*FILE_TOOLS, *SOCIAL_TOOLS, *CAR_TOOLS, ALARM]
    read = body("Display the contents of report.txt", *tools)
    assert kept(read, 1) == ["cat", "cd", "ls"]
    assert shortlist_tools(read, 1, family_top=0).tools == read["tools"][:1]  # the ranking alone: cat
    # k = 2: the two best are cat and post_tweet ("content"): both families whole; the car's dropped
    assert kept(read, 2) == ["cat", "cd", "ls", "login", "post_tweet"]
    assert shortlist_tools(read, 2, family_top=1).tools == read["tools"][:3] + read["tools"][4:5]
    post = body("Start the engine, then post a tweet and display a file", *tools)
    shortlist = shortlist_tools(post, 3)
    # best start_engine, post_tweet; third cat: kept (k = 3), its family not (cd, ls), nor set_alarm
    assert [tool["function"]["name"] for tool in shortlist.tools] == [
        "cat", "login", "post_tweet", "start_engine", "press_brake"]
    assert (shortlist.dropped, shortlist.reason) == (3, REASON_CUT)


def test_a_family_holding_every_tool_keeps_them_all_and_says_why() -> None:
    request = body("Display the contents of report.txt", *FILE_TOOLS)
    shortlist = shortlist_tools(request, 1)
    assert (len(shortlist.tools), shortlist.dropped, shortlist.reason) == (3, 0, REASON_FAMILY)
    assert shortlist_tools(request, 1, family_top=0).reason == REASON_CUT


def test_earlier_requests_do_not_rank_and_a_called_function_brings_no_family() -> None:
    request = body("Start the engine now", *FILE_TOOLS, *SOCIAL_TOOLS, *CAR_TOOLS, ALARM)
    request["messages"] = [
        {"role": "user", "content": "Post a tweet saying hello"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "post_tweet", "arguments": '{"content": "hi"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "posted"},
        {"role": "user", "content": "Start the engine now"},
    ]
    # the car family (best-ranked) and the called post_tweet; not login, not the file system
    assert kept(request, 1) == ["post_tweet", "start_engine", "press_brake"]


def test_shortlisted_body_replaces_only_the_tools() -> None:
    request = body("Book a flight to Oslo and email the weather forecast to Ana", temperature=0)
    shortened, shortlist = shortlisted_body(request, 3)
    assert shortened == {**request, "tools": shortlist.tools}
    assert len(request["tools"]) == 7  # the caller's body is not changed
    whole, _ = shortlisted_body(request, 0)
    assert whole is request


async def test_the_model_sees_only_the_shortlisted_signatures_and_counts_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = json.dumps({"name": "book_flight", "arguments": {"destination": "Oslo"}})
    inner = AnswersInOrder(call, "", "")
    request = body("Book a flight to Oslo and email the weather forecast to Ana")
    with caplog.at_level(logging.INFO, logger="voxgate.tool_calls"):
        answer = await FencedToolCallAdapter(inner, shortlist=3, force_calls=False).complete(request)
    system = inner.sent[0]["messages"][0]["content"]
    assert system.count('{"type": "function"') == 3
    assert '"book_flight"' in system
    assert '"set_alarm"' not in system
    assert '"get_weather"' not in system
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "book_flight"
    record = next(r for r in caplog.records if r.getMessage() == "tool list shortlisted: 3 of 7 kept")
    assert (record.voxgate_tool_check, record.voxgate_tools_kept, record.voxgate_tools_dropped) == (  # type: ignore[attr-defined]
        REASON_CUT, 3, 4)
    assert "Oslo" not in caplog.text
    assert "Ana" not in caplog.text


async def test_a_call_to_a_function_left_off_the_shortlist_is_not_a_tool_call() -> None:
    dropped = json.dumps({"name": "set_alarm", "arguments": {"time": "7:00"}})
    inner = AnswersInOrder(dropped, "", "")
    request = body("Book a flight to Oslo and email the weather forecast to Ana")
    answer = await FencedToolCallAdapter(inner, shortlist=3, force_calls=False).complete(request)
    assert "tool_calls" not in answer["choices"][0]["message"]  # not declared to the model: left as text
    streamed = AnswersInOrder(json.dumps({"name": "book_flight", "arguments": {"destination": "Oslo"}}), "", "")
    async for _ in FencedToolCallAdapter(streamed, shortlist=3, force_calls=False).stream(request):
        pass
    assert streamed.sent[0]["messages"][0]["content"].count('{"type": "function"') == 3


async def test_off_by_default_in_the_adapter_every_signature_is_sent() -> None:
    inner = AnswersInOrder("I can help with that.")
    await FencedToolCallAdapter(inner).complete(body("Book a flight to Oslo and email the weather forecast to Ana"))
    assert inner.sent[0]["messages"][0]["content"].count('{"type": "function"') == 7
