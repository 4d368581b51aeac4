"""Calls that only repeat another call's values under a function the request does not name: which are
dropped (BFCL's own misses), which are kept (parallel requests), and the adapter doing it, noted."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_alternatives import without_alternatives
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ACTION_ALTERNATIVES_DROPPED, REASON_ALTERNATIVES_DROPPED
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject


def call(name: str, **arguments: Any) -> ParsedToolCall:
    return ParsedToolCall(name, json.dumps(arguments))


def names(calls: list[ParsedToolCall]) -> list[str]:
    return [one.name for one in calls]


GLUCOSE = "What is the energy produced by 5 mol of glucose (C6H12O6)?"
BIOMASS = call("biological_calc_biomass", energy=5)
ENERGY = call("biological_calc_energy", mols=5, substance="C6H12O6", joules_per_mol=2800)


def test_a_near_function_the_request_does_not_name_repeating_the_others_values_is_dropped() -> None:
    """BFCL multiple_43 and multiple_69 (the 0.5B's answers): whichever comes first."""
    assert without_alternatives([BIOMASS, ENERGY], GLUCOSE) == ([ENERGY], [BIOMASS])
    assert without_alternatives([ENERGY, BIOMASS], GLUCOSE) == ([ENERGY], [BIOMASS])
    traits = {"talkative": True, "nervous": True, "artistic_interests": False, "lazy": True, "forgiving": True}
    five = call("five_factor_model_analyse", **traits)
    mbti = call("MBTI_analyse", thinking_vs_feeling="talkative", introverted_vs_extroverted="talkative")
    request = ("Determine my personality type based on the five factor model with given information: I'm talkative, "
               "gets nervous easily, has few artistic interests, tend to be lazy and has a forgiving nature.")
    assert without_alternatives([five, mbti], request) == ([five], [mbti])


def test_a_second_call_taking_its_value_from_the_firsts_argument_name_is_dropped() -> None:
    """BFCL multiple_44: "Earth" is the first call's `weight_earth_kg`, not a second planet."""
    mars = call("calculate_weight_in_space", weight_earth_kg=70, planet="Mars")
    earth = call("calculate_weight_in_space", weight_earth_kg=70, planet="Earth")
    request = "How much will I weigh on Mars if my weight on Earth is 70 kg?"
    assert without_alternatives([mars, earth], request) == ([mars], [earth])


def test_a_call_asking_less_than_another_to_the_same_function_is_dropped_where_one_thing_is_asked() -> None:
    """BFCL simple_python_7 and multiple_81 (the 0.5B continued its call with the same and more)."""
    bare, inches = call("calculate_circumference", radius=4), call("calculate_circumference", radius=4, unit="inches")
    request = "What is the circumference of a circle with a radius of 4 inches?"
    assert without_alternatives([bare, inches], request) == ([inches], [bare])
    assert without_alternatives([inches, bare], request) == ([inches], [bare])
    ticket = call("concert_book_ticket", artist="Eminem", location="New York City")
    backstage = call("concert_book_ticket", artist="Eminem", location="New York City", add_ons=["Backstage Pass"])
    request = "Book a ticket for the Eminem concert in New York City, I would like the one with backstage access."
    assert without_alternatives([ticket, backstage], request) == ([backstage], [ticket])
    # asked twice: by bus, and then with transfers allowed (several things), or joined by "and": both stay
    bus = call("city_distance_find_shortest", start_city="New York", end_city="Los Angeles", transportation="bus")
    transfers = call("city_distance_find_shortest", start_city="New York", end_city="Los Angeles",
                     transportation="bus", allow_transfer=True)
    for request in ("What is the shortest distance from New York to Los Angeles by bus? And if we allow transfers?",
                    "Shortest distance New York to Los Angeles by bus, with and without transfers."):
        assert without_alternatives([bus, transfers], request) == ([bus, transfers], [])


def test_parallel_requests_keep_every_call() -> None:
    kept = [
        # both functions named: "area and circumference"
        ([call("circle_area", radius=5), call("circle_circumference", radius=5)],
         "Find the area and circumference of a circle of radius 5."),
        # neither named ("all clouds"): nothing tells which one the user meant, so both stay
        ([call("get_aws_pricing", memory=4, cpu=2), call("get_gcp_pricing", memory=4, cpu=2)],
         "What's cost of 2 cpu and 4 gb ram machine on all clouds?"),
        # a value the other call lacks ("woodland"): a second request (BFCL multiple_7, where BFCL wants one)
        ([call("wildlife_population_assess_growth", species="deer", location="Washington", duration=10),
          call("ecological_impact_analyze", species="deer", ecosystem="woodland", location="Washington")],
         "How to assess the population growth in deer and their impact on woodland in Washington state?"),
        # the same function: another value, identical calls ("two draws"), a call that leaves one out
        ([call("get_weather", city="Paris"), call("get_weather", city="London")], "Weather in Paris and London?"),
        ([call("random_normalvariate", mu=10, sigma=3), call("random_normalvariate", mu=10, sigma=3)],
         "Draw two from a normal distribution with a mean of 10 and a standard deviation of 3."),
        ([call("estimate_population", species="tigers", country="India"),
          call("estimate_population", species="tigers", country="India", year=2023)],
         "Estimate the population of tigers in India now and in 2023."),
        # values are matched whole: "spaghetti" is not "Homemade Spaghetti with Gluten-Free Sauce" (BFCL
        # parallel_multiple_55, live: the search was dropped beside the prep time when words were matched)
        ([call("recipe_search", ingredient="spaghetti", dietary_requirements=["gluten_free"], isHomemade=True),
          call("recipe_prep_time", recipe="Homemade Spaghetti with Gluten-Free Sauce")],
         "I want a homemade healthy spaghetti recipe that is gluten free, how long will it take to prepare and cook?"),
        # a value written in another script is not among the other's words
        ([call("weather_search", location="Seoul"), call("control_appliance", command="거실, 에어컨, 실행")],
         "What is the weather in Seoul? Also turn on the air conditioner in the living room."),
    ]
    for calls, request in kept:
        assert without_alternatives(calls, request) == (calls, []), names(calls)


def test_a_function_named_with_its_spaces_left_out_counts_as_named() -> None:
    google = call("google_books_search", genre="mystery")
    library = call("openlibrary_books_search", genre="mystery")
    request = "Find mystery books: check Google Books and Open Library."
    assert without_alternatives([google, library], request) == ([google, library], [])
    assert without_alternatives([google, library], "Find mystery books on Google Books.") == ([google], [library])


async def test_the_adapter_drops_under_drop_unasked_arguments_and_notes_it() -> None:
    """Judged after unasked arguments are dropped: the model's biomass call also held an `efficiency` of
    its own, a value the other call lacks until it goes (BFCL multiple_43, live)."""
    raw_biomass = {"energy": 5, "efficiency": 0.1}
    answer = "\n".join(json.dumps({"name": name, "arguments": arguments}) for name, arguments in (
        (BIOMASS.name, raw_biomass), (ENERGY.name, json.loads(ENERGY.arguments))))
    number, string = {"type": "number"}, {"type": "string"}
    tools = [{"type": "function",
              "function": {"name": name, "parameters": {"type": "object", "properties": properties}}}
             for name, properties in (
                 ("biological_calc_biomass", {"energy": number, "efficiency": number}),
                 ("biological_calc_energy", {"mols": number, "substance": string, "joules_per_mol": number}))]
    body: JSONObject = {"messages": [{"role": "user", "content": GLUCOSE}], "tools": tools}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, ""), continue_calls=False).complete(body)
    assert [c["function"]["name"] for c in out["choices"][0]["message"]["tool_calls"]] == ["biological_calc_energy"]
    assert [note for note in notes if note["action"] == ACTION_ALTERNATIVES_DROPPED] == [
        {"model": "qwen", "action": ACTION_ALTERNATIVES_DROPPED, "reason": REASON_ALTERNATIVES_DROPPED,
         "functions": ["biological_calc_biomass"]}]
    off = await FencedToolCallAdapter(AnswersInOrder(answer, ""), continue_calls=False,
                                      drop_unasked_arguments=False).complete(body)
    assert len(off["choices"][0]["message"]["tool_calls"]) == 2
