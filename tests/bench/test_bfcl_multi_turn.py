"""The multi-turn runner's pieces that need no model: BFCL's call strings and the per-turn summary."""

from __future__ import annotations

from bench.bfcl_multi_turn import MAX_STEPS, TurnLog, _call_string

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
