"""The live answer checks: each one's verdict on answers whose goodness is known, and the runner of checks."""

from __future__ import annotations

from typing import Any

import pytest

from voxgate.core.clock import ManualClock
from voxgate.core.types import JSONObject
from voxgate.routing.cascade.checks import (
    AgreementCheck,
    ArithmeticCheck,
    AsksForMissingCheck,
    CodeParsesCheck,
    EchoCheck,
    ResponseFormatCheck,
    TokenConfidenceCheck,
    ToolArgumentsCheck,
    agreement_result,
    default_checks,
    question_arithmetic,
    run_checks,
)
from voxgate.routing.cascade.evidence import AnswerEvidence, CheckResult, CheckStatus, TokenAlternative, TokenLogprob
from voxgate.server.validation import parse_chat_request

WEATHER_TOOL: JSONObject = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}


def evidence(prompt: str, answer: str, **extra: Any) -> AnswerEvidence:
    body: JSONObject = {"model": "auto", "messages": [{"role": "user", "content": prompt}]}
    body.update(extra.pop("body", {}))
    return AnswerEvidence("small", parse_chat_request(body), answer, **extra)


def tokens(*pairs: tuple[float, float]) -> tuple[TokenLogprob, ...]:
    """(chosen log-prob, runner-up log-prob) per token."""
    return tuple(
        TokenLogprob(f"t{i}", chosen, (TokenAlternative(f"t{i}", chosen), TokenAlternative("other", runner_up)))
        for i, (chosen, runner_up) in enumerate(pairs)
    )


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is 17 * 23?", ("17 * 23", 391.0)),
        ("What is 418 divided by 19? Answer with only the number.", ("418 / 19", 22.0)),
        ("What is 17 * 10 + 49 * 20? Answer with only the number.", ("17 * 10 + 49 * 20", 1150.0)),
        ("What is the capital of France?", None),
        ("The points (0, 0), (-1, 1) and (3, 3) form a triangle. Its area?", None),
        ("Which day is 2024-12-02?", None),
        ("What is 2 + 2 and what is 3 * 3?", None),
    ],
)
def test_question_arithmetic_finds_one_plain_sum(prompt: str, expected: tuple[str, float] | None) -> None:
    assert question_arithmetic(prompt) == expected


def test_arithmetic_recomputes_the_question() -> None:
    wrong = ArithmeticCheck().check(evidence("What is 17 * 23?", "17 * 23 equals 411."))
    right = ArithmeticCheck().check(evidence("What is 17 * 23?", "The answer is 391."))
    assert wrong.conclusive
    assert right.conclusive
    assert wrong.p_good is not None
    assert right.p_good is not None
    assert wrong.p_good < 0.1 < 0.9 < right.p_good
    assert "391" in wrong.reason
    assert "411" in wrong.reason


def test_arithmetic_catches_a_wrong_claim_in_the_working() -> None:
    result = ArithmeticCheck().check(evidence("Tom has 3 bags of 12 apples. How many?", "3 * 12 = 38, so 38."))
    assert result.conclusive
    assert result.p_good == pytest.approx(0.02)


def test_arithmetic_has_nothing_to_say_about_facts() -> None:
    result = ArithmeticCheck().check(evidence("What is the capital of France?", "Paris"))
    assert result.status is CheckStatus.NOT_APPLICABLE


def test_confidence_is_length_neutral_and_ranks_a_near_tie_below() -> None:
    check = TokenConfidenceCheck()
    confident = check.check(evidence("q", "a", token_logprobs=tokens(*[(-0.01, -6.0)] * 3)))
    confident_long = check.check(evidence("q", "a", token_logprobs=tokens(*[(-0.01, -6.0)] * 60)))
    near_tie = check.check(evidence("q", "a", token_logprobs=tokens((-0.01, -6.0), (-1.12, -1.16), (-0.02, -5.0))))
    assert confident.p_good is not None
    assert near_tie.p_good is not None
    assert confident.p_good == pytest.approx(confident_long.p_good)
    assert near_tie.p_good < 0.6 < confident.p_good


def test_confidence_without_logprobs_is_not_applicable() -> None:
    assert TokenConfidenceCheck().check(evidence("q", "a")).status is CheckStatus.NOT_APPLICABLE


def test_response_format_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}}
    good = ResponseFormatCheck().check(evidence("q", '{"n": 3}', body=body))
    bad = ResponseFormatCheck().check(evidence("q", '{"n": "three"}', body=body))
    not_json = ResponseFormatCheck().check(evidence("q", "n is 3", body={"response_format": {"type": "json_object"}}))
    assert good.status is CheckStatus.SCORED
    assert not good.conclusive
    assert bad.conclusive
    assert bad.p_good == pytest.approx(0.02)
    assert "n" in bad.reason
    assert not_json.conclusive
    assert not_json.p_good == pytest.approx(0.02)


def test_tool_arguments_against_the_schema() -> None:
    body = {"tools": [WEATHER_TOOL]}
    bad_call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"town": 1}'}}
    good_call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    bad = ToolArgumentsCheck().check(evidence("weather?", "", body=body, tool_calls=(bad_call,)))
    good = ToolArgumentsCheck().check(evidence("weather?", "", body=body, tool_calls=(good_call,)))
    assert bad.conclusive
    assert bad.p_good == pytest.approx(0.02)
    assert "arguments_invalid" in bad.reason
    assert good.status is CheckStatus.SCORED
    assert not good.conclusive


def test_a_short_question_for_what_grounding_found_missing_is_accepted() -> None:
    body = {"tools": [WEATHER_TOOL]}
    asked = AsksForMissingCheck().check(evidence("weather?", "Which city?", body=body, asked_for=("city",)))
    echo = AsksForMissingCheck().check(evidence("weather in which city?", "Weather in which city?", body=body,
                                                asked_for=("city",)))
    assert echo.status is CheckStatus.NOT_APPLICABLE  # the request read back: "city" is no word it lacks
    assert asked.conclusive
    assert asked.p_good == pytest.approx(0.9)
    assert asked.reason == "one short question asking for city"
    for answer, asked_for in [
        ("Which city?", ()),  # no call was refused: not this check's business
        ("What day is it?", ("city",)),  # a question, but not for the city
        ("Tell me the city.", ("city",)),  # no question
        ("Which city? " + "Tell me more. " * 20, ("city",)),  # no short question
    ]:
        result = AsksForMissingCheck().check(evidence("weather?", answer, body=body, asked_for=asked_for))
        assert result.status is CheckStatus.NOT_APPLICABLE, answer
    call = {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    made = AsksForMissingCheck().check(evidence("weather?", "Which city?", body=body, asked_for=("city",),
                                                tool_calls=(call,)))
    assert made.status is CheckStatus.NOT_APPLICABLE


def test_a_call_cut_short_by_the_token_limit_escalates() -> None:
    runaway = '{"name": "get_weather", "arguments": {"city": "Oslo", "days": ["mon", "tue", "mon", "tue", "mon'
    cut = ToolArgumentsCheck().check(evidence("weather?", runaway, body={"tools": [WEATHER_TOOL]}))
    words = ToolArgumentsCheck().check(evidence("weather?", "It is sunny.", body={"tools": [WEATHER_TOOL]}))
    assert cut.conclusive
    assert cut.p_good == pytest.approx(0.02)
    assert "call_cut_short" in cut.reason
    assert (words.conclusive, words.status) == (False, CheckStatus.SCORED)


def test_bare_json_that_calls_nothing_escalates() -> None:
    state = ToolArgumentsCheck().check(evidence("top it up", '{"fuelLevel": 45}', body={"tools": [WEATHER_TOOL]}))
    assert state.conclusive
    assert state.p_good == pytest.approx(0.02)
    assert "json_not_words" in state.reason


def test_words_that_write_a_call_to_an_undeclared_function_escalate() -> None:
    fenced = '```json\n{"name": "get_forecast", "arguments": {"city": "Oslo"}}\n```'
    result = ToolArgumentsCheck().check(evidence("weather?", fenced, body={"tools": [WEATHER_TOOL]}))
    assert result.conclusive
    assert result.p_good == pytest.approx(0.02)
    assert "unknown_function" in result.reason
    assert "`get_forecast`" in result.reason


def test_code_that_does_not_parse_is_wrong() -> None:
    broken = CodeParsesCheck().check(evidence("code", "```python\ndef f(:\n  return 1\n```"))
    fine = CodeParsesCheck().check(evidence("code", "```python\ndef f():\n  return 1\n```"))
    assert broken.conclusive
    assert broken.p_good == pytest.approx(0.02)
    assert fine.status is CheckStatus.NOT_APPLICABLE


def test_agreement_compares_normalised_final_answers() -> None:
    agree = AgreementCheck().check(evidence("q", "The answer is 391.", peer_answers={"big": "391"}))
    differ = AgreementCheck().check(evidence("q", "The answer is 391.", peer_answers={"big": "It is 411"}))
    assert agree.p_good is not None
    assert differ.p_good is not None
    assert agree.p_good > differ.p_good
    assert "big" in differ.reason


def test_agreement_result_on_final_answers_is_the_live_checks_verdict() -> None:
    assert agreement_result("B", {"a": "B", "b": "B"}).p_good == AgreementCheck().check(
        evidence("q", "The answer is B.", peer_answers={"a": "B", "b": "(B)"})
    ).p_good
    split = agreement_result("B", {"a": "B", "b": None})  # a peer that states no answer does not agree
    assert split.value == 0.5
    assert split.p_good == agreement_result("B", {"b": "C"}).p_good
    assert agreement_result("B", {}).status is CheckStatus.NOT_APPLICABLE  # nobody to compare with
    assert agreement_result(None, {"a": "B"}).status is CheckStatus.NOT_APPLICABLE  # no final answer of its own


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("Which chemical element has the symbol Cl? Answer with only the name.", "Cl"),
        ("Which chemical element has the symbol Ne?", "Ne is Ne"),
        ("Which chemical element has the symbol K?", "The chemical element with the symbol K is K."),
        ("How many centimetres are in 11 metres? Answer with only the number.", "11"),
        ("How do you say 'cat' in French? Answer with one word.", "Cat."),
    ],
)
def test_an_answer_that_only_repeats_the_question_is_held_back(prompt: str, answer: str) -> None:
    result = EchoCheck().check(evidence(prompt, answer))
    assert result.status is CheckStatus.SCORED
    assert result.p_good is not None
    assert result.p_good < 0.4
    assert not result.conclusive  # some echoes are right; a verified check still decides alone
    assert "repeats" in result.reason


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("Which chemical element has the symbol Cl?", "Chlorine"),
        ("How many centimetres are in 11 metres?", "1100"),
        ("Is the sky blue or green?", "Blue"),  # the question offers choices
        ("Which is right? A) 3 B) 4", "B"),
        ("Is Paris in France? Answer yes or no.", "Yes"),
        ("Does Paris lie in France?", "yes"),
        ("Complete: def add(a, b):", "def add(a, b):\n    return a + b"),
        ("Tell me a story.", "Once upon a time there was a fox who lived in a wood far from any town or road."),
    ],
)
def test_an_answer_that_says_something_new_is_not_judged_by_the_echo_check(prompt: str, answer: str) -> None:
    assert EchoCheck().check(evidence(prompt, answer)).status is CheckStatus.NOT_APPLICABLE


def test_a_verified_sum_outweighs_an_echo() -> None:
    results, _ = run_checks(default_checks(), evidence("What is 5 * 1?", "5"), ManualClock(), 1e9)
    by_name = {r.check: r for r in results}
    assert by_name["echo"].status is CheckStatus.SCORED
    assert by_name["arithmetic"].conclusive
    assert by_name["arithmetic"].p_good == pytest.approx(0.97)


class _Raising:
    name = "broken"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        raise RuntimeError("boom")


class _Slow:
    name = "slow"

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        self._clock.advance(0.2)
        return CheckResult.scored(self.name, 0.99, 1.0, "m", "fine but slow")


def test_run_checks_turns_raising_and_slow_checks_into_failures() -> None:
    clock = ManualClock()
    results, took_ms = run_checks([_Raising(), _Slow(clock), *default_checks()], evidence("q", "a"), clock, 50.0)
    assert results[0].status is CheckStatus.FAILED
    assert "RuntimeError" in results[0].reason
    assert results[1].status is CheckStatus.FAILED
    assert "200.0 ms" in results[1].reason
    assert took_ms == pytest.approx(200.0)
    assert len(results) == 2 + len(default_checks())


def test_calibration_document_gives_per_model_coefficients_and_the_bar() -> None:
    from voxgate.routing.cascade.confidence import calibration_from_document

    calibration, accept = calibration_from_document(
        {"accept": 0.8, "source": "fit", "per_model": {"small": [1.0, 2.0, 0.5, 4.0]}}
    )
    assert accept == 0.8
    assert calibration.coefficients("small").per_logprob == 2.0
    assert calibration.coefficients("other") == calibration.default
    with pytest.raises(ValueError, match="accept"):
        calibration_from_document({"accept": 3})
    with pytest.raises(ValueError, match="coefficients"):
        calibration_from_document({"per_model": {"small": [1.0]}})


def test_cascade_defaults_document_sets_the_bar_and_the_hopeless_floor() -> None:
    from voxgate.routing.cascade.planner import CascadeSettings, settings_from_document

    base = CascadeSettings(accept=0.7, hopeless_below=0.05, max_stages=2)
    chosen = settings_from_document({"accept": 0.5, "hopeless_below": 0.2}, base)
    assert (chosen.accept, chosen.hopeless_below, chosen.max_stages) == (0.5, 0.2, 2)
    assert settings_from_document({}, base) == base  # absent keys keep the code's defaults
    for bad in ({"hopeless_below": 1.5}, {"accept": "high"}, {"hopeless_below": True}):
        with pytest.raises(ValueError, match="from 0 to 1"):
            settings_from_document(bad, base)
