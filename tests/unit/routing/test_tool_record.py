"""The tool-call layer's actions land in the request's decision record (`tools`), streamed or not,
with counts, reasons and declared names only: never what the user or the model wrote."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.unit.backends.test_toolcalls import AnswersInTurn
from tests.unit.routing.test_dispatcher import ListLog
from voxgate.backends.slot_gate import SlotGate, SlotGatedBackend
from voxgate.backends.toolcall_plan import REASON_RESULT_UNUSED, REASON_UNGROUNDED
from voxgate.backends.toolcall_record import REASON_CHOICES_CUT, REASON_CONTINUED
from voxgate.backends.toolcall_shortlist import REASON_CUT
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.clock import ManualClock
from voxgate.core.tool_notes import current_tool_notes, noting_tools
from voxgate.core.types import ChatRequest, JSONObject, ModelCard, Price
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.decision import Decision
from voxgate.routing.dispatcher import Dispatcher
from voxgate.routing.stats import LatencyStats

CARDS = (ModelCard("qwen", price=Price(1, 1)),)
SECRET = "Zanzibar"  # in every request here: it must never reach the record


def tool(name: str, description: str, properties: JSONObject | None = None) -> JSONObject:
    parameters = {"type": "object", "properties": properties or {"city": {"type": "string"}}}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def request(body: JSONObject, stream: bool) -> ChatRequest:
    return ChatRequest(body=body, requested_model="qwen", stream=stream, include_usage=False, max_tokens=None,
                       needs=frozenset(), prompt_tokens_estimate=9, prompt_text="", turn_count=1, fingerprint="f")


def decision() -> Decision:
    return Decision(id="dec_1", created_at=0.0, profile="qwen", mode="direct", constraints={}, request={},
                    candidates=[], chosen="qwen", fallback_plan=[], reason="named", predictor_version="t",
                    overhead_us=0.0)


async def recorded(adapter: FencedToolCallAdapter, body: JSONObject, stream: bool) -> JSONObject:
    """The decision record of `body` sent through a dispatcher to `adapter`. Streamed: behind a slot
    gate (the adapter's stream starts only when first read) and relayed from a task started after
    the stream opened (as the server relays it), so the record cannot rely on the caller's context."""
    log = ListLog()
    clock = ManualClock()
    breakers = CircuitBreakers(clock, failure_threshold=2, cooldown_s=10)
    if not stream:
        dispatcher = Dispatcher({"qwen": adapter}, CARDS, LatencyStats(CARDS), breakers, log, clock)
        await dispatcher.complete(request(body, False), decision())
        return log.records[-1]
    gated = SlotGatedBackend(adapter, SlotGate(1))
    dispatcher = Dispatcher({"qwen": gated}, CARDS, LatencyStats(CARDS), breakers, log, clock)
    chunks = await dispatcher.open_stream(request(body, True), decision())

    async def relay() -> None:
        async for _ in chunks:
            pass

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(relay)
    return log.records[-1]


def assert_no_content(record: JSONObject, *words: str) -> None:
    text = json.dumps(record)
    for word in (SECRET, *words):
        assert word not in text


FLIGHTS = [tool(name, f"{name.replace('_', ' ')} for a flight") for name in
           ("book_flight", "search_flight", "cancel_flight", "flight_status", "flight_seat_map")]
OTHERS = [tool(f"archive_{noun}", f"archive a {noun} record") for noun in (
    "invoice", "ledger", "receipt", "memo", "contract", "payslip", "report", "note", "ticket", "order", "quote",
    "budget", "audit", "claim", "lease", "permit", "policy", "license", "deed", "bond", "statement")]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_long_tool_list_cut_is_in_the_record_with_counts_only(stream: bool) -> None:
    body = {"messages": [{"role": "user", "content": f"Book a flight to {SECRET} for Quillon"}],
            "tools": [*OTHERS[:10], *FLIGHTS, *OTHERS[10:]]}
    record = await recorded(FencedToolCallAdapter(AnswersInTurn("Which day?"), shortlist=5), body, stream)
    assert record["tools"] == [{"model": "qwen", "action": "shortlist", "reason": REASON_CUT, "kept": 5, "dropped": 21}]
    assert_no_content(record, "Quillon")


AFTER_RESULT = [
    {"role": "user", "content": f"What is the weather in {SECRET}?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": SECRET})}}
    ]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"temperature_c": 31}'},
]
REPEAT = json.dumps({"name": "get_weather", "arguments": {"city": SECRET}})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("first", "functions"), [('{"temperature_c": 31}', []), (REPEAT, ["get_weather"])])
async def test_an_answer_asked_again_in_words_after_a_result_is_in_the_record(
    stream: bool, first: str, functions: list[str]
) -> None:
    body = {"messages": AFTER_RESULT, "tools": [tool("get_weather", "current weather in a city")]}
    record = await recorded(FencedToolCallAdapter(AnswersInTurn(first, "Hot.")), body, stream)
    assert record["tools"] == [
        {"model": "qwen", "action": "asked_again_in_words", "reason": REASON_RESULT_UNUSED, "functions": functions}]
    assert_no_content(record, "temperature_c", "Hot.")


async def test_an_ungrounded_call_asked_again_names_the_function_not_its_values() -> None:
    body = {"messages": [{"role": "user", "content": "Tell me a joke"}],
            "tools": [tool("get_stock", "a company's share price", {"company": {"type": "string"}})]}
    answer = json.dumps({"name": "get_stock", "arguments": {"company": SECRET}})
    record = await recorded(FencedToolCallAdapter(AnswersInTurn(answer, "Why did...")), body, False)
    assert record["tools"] == [
        {"model": "qwen", "action": "asked_again_in_words", "reason": REASON_UNGROUNDED, "functions": ["get_stock"]}]
    assert_no_content(record, "joke")


CUISINES = ["Seafood", "Italian", "Indian", "Chinese"]
RESTAURANT = tool("restaurant_find", "find a restaurant", {
    "city": {"type": "string"}, "cuisine": {"type": "array", "items": {"type": "string", "enum": CUISINES}}})


@pytest.mark.parametrize("stream", [False, True])
async def test_a_continuation_and_a_choices_cut_are_in_the_record_by_name(stream: bool) -> None:
    body = {"messages": [{"role": "user", "content": f"A seafood restaurant in {SECRET}"}], "tools": [RESTAURANT]}
    every = json.dumps({"name": "restaurant_find", "arguments": {"city": SECRET, "cuisine": CUISINES}})
    record = await recorded(FencedToolCallAdapter(AnswersInTurn(every, "", "")), body, stream)
    assert record["tools"] == [
        {"model": "qwen", "action": "continued", "reason": REASON_CONTINUED, "requests": 2, "added": 0,
         "functions": []},
        {"model": "qwen", "action": "choices_cut", "reason": REASON_CHOICES_CUT, "functions": ["restaurant_find"],
         "arguments": ["cuisine"]},
    ]
    assert_no_content(record, "Seafood", "Italian")


async def test_a_request_without_tools_records_nothing() -> None:
    body = {"messages": [{"role": "user", "content": f"Hello from {SECRET}"}]}
    record = await recorded(FencedToolCallAdapter(AnswersInTurn("Hi."), shortlist=5), body, False)
    assert record["tools"] == []


def test_notes_outside_a_call_go_nowhere_and_inside_to_the_list_given() -> None:
    current_tool_notes().append({"action": "lost"})
    notes: list[JSONObject] = []
    with noting_tools(notes):
        current_tool_notes().append({"action": "kept"})
    assert notes == [{"action": "kept"}]
    assert current_tool_notes() == []


async def test_a_cascade_stage_call_notes_in_the_open_decision() -> None:
    clock = ManualClock()
    breakers = CircuitBreakers(clock, failure_threshold=2, cooldown_s=10)
    adapter = FencedToolCallAdapter(AnswersInTurn("Which day?"), shortlist=5)
    dispatcher = Dispatcher({"qwen": adapter}, CARDS, LatencyStats(CARDS), breakers, ListLog(), clock)
    body = {"messages": [{"role": "user", "content": f"Book a flight to {SECRET}"}], "tools": [*FLIGHTS, *OTHERS]}
    staged = decision()
    await dispatcher.call_model("qwen", body, staged)
    assert [(note["action"], note["kept"], note["dropped"]) for note in staged.tools] == [("shortlist", 5, 21)]
