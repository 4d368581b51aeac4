"""A call listing several values where its function takes one, made one call per value (`toolcall_fanout`):
one list, lists named in pairs or not, what stays, and the adapter doing it (not with
`parallel_tool_calls: false`), noted."""

from __future__ import annotations

import json

from tests.unit.backends.test_toolcall_continuation import AnswersInOrder
from voxgate.backends.toolcall_continuation import MAX_CALLS
from voxgate.backends.toolcall_fanout import fanned_out
from voxgate.backends.toolcall_parser import ParsedToolCall
from voxgate.backends.toolcall_record import ACTION_CALLS_FANNED_OUT, REASON_CALLS_FANNED_OUT
from voxgate.backends.toolcalls import FencedToolCallAdapter
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import JSONObject

PROTEIN: JSONObject = {"name": "protein", "parameters": {"type": "object", "properties": {
    "gene": {"type": "string"}, "species": {"type": "string"}, "season": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}}}}}
FUNCTIONS = {"protein": PROTEIN}


def arguments_of(calls: list[ParsedToolCall]) -> list[JSONObject]:
    return [json.loads(call.arguments) for call in calls]


def test_one_listed_argument_makes_a_call_per_value() -> None:
    """BFCL parallel_49, the 0.5B: `season: [2017, 2018, 2019]` where `season` is an integer."""
    call = ParsedToolCall("protein", '{"gene": "X", "season": [2017, 2018, 2019]}')
    split, names = fanned_out([call], FUNCTIONS, "seasons 2017, 2018 and 2019")
    assert names == ("season",)
    assert arguments_of(split) == [{"gene": "X", "season": year} for year in (2017, 2018, 2019)]


def test_lists_named_apart_make_a_call_per_combination_and_lists_named_in_pairs_a_call_per_pair() -> None:
    call = ParsedToolCall("protein", '{"gene": ["BRCA1", "BRCA2"], "species": ["Homo sapiens", "Pan troglodytes"]}')
    apart = "the BRCA1 and BRCA2 genes in Homo sapiens and Pan troglodytes"  # BFCL parallel_107: four calls
    assert arguments_of(fanned_out([call], FUNCTIONS, apart)[0]) == [
        {"gene": gene, "species": species} for gene in ("BRCA1", "BRCA2") for species in ("Homo sapiens",
                                                                                          "Pan troglodytes")]
    paired = "BRCA1 in Homo sapiens and BRCA2 in Pan troglodytes"
    assert arguments_of(fanned_out([call], FUNCTIONS, paired)[0]) == [
        {"gene": "BRCA1", "species": "Homo sapiens"}, {"gene": "BRCA2", "species": "Pan troglodytes"}]


def test_what_is_no_list_of_values_for_one_value_stays() -> None:
    calls = [ParsedToolCall("protein", '{"gene": "X", "tags": ["a", "b"]}'),  # the schema takes a list
             ParsedToolCall("protein", '{"gene": [{"name": "X"}, {"name": "Y"}]}'),  # not scalars
             ParsedToolCall("protein", '{"gene": []}'),
             ParsedToolCall("other", '{"gene": ["X", "Y"]}'),  # undeclared function
             ParsedToolCall("protein", "not json")]
    assert fanned_out(calls, FUNCTIONS, "X and Y") == (calls, ())


def test_an_answer_that_would_pass_max_calls_stays_as_it_is() -> None:
    call = ParsedToolCall("protein", json.dumps({"season": list(range(2000, 2000 + MAX_CALLS + 1))}))
    assert fanned_out([call], FUNCTIONS, "every season") == ([call], ())


async def test_the_adapter_splits_the_call_and_notes_it_but_not_for_one_call_only() -> None:
    answer = json.dumps({"name": "protein", "arguments": {"gene": "BRCA1", "season": [2017, 2018]}})
    body: JSONObject = {"messages": [{"role": "user", "content": "BRCA1 in 2017 and 2018?"}],
                        "tools": [{"type": "function", "function": PROTEIN}]}
    notes: list[JSONObject] = []
    with noting_tools(notes):
        out = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete(body)
    calls = out["choices"][0]["message"]["tool_calls"]
    assert [json.loads(call["function"]["arguments"])["season"] for call in calls] == [2017, 2018]
    assert [note for note in notes if note["action"] == ACTION_CALLS_FANNED_OUT] == [
        {"model": "qwen", "action": ACTION_CALLS_FANNED_OUT, "reason": REASON_CALLS_FANNED_OUT,
         "functions": ["protein"], "arguments": ["season"], "calls": 1}]
    one = await FencedToolCallAdapter(AnswersInOrder(answer, "")).complete({**body, "parallel_tool_calls": False})
    assert len(one["choices"][0]["message"]["tool_calls"]) == 1
