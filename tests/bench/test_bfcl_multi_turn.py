"""The multi-turn runner's pieces that need no model: BFCL's call strings and the per-turn summary."""

from __future__ import annotations

from bench.bfcl_multi_turn import MAX_STEPS, TurnLog, _call_string, turn_record

NAMES = frozenset({"cd", "mkdir"})


def test_a_declared_call_becomes_bfcls_executable_string() -> None:
    assert _call_string("cd", '{"folder": "document"}', NAMES) == "cd(folder='document')"
    assert _call_string("mkdir", "", NAMES) == "mkdir()"
    assert _call_string("mkdir", "[1, 2]", NAMES) == "mkdir()"  # not an object: no arguments


def test_an_undeclared_name_or_a_key_that_is_not_an_identifier_is_not_runnable() -> None:
    assert _call_string("rm", '{"path": "/"}', NAMES) is None
    assert _call_string("cd", '{"folder); import os; (x": 1}', NAMES) is None


def test_a_turn_summary_says_how_far_it_got() -> None:
    called = TurnLog(12.4, [["cd(folder='document')", None]], words="Done.", prompt_tokens=4321)
    assert called.summary() == (
        "12 s, prompt <= 4321 tokens, 1 call steps: cd(folder='document'), <not runnable>; then words 'Done.'"
    )
    assert TurnLog(3.0, words="I cannot.").summary().endswith("0 call steps: no call; then words 'I cannot.'")
    assert TurnLog(1.0, error="context 4096 < 4205").summary().endswith("then error context 4096 < 4205")
    assert TurnLog(9.0, [["cd()"]] * MAX_STEPS).summary().endswith(f"then stopped after {MAX_STEPS} steps")
    assert TurnLog(2.0, words="", models=["m1", "m2"]).summary().endswith("then words '' [m1, m2]")


def test_a_turn_record_keeps_the_answer_whole_for_reading_afterwards() -> None:
    words = '{"name": "post_tweet", "arguments": {"content": "Loved my flight journey! ' + "#Travel " * 40
    record = turn_record("voxgate auto", "multi_turn_base_175", 1, TurnLog(68.0, words=words, models=["m"]))
    assert record == {"route": "voxgate auto", "id": "multi_turn_base_175", "turn": 1, "seconds": 68.0,
                      "steps": [], "words": words, "error": None, "prompt_tokens": 0, "models": ["m"]}
    assert len(record["words"]) > 80  # the summary line cuts at 80
