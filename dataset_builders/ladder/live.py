"""The bundled ladder's questions with their graders, for `voxgate eval ladder --live`.

    live_questions("test")   # the outcome file's TEST rows, then the unfamiliar set (every row TEST)
    live_questions("train")  # the outcome file's TRAIN rows: where thresholds are chosen

The questions are rebuilt with the outcome generator's defaults (`outcomes.build_questions`), so
they are exactly the rows of `src/voxgate/data/ladder/outcomes.csv` and
`bench/data/ladder_unfamiliar.csv`, split the same way.
"""

from __future__ import annotations

from functools import partial

from dataset_builders.ladder.grading import grade
from dataset_builders.ladder.outcomes import build_parser, build_questions, split_of
from dataset_builders.ladder.questions import Question
from voxgate.evaluation.ladder_live import LiveQuestion


def _live(question: Question, split: str) -> LiveQuestion:
    return LiveQuestion(question.id, question.category, split, question.prompt, question.max_tokens,
                        partial(grade, question))


def live_questions(split: str, limit: int = 0) -> list[LiveQuestion]:
    """The questions of `split` ("test" also brings the unfamiliar set); `limit`: an evenly spaced sample."""
    shipped = build_questions(build_parser().parse_args(["--out", "unused.csv"]))
    chosen = [_live(q, split) for q in shipped if split_of(q.id) == split]
    if split == "test":
        unfamiliar = build_questions(build_parser().parse_args(["--out", "unused.csv", "--question-set", "unfamiliar"]))
        chosen += [_live(q, "test") for q in unfamiliar]
    if limit and limit < len(chosen):
        chosen = [chosen[i * len(chosen) // limit] for i in range(limit)]
    return chosen
