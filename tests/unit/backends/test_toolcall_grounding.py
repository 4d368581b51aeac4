"""Whether a tool call's values come from the conversation: what each kind of value and call gets."""

from __future__ import annotations

import json

from voxgate.backends.toolcall_grounding import (
    brings_new_value,
    fits_parameters,
    grounding_text,
    is_another_request,
    is_grounded,
    leaf_values,
    takes_value,
)
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcalls import plan_request
from voxgate.core.types import JSONObject


def call(name: str, **arguments: object) -> ParsedToolCall:
    return ParsedToolCall(name, json.dumps(arguments))


def schema(name: str, required: list[str], **types: str) -> JSONObject:
    """A function `name` taking arguments of these JSON types, `required` of them required."""
    properties = {key: {"type": kind} for key, kind in types.items()}
    return {"name": name, "parameters": {"type": "object", "required": required, "properties": properties}}


PLAY = "Play songs from the artists Taylor Swift and Maroon 5, for 20 and 15 minutes, on Spotify."
SWIFT = call("spotify_play", artist="Taylor Swift", duration=20)
SPOTIFY: JSONObject = {"name": "spotify_play", "parameters": {"type": "object", "required": ["artist"], "properties": {
    "artist": {"type": "string"}, "duration": {"type": "integer"}}}}


def test_grounding_text_is_every_message_text_and_not_the_tools() -> None:
    messages = [
        {"role": "system", "content": "You help in Oslo."},
        {"role": "user", "content": [{"type": "text", "text": "Weather "}, {"type": "text", "text": "there?"},
                                     {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "tool", "tool_call_id": "c", "content": '{"sky": "sunny"}'},
        "not a message",
        {"role": "assistant", "content": None},
    ]
    assert grounding_text(messages) == 'You help in Oslo.\nWeather there?\n{"sky": "sunny"}\n'
    assert grounding_text(None) == ""


def test_leaf_values_are_the_strings_and_numbers_at_any_depth() -> None:
    value = {"a": "x", "b": [1, {"c": 2.5}], "d": True, "e": None, "f": []}
    assert list(leaf_values(value)) == ["x", 1.0, 2.5]
    assert list(leaf_values(False)) == []


def test_a_call_with_a_value_from_the_request_is_grounded() -> None:
    assert is_grounded(SWIFT, PLAY)
    assert is_grounded(call("f", city="boston"), "Weather in BOSTON?")  # case ignored
    assert is_grounded(call("f", city="Boston, MA"), "weather in boston and paris")  # half the words
    assert is_grounded(call("f", n=5), "the first five primes")  # a number word
    assert is_grounded(call("f", level=0.95), "a 95% confidence interval")  # a percent
    assert is_grounded(call("f", temp=298), "its temperature is 298K")
    assert is_grounded(call("f", amount=1500), "I owe 1,500 euro")
    assert is_grounded(call("f"), "anything")  # no values: nothing to check
    assert is_grounded(call("f", on=True), "turn the light on")  # booleans only: nothing to check either


def test_a_call_with_only_invented_values_is_not_grounded() -> None:
    text = "How far will a car travel in time 't' when launched with velocity 'v' at an angle 'theta'?"
    assert not is_grounded(call("calculate_projectile_range", initial_velocity=10, angle=45, time=2), text)
    assert not is_grounded(call("get_cell_type", organism="human", membrane="Phospholipid bi-layer"),
                           "Identify the type of blood cells responsible for clotting.")
    assert not is_grounded(call("f", city="New York City"), "weather in York")  # 1 word of 3
    assert not is_grounded(call("f", flag=True, none=None, city="Oslo"), "true None")  # booleans, nulls: no evidence
    assert not is_grounded(call("f", s="!!"), "!!")  # no letters or digits


def test_a_second_call_to_the_same_function_must_replace_a_value_with_one_from_the_request() -> None:
    assert brings_new_value(call("spotify_play", artist="Maroon 5", duration=15), [SWIFT], PLAY)
    assert not brings_new_value(call("spotify_play", artist="Taylor Swift", duration=20), [SWIFT], PLAY)
    # a value the request never named ("feet" after "meters")
    area = call("area", base=10, height=5, unit="meters")
    assert not brings_new_value(call("area", base=10, height=5, unit="feet"), [area], "base 10 and height 5")
    # an argument the first call left out, added: a correction, not a second request
    heat = call("heat_capacity", temp=298, volume=10)
    assert not brings_new_value(call("heat_capacity", temp=298, volume=10, gas="air"), [heat],
                                "heat capacity for air at 298K and volume 10")


def test_a_call_to_another_function_needs_a_value_from_the_request_no_call_made_has() -> None:
    text = "Play the Game of life for 3 rounds, then play chess where the 1st move is e4 and the 2nd is e5."
    life = call("game_of_life_play", rounds=3)
    assert brings_new_value(call("chess_play", moves=["e4", "e5"]), [life], text)
    triangle = call("triangle_get", side1=5, side2=4, side3=3)
    assert not brings_new_value(call("circle_get", radius=5), [triangle], "a triangle with sides 5, 4 and 3")
    assert not brings_new_value(ParsedToolCall("f", "[1]"), [life], text)  # arguments that are not an object
    # BFCL parallel_multiple_37: the 2 of "World War 2", already asked for, is no new value
    war = [call("timeline", event="World War 2"), call("figures", event="World War 2", number=1)]
    asked = "The timeline of World War 2 in Europe and its important figures."
    assert not brings_new_value(call("figures", event="World War 2", number=2), war, asked)
    assert brings_new_value(call("figures", event="World War 2", number=3), war, asked + " The top 3.")


def test_fits_parameters_wants_the_required_arguments_and_no_undeclared_one() -> None:
    assert fits_parameters(SWIFT, SPOTIFY)
    assert fits_parameters(call("spotify_play", artist="x"), SPOTIFY)
    assert not fits_parameters(call("spotify_play", duration=5), SPOTIFY)  # artist missing
    assert not fits_parameters(call("spotify_play", artist="x", required=["artist"]), SPOTIFY)  # undeclared
    open_ended = {"name": "f", "parameters": {**SPOTIFY["parameters"], "additionalProperties": True}}
    assert fits_parameters(call("f", artist="x", more=1), open_ended)
    assert fits_parameters(call("f", anything=1), {"name": "f"})  # no parameters declared
    assert not fits_parameters(ParsedToolCall("f", "[1]"), {"name": "f"})


def test_is_another_request_needs_a_declared_function_a_fit_and_a_new_value() -> None:
    functions = {"spotify_play": SPOTIFY}
    assert is_another_request(call("spotify_play", artist="Maroon 5", duration=15), [SWIFT], functions, PLAY)
    assert not is_another_request(call("spotify_stop", artist="Maroon 5"), [SWIFT], functions, PLAY)
    assert not is_another_request(call("spotify_play", duration=15), [SWIFT], functions, PLAY)
    assert not is_another_request(call("spotify_play", artist="Adele"), [SWIFT], functions, PLAY)


PRICE: JSONObject = {"name": "final_price", "parameters": {"type": "object", "required": ["price", "discount_rate"],
                                                           "properties": {"price": {"type": "number"},
                                                                          "discount_rate": {"type": "number"},
                                                                          "note": {"type": "string"}}}}
DISCOUNT = "What is the final price of a product after a 25% discount?"


def test_each_required_argument_needs_a_value_from_the_request() -> None:
    invented_price = call("final_price", price=100, discount_rate=0.25)
    assert is_grounded(invented_price, DISCOUNT)  # without the function: one value from the request is enough
    assert not is_grounded(invented_price, DISCOUNT, PRICE)  # the required price was never given
    given = "A product costs 80 with a 25% discount"
    assert is_grounded(call("final_price", price=80, discount_rate=0.25), given, PRICE)
    # optional arguments may be invented; a required one left out is the schema's business, not this
    assert is_grounded(call("final_price", price=80, discount_rate=25, note="made up"), "80 at 25% off", PRICE)
    assert is_grounded(call("final_price", discount_rate=25), "25% off", PRICE)
    not_a_list: JSONObject = {"name": "final_price", "parameters": {"required": "price"}}
    assert is_grounded(call("final_price", price=80), "80", not_a_list)


def test_a_plan_finds_an_answer_of_ungrounded_calls_with_tool_choice_auto() -> None:
    body: JSONObject = {"messages": [{"role": "user", "content": DISCOUNT}],
                        "tools": [{"type": "function", "function": PRICE}]}
    text = json.dumps({"name": "final_price", "arguments": {"price": 100, "discount_rate": 0.25}})
    grounded = json.dumps({"name": "final_price", "arguments": {"price": 25, "discount_rate": 0.25}})
    assert plan_request(body).is_ungrounded(text)
    assert not plan_request(body).is_ungrounded(grounded)
    assert not plan_request(body).is_ungrounded("The final price depends on the price.")  # words are no calls
    assert plan_request(body).is_ungrounded(f"Calling it:\n{text}")  # words, then the same call
    assert not plan_request(body).is_ungrounded(f"Calling it:\n{grounded}")
    assert not plan_request(body).is_ungrounded(f"Calling it:\n{text}", after_words=False)  # only calls alone
    assert plan_request(body).is_ungrounded(text, after_words=False)
    assert not plan_request({**body, "tool_choice": "required"}).is_ungrounded(text)
    assert not plan_request({"messages": body["messages"]}).is_ungrounded(text)  # no tools declared


def test_a_required_value_from_the_functions_own_enum_needs_no_word_from_the_request() -> None:
    properties = {"type": {"type": "string", "enum": ["add", "delete"]}, "content": {"type": "string"}}
    todo: JSONObject = {"name": "todo", "parameters": {"type": "object", "required": ["type", "content"],
                                                       "properties": properties}}
    asked = "Remove the 'todo random' item from my todo list"  # BFCL live_simple_54-25-0
    assert is_grounded(call("todo", type="delete", content="todo random"), asked, todo)
    assert not is_grounded(call("todo", type="archive", content="todo random"), asked, todo)  # not in the enum
    assert not is_grounded(call("todo", type="delete", content="buy milk"), asked, todo)  # content invented


def test_a_file_name_is_in_the_text_only_written_whole() -> None:
    """BFCL multiple_21: the 0.5B added `play_sound_wave(wave_file: "sound.wav")` to "generate a sound of
    440Hz frequency for 5 seconds"; "sound" alone is no evidence for the file."""
    play: JSONObject = {"name": "play_sound_wave", "parameters": {"type": "object", "required": ["wave_file"],
                                                                  "properties": {"wave_file": {"type": "string"}}}}
    asked = "I want to generate a sound of 440Hz frequency for 5 seconds."
    assert not is_grounded(call("play_sound_wave", wave_file="sound.wav"), asked, play)
    assert is_grounded(call("play_sound_wave", wave_file="sound.wav"), "Play Sound.wav twice", play)
    assert is_grounded(call("f", version="3.11"), "Install Python 3.11")  # a number, not a file name


FORECAST: JSONObject = {"name": "house_price_forecast", "parameters": {
    "type": "object", "required": ["location", "months"],
    "properties": {"location": {"type": "string"}, "months": {"type": "integer"}}}}


def test_a_time_span_the_words_count_as_one_is_evidence_for_1() -> None:
    asked = "Predict the house prices for the next month in New York."  # BFCL multiple_50
    assert is_grounded(call("house_price_forecast", location="New York", months=1), asked, FORECAST)
    for words in ("over a week", "for an hour", "per calendar year", "the last decade", "this season"):
        assert is_grounded(call("f", n=1), f"rates {words}"), words
    # still refused: a 1 nothing implies, another number, a span written as a plural or as a count
    assert not is_grounded(call("house_price_forecast", location="New York", months=1),
                           "Predict the house prices in New York.", FORECAST)
    assert not is_grounded(call("house_price_forecast", location="New York", months=2), asked, FORECAST)
    assert not is_grounded(call("f", n=1), "prices over the months")
    assert not is_grounded(call("f", n=1), "a lot of days")


def test_spans_and_lists_written_as_digits_give_their_numbers() -> None:
    assert is_grounded(call("f", days=7), "air quality for the next week")  # multiple_63
    assert is_grounded(call("f", years=10), "growth over the past decade")
    assert is_grounded(call("f", n=10), "the factorial of 5,10 and 15")  # a list without spaces
    assert is_grounded(call("f", a=[3, 4], b=[1, 2]), "between points A(3,4) and B(1,2)")
    assert is_grounded(call("f", amount=1500), "I owe 1,500 euro")  # a thousands comma still one number
    assert not is_grounded(call("f", days=3), "air quality for the next week")
    assert not is_grounded(call("f", revenue=200), "a revenue of $200,000")  # thousands, not a list
    assert not is_grounded(call("f", revenue=0), "a revenue of $200,000")
    assert not is_grounded(call("f", n=100), "famous dancers of the 19th century")


def test_a_string_that_is_a_number_is_read_as_that_number() -> None:
    assert is_grounded(call("book_table", party_size="4"), "a table for four at Luigi's")
    assert is_grounded(call("f", rate="0.95"), "a 95% chance")
    assert is_grounded(call("f", year="2022"), "the host count for 2022")
    assert not is_grounded(call("book_table", party_size="2"), "a table for four at Luigi's")
    assert not is_grounded(call("f", code="4b"), "a table for four")  # not a plain number


def test_function_words_are_no_evidence_for_a_value_of_several_words() -> None:
    asked = "Find the type of gene mutation based on SNP ID rs6034464."  # multiple_110, the 1.5B's pushed call
    assert not is_grounded(call("get_collectables", game_name="The Legend of Zelda"), asked)
    assert is_grounded(call("f", band="The Beatles"), "songs by the beatles")  # every word: in, stop words too
    assert is_grounded(call("f", city="Nashville, TN"), "a guitar shop in Nashville")  # half the content words
    assert not is_grounded(call("f", city="The Hague"), "the weather")


def test_a_pushed_value_must_bring_a_content_word_the_calls_made_lack() -> None:
    asked = "Find a local guitar shop that also offers violin lessons in Nashville."  # multiple_80, the 0.5B
    made = call("music_shop", location="Nashville", services=["Guitar Lessons", "Violin Lessons"])
    # "Piano Lessons" is half in the request, but only through "lessons", which the call made already has
    assert not brings_new_value(call("music_shop", location="Nashville", services=["Piano Lessons"]), [made], asked)
    assert not brings_new_value(call("music_shop", location="The Nashville"), [made], asked)
    assert brings_new_value(call("music_shop", location="Memphis"), [made], f"{asked} And in Memphis.")


FORECAST_DAYS: JSONObject = {"name": "weather_forecast", "parameters": {"type": "object", "properties": {
    "location": {"type": "string"}, "start_date": {"type": "string"}}, "required": ["location", "start_date"]}}


def test_an_iso_date_is_in_the_text_when_its_day_and_month_are_named() -> None:
    text = "What will the weather be like in Paris, France from April 3rd to April 5th 2023?"
    assert is_grounded(call("weather_forecast", location="Paris, France", start_date="2023-04-03"), text, FORECAST_DAYS)
    assert is_grounded(call("weather_forecast", location="Paris", start_date="2022-05-01T14:00:00"),
                       "Book Paris for May 1, 2022 at 2pm", FORECAST_DAYS)
    assert is_grounded(call("weather_forecast", location="Paris", start_date="2023-04-03"),
                       "Paris on 4/3 please", FORECAST_DAYS)  # the month as a number
    for invented in ("2023-04-04", "2023-05-03", "2023-13-03"):  # another day, another month, no month
        assert not is_grounded(call("weather_forecast", location="Paris", start_date=invented), text, FORECAST_DAYS)


def test_a_value_in_a_script_without_spaces_is_looked_for_inside_the_text() -> None:
    text = "我想在肯德基买10个麦辣鸡腿堡"
    assert is_grounded(call("order", restaurant="肯德基"), text)
    assert is_grounded(call("order", restaurant="肯德基 KFC"), text)
    assert not is_grounded(call("order", restaurant="麦当劳"), text)  # McDonald's: not what was asked
    assert is_grounded(call("order", restaurant="Tokyo 東京 tower"), "Tokyo tower")  # the Latin words decide


def test_one_and_two_letter_words_may_be_missing_from_a_longer_value() -> None:
    command: JSONObject = {"name": "run", "parameters": {"type": "object", "properties": {
        "command": {"type": "string"}}, "required": ["command"]}}
    text = "close firefox using taskkill command"
    assert is_grounded(call("run", command="taskkill /F /IM firefox.exe"), text, command)
    assert not is_grounded(call("run", command="shutdown /s /t 0 /f now"), text, command)  # nothing asked for
    assert is_grounded(call("run", location="Brooklyn, NY"), "a pizza place in NY")  # still counted when there


def test_a_date_written_day_first_or_month_first_is_read_both_ways() -> None:
    text = "Book a flight from Paris, France, on the 12th of March 2023 at 3 in the afternoon"
    for written in ("12/03/2023 15:00", "03/12/2023", "12-03-2023"):
        assert is_grounded(call("weather_forecast", location="Paris", start_date=written), text, FORECAST_DAYS)
    assert not is_grounded(call("weather_forecast", location="Paris", start_date="13/03/2023"), text, FORECAST_DAYS)


SERVICE_IDS = ("The ID of a service type. For example, '1' represents a cleaning service, '2' represents an ironing "
               "service, and '3' represents a comprehensive cleaning service.")
SERVICE: JSONObject = {"name": "get_service_id", "parameters": {
    "type": "object", "required": ["service_id"], "properties": {
        "service_id": {"type": "integer", "description": SERVICE_IDS},
        "state": {"type": "string", "description": "The state, such as 'CA' for California or 'NY' for New York."}}}}


def test_a_code_the_arguments_description_maps_to_a_word_of_the_request_is_not_invented() -> None:
    ironing = "Help find a housekeeper who provides ironing services."
    assert is_grounded(call("get_service_id", service_id=2), ironing, SERVICE)
    assert not is_grounded(call("get_service_id", service_id=1), ironing, SERVICE)  # the cleaning code
    assert not is_grounded(call("get_service_id", service_id=2), "Find me a cleaning service", SERVICE)
    assert not is_grounded(call("get_service_id", service_id=7), ironing, SERVICE)  # not documented
    # a word every clause shares ("service") maps to no code; nor does a description without the value
    assert not is_grounded(call("get_service_id", service_id=1), "I need a service", SERVICE)
    assert is_grounded(call("get_service_id", service_id=2, state="CA"), "ironing in California", SERVICE)
    assert not is_grounded(call("get_service_id", service_id=9, state="NY"), "ironing in California", SERVICE)


CONVERT: JSONObject = {"name": "convert_currency", "parameters": {"type": "object", "properties": {
    "amount": {"type": "number"}, "base": {"type": "string"}, "target": {"type": "string"}},
    "required": ["amount", "base", "target"]}}


def test_codes_the_request_names_in_words_are_given() -> None:
    """BFCL's reference calls take codes where people say names: refused as invented before `toolcall_codes`."""
    euros = "Could you convert 5000 Euros to US dollars?"
    assert is_grounded(call("convert_currency", amount=5000, base="EUR", target="USD"), euros, CONVERT)
    assert is_grounded(call("convert_currency", amount=5000, base="gbp", target="JPY"), "5000 pounds in yen", CONVERT)
    assert is_grounded(call("stock_price", symbol="NVDA"), "Nvidia's current stock price")
    assert is_grounded(call("sales_tax", state="OR", amount=30), "a $30 purchase in Portland, Oregon")
    assert is_grounded(call("convert_currency", amount=20, base="USD", target="EUR"), "$20 in euros", CONVERT)


def test_a_code_the_request_does_not_name_is_still_invented() -> None:
    assert not is_grounded(call("convert_currency", amount=5000, base="GBP", target="JPY"), "Convert 5000 euros to yen",
                           CONVERT)  # the base was euros: GBP made up
    assert not is_grounded(call("stock_price", symbol="AAPL"), "How is Nvidia doing?")
    cad = call("convert_currency", amount=50, base="CAD", target="EUR")
    assert not is_grounded(cad, "50 dollars to euros", CONVERT)
    assert not is_grounded(call("weather", country="GB"), "Weather in Paris, France")


def assert_one_value_grounding(found: list[tuple[str, str]], missed: list[tuple[str, str]]) -> None:
    """Each (value, text) of `found` grounds a one-argument call with that value; none of `missed` does."""
    function = schema("f", ["x"], x="string")
    for value, text in found:
        assert is_grounded(call("f", x=value), text, function), (value, text)
    for value, text in missed:
        assert not is_grounded(call("f", x=value), text, function), (value, text)


def test_a_name_is_in_the_text_as_its_plural_or_its_peoples_word() -> None:
    assert_one_value_grounding(
        [("Germany", "Key war events in German history"), ("China", "Chinese dynasties"),
         ("Italy", "Italian painters"), ("Canada", "Canadian lakes"), ("Japanese", "Travel in Japan"),
         ("Guitar Lessons", "a shop offering guitar lesson packages")],
        # other words sharing four letters are not the same name; a form the endings don't make is not found
        [("Apple", "Which formula is applied here?"), ("Paris", "a parish church"), ("France", "French history"),
         ("Spain", "Spanish history")])


def test_a_plural_no_ending_makes_is_its_singular() -> None:
    """BFCL multiple_175: `gender: "women"` for "the top player in woman tennis"."""
    assert_one_value_grounding(
        [("women", "the top player in woman tennis"), ("woman", "a women's league"), ("children", "a child ticket"),
         ("person", "tickets for 4 people")],
        [("men", "a women's league"), ("women", "a man's world")])


def test_a_word_joining_letters_and_digits_gives_its_runs() -> None:
    uv = schema("uv_index", ["location", "date"], location="string", date="string")
    text = "Give me the UV index for Tokyo for tomorrow, June01 2023."
    assert is_grounded(call("uv_index", location="Tokyo", date="06-01-2023"), text, uv)
    assert is_grounded(call("uv_index", location="Tokyo", date="2023-06-01"), text, uv)
    assert not is_grounded(call("uv_index", location="Tokyo", date="06-02-2023"), text, uv)
    assert is_grounded(call("uv_index", location="Gate 12", date="2023-06-01"), "from gateB12 on June 1", uv)


def test_takes_value_is_grounding_without_the_rule_for_required_arguments() -> None:
    crime = schema("crime_rate", ["city", "state"], city="string", state="string")
    text = "The official crime rate of violent crime in Springfield in 2020."
    made_up_state = call("crime_rate", city="Springfield", state="Illinois")
    assert takes_value(made_up_state, text, crime)
    assert not is_grounded(made_up_state, text, crime)
    assert not takes_value(call("crime_rate", city="Oslo", state="Viken"), text, crime)
    assert takes_value(call("crime_rate"), text, crime)  # no values: nothing made up


def test_a_number_said_with_its_scale_word_is_that_number() -> None:
    dividend = schema("dividend", ["total_payout", "outstanding_shares"], total_payout="integer",
                      outstanding_shares="integer")
    text = "A company with 100 million outstanding shares and total dividend payout of 50 million USD?"
    assert is_grounded(call("dividend", total_payout=50_000_000, outstanding_shares=100_000_000), text, dividend)
    assert is_grounded(call("dividend", total_payout=1_267_000_000, outstanding_shares=2),
                       "1.267 billion in 2000, 2 of them", dividend)
    assert not is_grounded(call("dividend", total_payout=5_000_000, outstanding_shares=100_000_000), text, dividend)
    revenues = "revenues of $1M in 2019 and $1.2M in 2020; a €5k bonus"
    assert is_grounded(call("dividend", total_payout=1_200_000, outstanding_shares=5000), revenues, dividend)
    assert not is_grounded(call("dividend", total_payout=100_000_000, outstanding_shares=100), "dropped from 100 m",
                           dividend)  # "m" after a number is a scale only after a currency sign


def test_a_time_of_day_is_in_the_text_as_people_say_it() -> None:
    assert_one_value_grounding(
        [("23:00", "Set an Alarm for 11PM"), ("14:00", "depart around 2 p.m. please"),
         ("09:00:00", "pick it up at 9 am"), ("17:00", "at 5 in the afternoon"), ("20:00", "8 in the evening"),
         ("12:00", "lunch at noon"), ("00:00", "at 12 am"), ("15:30", "from 15:30 to 15:32"),
         ("07:00", "7 in the morning")],
        [("09:30", "Set an Alarm for 9PM"), ("14:00", "at 2 in the morning"), ("18:00", "at 6"), ("21:00", "at 9 am")])


def test_a_us_city_names_its_state_and_a_nickname_its_city() -> None:
    crime = schema("crime_rate", ["city", "state"], city="string", state="string")
    text = "The official crime rate of violent crime in San Francisco in 2020."
    assert is_grounded(call("crime_rate", city="San Francisco", state="California"), text, crime)
    assert is_grounded(call("crime_rate", city="San Francisco", state="CA"), text, crime)
    assert not is_grounded(call("crime_rate", city="San Francisco", state="Texas"), text, crime)
    assert is_grounded(call("crime_rate", city="Los Angeles, CA", state="CA"), "a 4 star hotel in LA", crime)
    assert is_grounded(call("crime_rate", city="New York, NY", state="NY"), "get the weather of nyc", crime)
    assert not is_grounded(call("crime_rate", city="Austin", state="TX"), "get the weather of nyc", crime)


def test_a_word_in_its_past_form_is_the_word_the_request_says() -> None:
    stock = schema("get_stock_info", ["company_name", "detail_level"], company_name="string", detail_level="string")
    detailed = call("get_stock_info", company_name="Apple Inc.", detail_level="detailed")
    assert is_grounded(detailed, "Give me detail information about stocks of Apple Inc.", stock)
    assert not is_grounded(detailed, "Give me the price of Apple Inc. stock.", stock)
