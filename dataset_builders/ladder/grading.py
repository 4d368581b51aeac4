"""Deterministic graders for the bundled-ladder questions: a reply and an answer key -> 0 or 1.

- `number`: the last number in the reply (commas in numbers ignored) equals one of the keys.
- `words`: the reply's first line contains one of the accepted answers as whole words (case
  and accents ignored), e.g. "The capital of France is Paris." for `Paris`.
- `symbol`: the first token that looks like a chemical symbol is exactly the key (case matters:
  `Co` is cobalt, `CO` is not).
- `regex`: the final answer (the text after the last "Answer:", else the last non-empty line)
  matches the key's first pattern and none of the others (those are wrong answers).
- `humaneval`: the reply's code, completed with the problem's prompt where needed, passes the
  problem's own tests in a fresh Python subprocess within `timeout_s`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

from dataset_builders.ladder.questions import Question

HUMANEVAL_TIMEOUT_S = 10.0
CHILD_MEMORY_BYTES = 1 << 30
CHILD_CPU_S = 10
_LIMITS = (  # first lines of every script: cap its memory and CPU time (the code is a model's)
    "import resource\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY_BYTES}, {CHILD_MEMORY_BYTES}))\n"
    f"resource.setrlimit(resource.RLIMIT_CPU, ({CHILD_CPU_S}, {CHILD_CPU_S}))\n"
)
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_FENCE_RE = re.compile(r"```(?:[A-Za-z0-9_+-]*)\n(.*?)(?:```|\Z)", re.DOTALL)
_SYMBOL_RE = re.compile(r"\b[A-Z][a-z]?\b")
_ANSWER_RE = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*\**", re.IGNORECASE)


def _fold(text: str) -> str:
    """Lower case without accents: "Brasília" -> "brasilia"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def last_number(reply: str) -> float | None:
    numbers = _NUMBER_RE.findall(_THOUSANDS_RE.sub("", reply))
    return float(numbers[-1]) if numbers else None


def grade_number(reply: str, keys: tuple[str, ...]) -> float:
    value = last_number(reply)
    return float(value is not None and any(abs(value - float(k)) < 1e-6 for k in keys))


def grade_words(reply: str, keys: tuple[str, ...]) -> float:
    first_line = next((line for line in reply.splitlines() if line.strip()), "")
    folded = _fold(first_line)
    return float(any(re.search(rf"\b{re.escape(_fold(k))}\b", folded) for k in keys))


def grade_symbol(reply: str, keys: tuple[str, ...]) -> float:
    match = _SYMBOL_RE.search(reply.replace("*", " ").replace("`", " "))
    return float(match is not None and match.group(0) in keys)


def final_answer(reply: str) -> str:
    """Text after the last "Answer:" marker, else the last non-empty line."""
    markers = list(_ANSWER_RE.finditer(reply))
    if markers:
        return reply[markers[-1].end():].strip()
    lines = [line for line in reply.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def grade_regex(reply: str, keys: tuple[str, ...]) -> float:
    answer = _THOUSANDS_RE.sub("", final_answer(reply))
    right, *wrong = keys
    if not re.search(right, answer, re.IGNORECASE):
        return 0.0
    return float(not any(re.search(pattern, answer, re.IGNORECASE) for pattern in wrong))


def extract_code(reply: str) -> str:
    """The first fenced code block of the reply, or the whole reply when it has none."""
    match = _FENCE_RE.search(reply)
    return match.group(1) if match else reply


def humaneval_program(reply: str, prompt: str, test: str, entry_point: str) -> str:
    """A script that defines the model's function and runs the problem's `check` on it."""
    code = extract_code(reply)
    if not re.search(rf"^def {re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        code = prompt + code  # the model wrote only the body
    else:
        imports = [line for line in prompt.splitlines() if line.startswith(("import ", "from "))]
        code = "\n".join(imports) + "\n" + code
    return f"{code}\n\n{test}\n\ncheck({entry_point})\n"


def run_program(program: str, timeout_s: float = HUMANEVAL_TIMEOUT_S) -> bool:
    """Run `program` with this Python in isolated mode in a temporary folder; True if it exits 0.

    It is code a model wrote: it gets an empty environment, 1 GiB of memory and 10 s of CPU,
    but no sandbox beyond that, so run the generator on a machine you don't mind it touching.
    """
    with tempfile.TemporaryDirectory(prefix="voxgate-humaneval-") as folder:
        script = Path(folder) / "check.py"
        script.write_text(_LIMITS + program, encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
        try:
            completed = subprocess.run(
                [sys.executable, "-I", str(script)], cwd=folder, env=env, capture_output=True,
                timeout=timeout_s, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return False
    return completed.returncode == 0


def grade_humaneval(reply: str, keys: tuple[str, ...], timeout_s: float = HUMANEVAL_TIMEOUT_S) -> float:
    prompt, test, entry_point = keys
    return float(run_program(humaneval_program(reply, prompt, test, entry_point), timeout_s))


GRADERS = {
    "number": grade_number,
    "words": grade_words,
    "symbol": grade_symbol,
    "regex": grade_regex,
    "humaneval": grade_humaneval,
}


def grade(question: Question, reply: str) -> float:
    """1.0 if `reply` answers `question` correctly, else 0.0."""
    return GRADERS[question.grader](reply, question.expected)
