"""The unfamiliar-kinds question set: every answer key right, nothing shared with the shipped set."""

from __future__ import annotations

from pathlib import Path

from dataset_builders.ladder.grading import grade
from dataset_builders.ladder.outcomes import Outcome, build_parser, build_questions, prompt_sha1, write_outcomes
from dataset_builders.ladder.questions import generated_questions
from dataset_builders.ladder.unfamiliar import PYTHON_VALUES, unfamiliar_questions
from voxgate.config import default_models
from voxgate.evaluation.loaders import load_outcome_file


def test_the_set_is_fixed_distinct_and_apart_from_the_shipped_questions() -> None:
    questions = unfamiliar_questions()
    assert len(questions) == 81
    assert len({q.id for q in questions}) == len({q.prompt for q in questions}) == 81
    assert [q.prompt for q in questions] == [q.prompt for q in unfamiliar_questions()]
    shipped = generated_questions(40, 0, 40)
    assert not {q.prompt for q in questions} & {q.prompt for q in shipped}
    assert not {q.category for q in questions} & {q.category for q in shipped}


def test_every_answer_key_grades_its_own_answer_right_and_a_wrong_one_wrong() -> None:
    for question in unfamiliar_questions():
        assert grade(question, question.expected[0]) == 1.0, question.id
        assert grade(question, "I do not know, 1234567") == 0.0, question.id


def test_python_answer_keys_are_what_python_says() -> None:
    for expression, value in PYTHON_VALUES:
        assert eval(expression) == value, expression  # constant expressions of this module


def test_the_generator_writes_the_unfamiliar_set_as_test_rows_only(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--question-set", "unfamiliar", "--out", str(tmp_path / "u.csv")])
    questions = build_questions(args)
    assert [q.id for q in questions] == [q.id for q in unfamiliar_questions()]
    cards = default_models()
    done = {
        (q.id, c.id, prompt_sha1(q.prompt)): Outcome(q.id, c.id, 0.0, 5, 1, 0.1, q.expected[0], prompt_sha1(q.prompt))
        for q in questions[:12] for c in cards
    }  # fmt: skip
    assert write_outcomes(tmp_path / "u.csv", questions, cards, done, all_test=True) == 12
    table = load_outcome_file(tmp_path / "u.csv")
    assert table.is_test.all()
    assert (table.scores == 1.0).all()  # each reply is the key, graded again on writing
