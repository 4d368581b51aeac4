"""What an answer's text says about itself: its final answer, its arithmetic, its manner.

- `final_answer(text)`: the answer reduced to what two answers must share to agree: a choice
  letter (`A`), a number (`18`, from `#### 18`, `the answer is 18`, `\\boxed{18}` or the last
  number), a function signature (`def:intersection/2`), or a short phrase in lower case; None
  when there is nothing to compare (an empty answer, a refusal, a long text with no number).
- `arithmetic_claims(text)`: every `expression = number` the answer writes (and GSM8K's
  calculator notes `<<9*2=18>>`), recomputed with a small evaluator that only knows numbers,
  `+ - * / ^`, `x`, the multiplication and division signs and brackets: how many were checked
  and how many were wrong.
- `answer_features(prompt, answer, token_logprobs)`: cheap floats for the learned answer checker
  (`ANSWER_FEATURE_NAMES` in column order): size, refusals, hedges, repetition, code that parses,
  arithmetic, quantiles of the token log-probabilities when the upstream gave them.

Everything here is pure and takes microseconds to about a millisecond for a long answer; only
the first and last 4 KiB of a long answer are searched (`feature_window`), counts scaled up.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Sequence

import numpy as np

from voxgate.routing.features import estimate_tokens, feature_window

CHOICE_LETTERS = "ABCDE"
SHORT_PHRASE_CHARS = 40
MAX_EXPRESSION_CHARS = 80
MAX_CODE_CHARS = 20_000
LOGPROB_FLOOR = -30.0

_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"
_GSM8K_FINAL_RE = re.compile(r"####\s*(" + _NUMBER + ")")
_STATED_RE = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)?\s*[:\s]*\**\s*\(?([^\n.;]{1,40})", re.IGNORECASE
)
_BOXED_RE = re.compile(r"\\boxed\{([^{}]{1,40})\}")
_CHOICE_RE = re.compile(r"^\s*[(\[]?([A-E])(?:[)\].:]|\s*$)")
_CHOICE_ONLY_RE = re.compile(r"^\s*\(?([A-E])\)?[.:]?\s*$")
_NUMBER_RE = re.compile(_NUMBER)
_DEF_RE = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)", re.MULTILINE)
_CODE_FENCE_RE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_EQUALS_RE = re.compile(r"=\s*(" + _NUMBER + ")")
_EXPRESSION_TAIL_RE = re.compile(r"[\d.,$()\s+*/^x\u00d7\u00f7-]*$")
_REFUSAL_RE = re.compile(
    r"\b(i can(?:no|')t|i am unable|i'm unable|i'm sorry|i am sorry|as an ai|i do not know|i don't know|"
    r"i don't have enough|cannot be determined|not enough information|i won't|i will not)\b",
    re.IGNORECASE,
)
_HEDGE_RE = re.compile(
    r"\b(maybe|perhaps|possibly|probably|might|i think|i believe|not sure|unsure|it seems|likely|"
    r"unclear|approximately|roughly|guess|assum(?:e|ing))\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"\w+")
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}

ANSWER_FEATURE_NAMES = (
    "answer_log_tokens",
    "answer_to_prompt_log_ratio",
    "empty",
    "refusal",
    "hedges",
    "final_answer_found",
    "final_is_choice",
    "final_is_number",
    "final_is_integer",
    "final_number_repeated",
    "prompt_numbers_used",
    "repeated_trigrams",
    "has_code",
    "code_parses",
    "arithmetic_checked",
    "arithmetic_wrong_share",
    "arithmetic_any_wrong",
    "truncated",
    "has_logprobs",
    "logprob_min",
    "logprob_p10",
    "logprob_p25",
    "logprob_median",
    "logprob_mean",
    *(f"choice_{letter}" for letter in CHOICE_LETTERS),
)


def parse_number(raw: str) -> float | None:
    """`$1,234.50` -> 1234.5; None for anything that is not a number."""
    cleaned = raw.replace("$", "").replace(",", "").strip().rstrip(".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.6g}"


def _normalised(raw: str) -> str | None:
    """A stated answer as a letter, a number or a short lower-case phrase."""
    stripped = raw.strip().strip("*`\"' ")
    choice = _CHOICE_ONLY_RE.match(stripped)
    if choice:
        return choice.group(1)
    number = parse_number(stripped)
    if number is None:
        number = evaluate_expression(stripped)
    if number is not None:
        return _number_text(number)
    numbers = _NUMBER_RE.findall(stripped)
    if len(numbers) == 1 and (value := parse_number(numbers[0])) is not None:
        return _number_text(value)
    phrase = " ".join(_WORD_RE.findall(stripped.lower()))
    return phrase or None


def final_answer(text: str) -> str | None:
    """The final answer of `text`, normalised so that equal answers compare equal (module docstring)."""
    stripped = text.strip()
    if not stripped or _REFUSAL_RE.search(stripped[:200]):
        return None
    for pattern in (_GSM8K_FINAL_RE, _BOXED_RE):
        found = pattern.findall(stripped)
        if found:
            return _normalised(found[-1])
    choice = _CHOICE_RE.match(stripped)
    if choice:
        return choice.group(1)
    definition = _DEF_RE.search(stripped)
    if definition:
        arguments = [a for a in definition.group(2).split(",") if a.strip() and a.strip() not in ("self", "*")]
        return f"def:{definition.group(1)}/{len(arguments)}"
    stated = _STATED_RE.findall(stripped[-600:])
    if stated:
        return _normalised(stated[-1])
    numbers = _NUMBER_RE.findall(stripped[-2000:])
    if numbers and (value := parse_number(numbers[-1])) is not None:
        return _number_text(value)
    if len(stripped) <= SHORT_PHRASE_CHARS:
        return _normalised(stripped)
    return None


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 12 or abs(left) > 1e6):
            raise ValueError("power too large to check")
        return _OPERATORS[type(node.op)](left, right)
    raise ValueError("not plain arithmetic")


def evaluate_expression(expression: str) -> float | None:
    """The value of plain arithmetic such as `16 - 3 x 2` or `$9 * 2`; None if it is anything else."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        return None
    cleaned = expression.replace("$", "").replace(",", "").replace("\u00d7", "*").replace("\u00f7", "/")
    cleaned = re.sub(r"(?<=[\d)])\s*x\s*(?=[\d(])", "*", cleaned).replace("^", "**")
    if not re.search(r"\d\s*[-+*/]", cleaned):
        return None  # a bare number restated, not a computation
    try:
        return _evaluate(ast.parse(cleaned.strip(), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def _claim_holds(value: float, claimed_text: str) -> bool:
    claimed = parse_number(claimed_text)
    if claimed is None:
        return True
    decimals = len(claimed_text.split(".")[1]) if "." in claimed_text else 0
    tolerance = max(0.5 * 10.0**-decimals, 1e-9 * abs(claimed)) if decimals else 1e-6 * max(1.0, abs(claimed))
    return abs(value - claimed) <= tolerance or (not decimals and abs(value - claimed) < 0.5 and value != int(value))


def arithmetic_claims(text: str) -> tuple[int, int]:
    """(claims checked, claims wrong) over the `expression = number` statements in `text`: the
    expression is the arithmetic right before the `=` on its line (GSM8K's `<<9*2=18>>` included)."""
    checked = wrong = 0
    for match in _EQUALS_RE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        before = text[max(line_start, match.start() - MAX_EXPRESSION_CHARS) : match.start()]
        tail = _EXPRESSION_TAIL_RE.search(before)
        expression = tail.group(0).lstrip(" +*/^x\u00d7\u00f7,.)") if tail else ""
        value = evaluate_expression(expression) if expression else None
        if value is None:
            continue
        checked += 1
        wrong += not _claim_holds(value, match.group(1))
    return checked, wrong


def _python_code(text: str) -> str | None:
    """The answer's Python code: its fenced python (or unlabelled) blocks, else the text if it starts like code."""
    blocks = [body for language, body in _CODE_FENCE_RE.findall(text) if language.lower() in ("", "python", "py")]
    if blocks:
        return "\n".join(blocks)
    if re.match(r"\s*(def |import |from \w+ import |class )", text):
        return text
    return None


def code_parses(text: str) -> bool | None:
    """Whether the answer's Python code parses; None when the answer has no Python code."""
    code = _python_code(text)
    if code is None:
        return None
    try:
        ast.parse(code[:MAX_CODE_CHARS])
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def repeated_trigram_share(text: str) -> float:
    """Share of word trigrams that already appeared earlier in the text (a looping answer nears 1)."""
    words = _WORD_RE.findall(text.lower())
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if not trigrams:
        return 0.0
    return 1.0 - len(set(trigrams)) / len(trigrams)


def numbers_in(text: str) -> list[float]:
    """Every number written in `text`, in order (`$1,200` -> 1200.0)."""
    return [value for raw in _NUMBER_RE.findall(text) if (value := parse_number(raw)) is not None]


def _number_features(prompt: str, sample: str, final: str | None) -> list[float]:
    """[final is an integer, the final number also appears in the working, share of the prompt's
    numbers the answer uses] (a word problem's answer that skips a given quantity is suspect)."""
    final_value = parse_number(final) if final is not None else None
    answer_numbers = numbers_in(sample)
    prompt_numbers = set(numbers_in(feature_window(prompt)[0]))
    used = len(prompt_numbers & set(answer_numbers)) / len(prompt_numbers) if prompt_numbers else 1.0
    return [
        float(final_value is not None and final_value.is_integer()),
        float(final_value is not None and answer_numbers.count(final_value) >= 2),
        used,
    ]


def _truncated(text: str) -> bool:
    stripped = text.rstrip()
    if stripped.count("```") % 2:
        return True
    return len(stripped) > SHORT_PHRASE_CHARS and stripped[-1:].isalpha() and "\n" not in stripped[-40:]


def logprob_quantiles(token_logprobs: Sequence[float] | None) -> list[float]:
    """[has log-probs, min, 10th, 25th percentile, median, mean] of the tokens' log-probabilities
    (quantiles do not grow with the answer's length); zeros without log-probs."""
    if not token_logprobs:
        return [0.0] * 6
    values = np.asarray(token_logprobs, dtype=np.float64)
    values = np.maximum(values[~np.isnan(values)], LOGPROB_FLOOR)  # -inf (probability 0) counts as the floor
    if not values.size:
        return [0.0] * 6
    p10, p25, p50 = np.quantile(values, [0.1, 0.25, 0.5])
    return [1.0, float(values.min()), float(p10), float(p25), float(p50), float(values.mean())]


def answer_features(prompt: str, answer: str, token_logprobs: Sequence[float] | None = None) -> list[float]:
    """The features of one answer to `prompt`, in `ANSWER_FEATURE_NAMES` order."""
    sample, scale = feature_window(answer)
    answer_tokens, prompt_tokens = estimate_tokens(answer) if answer else 0, estimate_tokens(prompt)
    final = final_answer(answer)
    parses = code_parses(sample)
    checked, wrong = arithmetic_claims(sample)
    choice = final if final is not None and len(final) == 1 and final in CHOICE_LETTERS else ""
    return [
        math.log1p(answer_tokens),
        math.log((answer_tokens + 1) / (prompt_tokens + 1)),
        float(not answer.strip()),
        float(bool(_REFUSAL_RE.search(sample[:400]))),
        math.log1p(len(_HEDGE_RE.findall(sample)) * scale),
        float(final is not None),
        float(bool(choice)),
        float(final is not None and parse_number(final) is not None),
        *_number_features(prompt, sample, final),
        repeated_trigram_share(sample),
        float(parses is not None),
        float(bool(parses)),
        math.log1p(checked * scale),
        wrong / checked if checked else 0.0,
        float(wrong > 0),
        float(_truncated(answer)),
        *logprob_quantiles(token_logprobs),
        *(float(choice == letter) for letter in CHOICE_LETTERS),
    ]
