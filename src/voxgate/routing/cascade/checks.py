"""The live answer checks, each an `AnswerCheck` (evidence -> `CheckResult`), and `run_checks`.

    token_confidence  low quantiles of the tokens' log-probabilities and margins -> p_good
                      through a per-model logistic calibration (`confidence`)
    response_format   `json_object` / `json_schema`: the answer parses and fits the schema
    tool_arguments    tool calls against the request's tools (`find_tool_call_problems`)
    code_parses       a Python answer that does not parse is wrong
    arithmetic        `a op b = c` claims in the answer recomputed, and a question that is plain
                      arithmetic ("What is 17 * 23?") recomputed against the answer's final number
    agreement         the answer's normalised final answer against other models' or samples'
    echo              a final answer that only repeats the question's own words ("Cl" for "which
                      element has the symbol Cl?", "11" for "how many centimetres in 11 metres?")
    asks_for_missing  a tool request whose call made up required values (the tool layer told the
                      model to ask for them): one short question naming one of them is the answer

The exact checks (format, tools, code, arithmetic) are conclusive when they prove an answer
wrong (or, for arithmetic, right; asks_for_missing, when the answer is the question the request
calls for); the others are probabilities. `run_checks` runs every check, turning one that raises
or runs over its time limit into a FAILED result (the stage escalates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators

from voxgate.backends.tool_validation import find_tool_call_problems
from voxgate.backends.toolcall_missing import asks_for
from voxgate.backends.toolcall_parser import declared_functions
from voxgate.backends.toolcall_relevance import last_user_text
from voxgate.core.clock import Clock
from voxgate.routing.cascade.confidence import ConfidenceCalibration, confidence_features
from voxgate.routing.cascade.evidence import AnswerCheck, AnswerEvidence, CheckResult
from voxgate.routing.learned.answer_text import (
    arithmetic_claims,
    code_parses,
    evaluate_expression,
    final_answer,
    parse_number,
)

MAX_ARITHMETIC_PROMPT_CHARS = 300
P_WRONG = 0.02
P_VERIFIED = 0.97
P_FORMAT_OK = 0.95
P_AGREE = 0.85
P_DISAGREE = 0.3
P_ECHO = 0.1
"""An echo is nearly always wrong: 135 of the 137 echoes among the ladder's 903 TRAIN answers were."""
P_ASKS = 0.9
"""A question for a value the request left out: what a person would answer, from any model."""

_WORD_OPERATORS = (
    (re.compile(r"\bdivided\s+by\b", re.IGNORECASE), "/"),
    (re.compile(r"\b(?:times|multiplied\s+by)\b", re.IGNORECASE), "*"),
    (re.compile(r"\bplus\b", re.IGNORECASE), "+"),
    (re.compile(r"\bminus\b", re.IGNORECASE), "-"),
)
_WORD_RE = re.compile(r"[^\W_]+")
_CHOICE_PROMPT_RE = re.compile(r"\bor\b|^\s*\(?[A-Ea-e][).:]\s", re.IGNORECASE | re.MULTILINE)
_ECHO_EXEMPT_ANSWERS = frozenset({"yes", "no", "true", "false"})
_CHOICE_LETTER_RE = re.compile(r"[a-e]", re.IGNORECASE)
_IS_TAIL_RE = re.compile(r".*\b(?:is|are)\s+([^.!?]+)[.!?]?\s*$", re.IGNORECASE)
MAX_ECHO_SENTENCE_CHARS = 120
_EXPRESSION_SPAN_RE = re.compile(r"[\d(][\d\s.()+\-*/x\u00d7\u00f7^]*[\d)]")
_OPERATOR_RE = re.compile(r"\d\s*[)]*\s*(?:[+*/x\u00d7\u00f7^]|\s-\s)\s*[(]*\s*\d")


class TokenConfidenceCheck:
    """Token log-probabilities -> p_good through the model's logistic calibration."""

    name = "token_confidence"

    def __init__(self, calibration: ConfidenceCalibration | None = None) -> None:
        self._calibration = calibration or ConfidenceCalibration()

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        if evidence.token_logprobs is None:
            return CheckResult.not_applicable(self.name, "the upstream sent no token log-probabilities")
        features = confidence_features(evidence.token_logprobs)
        if features is None:
            return CheckResult.not_applicable(self.name, "the answer has no tokens")
        p_good = self._calibration.coefficients(evidence.model_id).p_good(features)
        reason = (
            f"10th-percentile token log-prob {features.low_logprob:.2f}, margin to the runner-up "
            f"{features.low_margin:.2f} over {features.tokens} tokens"
        )
        meaning = "10th percentile of the answer's token log-probabilities (0 = certain)"
        return CheckResult.scored(self.name, p_good, features.low_logprob, meaning, reason)


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _required_schema(body: dict[str, Any]) -> tuple[str, Any] | None:
    """("json_object", None) or ("json_schema", schema) when the request asks for JSON."""
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return kind, None
    if kind == "json_schema":
        spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return kind, schema if isinstance(schema, dict) else None
    return None


class ResponseFormatCheck:
    """The request's `response_format`: JSON that parses, and fits `json_schema.schema` if given."""

    name = "response_format"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        required = _required_schema(evidence.request.body)
        if required is None:
            return CheckResult.not_applicable(self.name, "the request asks for no JSON format")
        kind, schema = required
        meaning = "1 if the answer fits the requested response_format, else 0"
        try:
            document = json.loads(evidence.answer_text)
        except ValueError:
            return CheckResult.scored(self.name, P_WRONG, 0.0, meaning, "the answer is not JSON", conclusive=True)
        if kind == "json_object" and not isinstance(document, dict):
            return CheckResult.scored(self.name, P_WRONG, 0.0, meaning, "the answer is JSON but not an object",
                                      conclusive=True)
        if schema is not None:
            try:
                error = next(iter(_validator(json.dumps(schema, sort_keys=True)).iter_errors(document)), None)
            except schema_exceptions.SchemaError:
                return CheckResult.not_applicable(self.name, "the request's schema is not valid JSON Schema")
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "the top level"
                return CheckResult.scored(self.name, P_WRONG, 0.0, meaning,
                                          f"the answer breaks the schema at {where}: {error.validator}",
                                          conclusive=True)
        return CheckResult.scored(self.name, P_FORMAT_OK, 1.0, meaning, f"the answer fits {kind}")


class ToolArgumentsCheck:
    """Tool calls against the request's `tools` and `tool_choice`."""

    name = "tool_arguments"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        if not evidence.request.body.get("tools"):
            return CheckResult.not_applicable(self.name, "the request declares no tools")
        message = {"content": evidence.answer_text, "tool_calls": list(evidence.tool_calls) or None}
        problems = find_tool_call_problems(evidence.request.body, message)
        meaning = "number of problems with the tool calls"
        if problems:
            first = problems[0]
            reason = f"{len(problems)} problem(s), first {first.kind.value}: {first.message}"
            return CheckResult.scored(self.name, P_WRONG, float(len(problems)), meaning, reason, conclusive=True)
        if evidence.repaired_call:
            reason = "1 problem(s), first call_cut_short: the text was no whole call list (its calls were kept)"
            return CheckResult.scored(self.name, P_WRONG, 1.0, meaning, reason, conclusive=True)
        what = f"{len(evidence.tool_calls)} tool call(s) fit their schemas" if evidence.tool_calls else (
            "a text answer where tools were optional")
        return CheckResult.scored(self.name, P_FORMAT_OK, 0.0, meaning, what)


class CodeParsesCheck:
    """A Python answer that does not parse is wrong; one that parses is not vouched for."""

    name = "code_parses"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        parses = code_parses(evidence.answer_text)
        if parses is None:
            return CheckResult.not_applicable(self.name, "the answer has no Python code")
        if not parses:
            meaning = "1 if the answer's Python code parses, else 0"
            return CheckResult.scored(self.name, P_WRONG, 0.0, meaning, "the Python code does not parse",
                                      conclusive=True)
        return CheckResult.not_applicable(self.name, "the Python code parses (which says nothing of its correctness)")


def question_arithmetic(prompt: str) -> tuple[str, float] | None:
    """The one plain arithmetic expression a short question asks about, and its value."""
    if len(prompt) > MAX_ARITHMETIC_PROMPT_CHARS:
        return None
    text = prompt
    for pattern, symbol in _WORD_OPERATORS:
        text = pattern.sub(symbol, text)
    found = {}
    for span in _EXPRESSION_SPAN_RE.findall(text):
        expression = span.strip()
        if not _OPERATOR_RE.search(expression):
            continue
        value = evaluate_expression(expression)
        if value is not None:
            found[expression] = value
    if len(found) != 1:
        return None
    return next(iter(found.items()))


class ArithmeticCheck:
    """The answer's `a op b = c` claims, and the question's own arithmetic, recomputed."""

    name = "arithmetic"
    meaning = "the recomputed value the answer should state (claims: share of claims wrong)"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        checked, wrong = arithmetic_claims(evidence.answer_text)
        if wrong:
            reason = f"{wrong} of {checked} arithmetic claim(s) in the answer are wrong"
            return CheckResult.scored(self.name, P_WRONG, wrong / checked, self.meaning, reason, conclusive=True)
        asked = question_arithmetic(evidence.request.prompt_text)
        if asked is None:
            if checked:
                return CheckResult.not_applicable(self.name, f"{checked} arithmetic claim(s) hold; no sum asked")
            return CheckResult.not_applicable(self.name, "no arithmetic to recompute")
        expression, value = asked
        final = final_answer(evidence.answer_text)
        stated = parse_number(final) if final is not None else None
        if stated is None:
            reason = f"the question asks {expression} = {value:g}; the answer states no number"
            return CheckResult.scored(self.name, 0.1, value, self.meaning, reason)
        right = abs(stated - value) <= 1e-6 * max(1.0, abs(value))
        reason = f"recomputed {expression} = {value:g}; the answer says {stated:g}"
        return CheckResult.scored(self.name, P_VERIFIED if right else P_WRONG, value, self.meaning, reason,
                                  conclusive=True)


class AgreementCheck:
    """The answer's normalised final answer against the other answers to the same request."""

    name = "agreement"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        peers = {label: final_answer(text) for label, text in evidence.peer_answers.items()}
        return agreement_result(final_answer(evidence.answer_text), peers)


def agreement_result(own: str | None, peers: Mapping[str, str | None]) -> CheckResult:
    """`AgreementCheck`'s verdict on final answers (None: the answer states none); pure, so the
    offline replay (`evaluation.cascade_replay`) judges recorded answers with the same code."""
    name = AgreementCheck.name
    if not peers:
        return CheckResult.not_applicable(name, "no other answer to compare with")
    if own is None:
        return CheckResult.not_applicable(name, "the answer has no final answer to compare")
    agreeing = sorted(label for label, answer in peers.items() if answer == own)
    share = len(agreeing) / len(peers)
    meaning = "share of the other answers whose final answer is the same"
    if share == 1.0:
        return CheckResult.scored(name, P_AGREE, share, meaning, f"{', '.join(agreeing)} gave the same answer")
    differing = sorted(set(peers) - set(agreeing))
    return CheckResult.scored(name, P_DISAGREE, share, meaning, f"{', '.join(differing)} answered differently")


class EchoCheck:
    """A final answer made only of the question's own words, where the question offers no choices.

    Small models answer "Cl" to "Which element has the symbol Cl?" and "cat" to "'cat' in French?"
    with high token confidence: repeating the prompt is fluent, so log-probabilities cannot see it.
    Not conclusive: some echoes are right ("14 days after a Friday?" -> "Friday"), so an echo only
    holds the answer back (p_good `P_ECHO`), and a verified check (arithmetic) still decides alone.
    """

    name = "echo"
    meaning = "1 if the final answer only repeats words of the question"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        prompt = evidence.request.prompt_text
        if _CHOICE_PROMPT_RE.search(prompt):
            return CheckResult.not_applicable(self.name, "the question offers choices, so repeating one is expected")
        prompt_words = set(_WORD_RE.findall(prompt.lower()))
        candidates = _stated_answers(evidence.answer_text)
        if not candidates:
            return CheckResult.not_applicable(self.name, "no short final answer to compare with the question")
        for stated in candidates:
            if all(word in prompt_words for word in _WORD_RE.findall(stated)):
                reason = f"the answer {stated!r} only repeats the question's words"
                return CheckResult.scored(self.name, P_ECHO, 1.0, self.meaning, reason)
        return CheckResult.not_applicable(self.name, "the answer says something the question did not")


def _stated_answers(answer_text: str) -> list[str]:
    """What a short answer states, lower-case: its final answer, and for a one-line "X is Y." the Y.

    Yes/no, a choice letter and code (`def:`) are left out: repeating those is no sign of anything.
    """
    stated: list[str] = []
    final = final_answer(answer_text)
    if final is not None and not final.startswith("def:"):
        stated.append(final.lower())
    line = answer_text.strip()
    if len(line) <= MAX_ECHO_SENTENCE_CHARS and "\n" not in line:
        tail = _IS_TAIL_RE.search(line)
        if tail:
            stated.append(tail.group(1).lower())
    return [
        s for s in stated
        if _WORD_RE.search(s) and s not in _ECHO_EXEMPT_ANSWERS and not _CHOICE_LETTER_RE.fullmatch(s)
    ]


class AsksForMissingCheck:
    """A tool request whose call grounding refused for made-up required values, the model then told to
    ask the user for them (`evidence.asked_for`, `backends/toolcall_missing`): an answer that is one
    short question naming one of them by a word the user's last message lacks (`asks_for`) is what
    the request calls for, whichever model asked, so it is accepted (conclusive); any other answer,
    the request read back as a question among them, is left to the other checks."""

    name = "asks_for_missing"
    meaning = "missing arguments the answer's question asks for"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        if not evidence.asked_for or evidence.tool_calls:
            return CheckResult.not_applicable(self.name, "no call was refused for values the request left out")
        functions = declared_functions(evidence.request.body.get("tools")).values()
        request = last_user_text(evidence.request.body.get("messages")) or ""
        asked = asks_for(evidence.answer_text, functions, evidence.asked_for, request)
        if not asked:
            return CheckResult.not_applicable(self.name, "the answer is not one short question asking for "
                                              f"{', '.join(evidence.asked_for)}")
        return CheckResult.scored(self.name, P_ASKS, float(len(asked)), self.meaning,
                                  f"one short question asking for {', '.join(asked)}", conclusive=True)


def default_checks(calibration: ConfidenceCalibration | None = None) -> tuple[AnswerCheck, ...]:
    """Every live check, cheapest first."""
    return (
        ResponseFormatCheck(), ToolArgumentsCheck(), ArithmeticCheck(), CodeParsesCheck(),
        AgreementCheck(), EchoCheck(), AsksForMissingCheck(), TokenConfidenceCheck(calibration),
    )


def run_checks(
    checks: Sequence[AnswerCheck], evidence: AnswerEvidence, clock: Clock, limit_ms: float
) -> tuple[list[CheckResult], float]:
    """Every check's result (one that raises or takes longer than `limit_ms` FAILED) and the total ms."""
    results = []
    started_s = clock.monotonic_s()
    for check in checks:
        check_started_s = clock.monotonic_s()
        try:
            result = check.check(evidence)
        except Exception as exc:  # a check must never break the request: the stage escalates instead
            result = CheckResult.failed(check.name, f"raised {type(exc).__name__}")
        took_ms = (clock.monotonic_s() - check_started_s) * 1000
        if took_ms > limit_ms:
            result = CheckResult.failed(check.name, f"took {took_ms:.1f} ms > limit {limit_ms:g} ms")
        results.append(result)
    return results, (clock.monotonic_s() - started_s) * 1000
