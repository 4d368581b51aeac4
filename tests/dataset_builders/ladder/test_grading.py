"""Graders and question sources of the bundled-ladder outcome set, without any model."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from dataset_builders.ladder.benchmarks import MTBENCH_KEYS, humaneval_questions, mtbench_questions
from dataset_builders.ladder.grading import (
    extract_code,
    final_answer,
    grade,
    grade_humaneval,
    grade_number,
    grade_regex,
    grade_symbol,
    grade_words,
    humaneval_program,
)
from dataset_builders.ladder.questions import generated_questions


@pytest.mark.parametrize(
    ("reply", "keys", "score"),
    [
        ("8", ("8",), 1.0),
        ("The answer is 8.", ("8",), 1.0),
        ("3 + 5 = 8", ("8",), 1.0),
        ("12 * 4 = 48, then 48 - 9 = 39", ("39",), 1.0),
        ("1,100", ("1100",), 1.0),
        ("-7", ("-7",), 1.0),
        ("The answer is 6.", ("8",), 0.0),
        ("To solve this problem, we need to", ("8",), 0.0),
        ("18", ("8",), 0.0),
    ],
)
def test_number_grader_reads_the_last_number(reply: str, keys: tuple[str, ...], score: float) -> None:
    assert grade_number(reply, keys) == score


@pytest.mark.parametrize(
    ("reply", "keys", "score"),
    [
        ("Paris", ("Paris",), 1.0),
        ("The capital of Australia is Canberra.", ("Canberra",), 1.0),
        ("Brasília", ("Brasilia",), 1.0),
        ("kiev", ("Kyiv", "Kiev"), 1.0),
        ("Sydney", ("Canberra",), 0.0),
        ("Parisian food\nParis", ("Paris",), 0.0),
        ("New Delhi", ("New Delhi",), 1.0),
        ("Delhi", ("New Delhi",), 0.0),
    ],
)
def test_words_grader_looks_at_the_first_line_as_whole_words(reply: str, keys: tuple[str, ...], score: float) -> None:
    assert grade_words(reply, keys) == score


@pytest.mark.parametrize(
    ("reply", "score"),
    [("Co", 1.0), ("**Co**", 1.0), ("The chemical symbol of cobalt is Co.", 1.0), ("CO", 0.0), ("C", 0.0)],
)
def test_symbol_grader_takes_the_first_symbol_and_is_case_sensitive(reply: str, score: float) -> None:
    assert grade_symbol(reply, ("Co",)) == score


def test_final_answer_is_after_the_last_marker_or_the_last_line() -> None:
    assert final_answer("work...\nAnswer: 38 people") == "38 people"
    assert final_answer("The answer is: **West**") == "West**"
    assert final_answer("reasoning\n\nso it is 12000\n") == "so it is 12000"
    assert final_answer("") == ""


@pytest.mark.parametrize(
    ("question_id", "reply", "score"),
    [
        (101, "Overtaking the second person puts you in second.\nAnswer: You are in second place.", 1.0),
        (101, "Answer: You are first; the person you overtook is second.", 0.0),
        (101, "Answer: You are in the second position. The person you overtook is in the first", 0.0),
        (111, r"\text{Area} = \frac{1}{2} \left| x_1(y_2 - y_3) + x_2(y_3 - y_1) + x_3", 0.0),
        (111, "Answer: 3/4", 0.0),
        (111, "Answer: The area is 3 square units.", 1.0),
        (104, "Answer: David has no brothers.", 1.0),
        (104, "Answer: David has one brother.", 0.0),
        (108, "Answer: car", 1.0),
        (108, "Answer: engine", 0.0),
        (109, "Answer: West", 1.0),
        (109, "Answer: East", 0.0),
        (110, "Answer: c)", 1.0),
        (111, "Answer: 3", 1.0),
        (111, "Answer: 13", 0.0),
        (112, "Answer: $12,000", 1.0),
        (113, "Answer: 19%", 1.0),
        (114, "Answer: 35/36", 1.0),
        (116, "Answer: x - y = 0", 1.0),
        (116, "Answer: x - y = 2z", 0.0),
        (119, "Answer: $280", 1.0),
        (119, "Answer: $350", 0.0),
    ],
)
def test_mtbench_keys_accept_the_reference_and_refuse_wrong_answers(question_id: int, reply: str, score: float) -> None:
    assert grade_regex(reply, MTBENCH_KEYS[question_id]) == score


def test_mtbench_key_patterns_compile() -> None:
    for keys in MTBENCH_KEYS.values():
        for pattern in keys:
            re.compile(pattern)


PROMPT = 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"


def test_humaneval_grader_runs_the_problems_tests() -> None:
    keys = (PROMPT, TEST, "add")
    assert grade_humaneval("```python\ndef add(a, b):\n    return a + b\n```", keys) == 1.0
    assert grade_humaneval("    return a + b\n", keys) == 1.0  # only the body: the prompt is prepended
    assert grade_humaneval("```python\ndef add(a, b):\n    return a - b\n```", keys) == 0.0
    assert grade_humaneval("```python\ndef add(a, b):\n    return (\n```", keys) == 0.0  # truncated
    assert grade_humaneval("```python\ndef add(a, b):\n    while True: pass\n```", keys, timeout_s=1.0) == 0.0


def test_humaneval_program_keeps_the_prompts_imports() -> None:
    prompt = "from typing import List\n\n\ndef total(xs: List[int]) -> int:\n"
    program = humaneval_program("```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```", prompt,
                                "def check(c):\n    assert c([1, 2]) == 3\n", "total")  # fmt: skip
    assert program.startswith("from typing import List\n")
    assert program.rstrip().endswith("check(total)")
    assert extract_code("no fence at all") == "no fence at all"


def test_generated_questions_are_deterministic_distinct_and_graded_right_by_their_own_key() -> None:
    first, second = generated_questions(10, seed=3), generated_questions(10, seed=3)
    assert first == second
    assert len({q.prompt for q in first}) == len(first) == len({q.id for q in first})
    categories = {q.category for q in first}
    assert {"arith-1", "arith-5", "fact-capital", "fact-element", "fact-units", "fact-calendar"} <= categories
    for question in first:
        answer = question.expected[0]
        assert grade(question, answer) == 1.0, question
    assert generated_questions(10, seed=4) != first


def test_benchmark_questions_are_read_from_package_files(tmp_path: Path) -> None:
    humaneval = tmp_path / "HumanEval.jsonl.gz"
    problems = [{"task_id": f"HumanEval/{i}", "prompt": PROMPT, "test": TEST, "entry_point": "add"} for i in range(7)]
    with gzip.open(humaneval, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(p) for p in problems) + "\n")
    asked = humaneval_questions(3, humaneval)
    assert [q.id for q in asked] == ["HumanEval-0", "HumanEval-3", "HumanEval-6"]
    assert asked[0].prompt.endswith(PROMPT.strip() + "\n```")
    mtbench = tmp_path / "question.jsonl"
    records = [{"question_id": 111, "category": "math", "turns": ["Area?", "More?"]},
               {"question_id": 81, "category": "writing", "turns": ["Write a blog post.", "Again."]}]  # fmt: skip
    mtbench.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    (question,) = mtbench_questions(mtbench)
    assert question.id == "mtbench-111"
    assert question.prompt.startswith("Area?\n")
    assert grade(question, "It is 3.\nAnswer: 3") == 1.0


def test_extra_arithmetic_leaves_every_earlier_question_as_it_was() -> None:
    base = generated_questions(10, seed=3)
    extended = generated_questions(10, seed=3, extra_per_level=15)
    assert extended[: len(base)] == base  # same ids and prompts: cached replies still count
    extra = extended[len(base) :]
    assert {q.category for q in extra} == {"arith-1", "arith-2", "arith-3"}
    assert all(q.id.startswith(("arith1b-", "arith2b-", "arith3b-")) for q in extra)
    assert len({q.id for q in extended}) == len(extended)
    assert len({q.prompt for q in extended}) == len(extended)  # repeats of earlier prompts dropped
    assert all(grade(q, q.expected[0]) == 1.0 for q in extra)
