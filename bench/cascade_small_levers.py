"""Levers against small models' confident wrong answers, replayed on the ladder's TRAIN answers.

Run (the answers `bench/cascade_calibration.py` reads; TRAIN rows only, no TEST row is read):
    .venv/bin/python -m bench.cascade_small_levers /tmp/cascade/train/answers-train.jsonl [more answers files]

Each lever replays the cascade with the real router, planner, checks and rule, as
`bench.cascade_calibration` does, at one hopeless floor and bar. Two columns per lever: **in sample** (the
token-confidence calibration fit on all TRAIN answers, as shipped) and **out of fold** (5 folds by question:
each fold judged with a calibration fit on the other four, so a lever cannot win by fitting the answers it
is judged on). Wins / losses: questions the cascade got right and always-1.5B wrong, and the reverse.

- **bar** / **hopeless floor**: the shipped knobs moved;
- **per-model bar**: the token confidence of one model must reach its own bar (scaled so the rule's single
  bar does it: p_good x bar / model's bar); "SmolLM2 never on confidence" caps its token confidence under
  the bar, so only a verified check (arithmetic) accepts it;
- **per answer kind**: the confidence logistic with an intercept per kind of answer (the question is plain
  arithmetic / a number / words / code), per model;
- **agreement**: stages 1 and 2 answer side by side and each is the other's peer (latency: both summed).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.cascade_calibration import (
    DEAREST,
    _bundled_router,
    _peers_of,
    _replay_latency_ms,
    _stage_results,
    fit_calibration,
    fit_logistic,
)
from dataset_builders.ladder.live import live_questions
from voxgate.core.clock import ManualClock
from voxgate.core.types import ChatRequest, RoutingConstraints
from voxgate.evaluation.ladder_check import chat_request
from voxgate.evaluation.ladder_live import LiveAnswer
from voxgate.routing.cascade.checks import TokenConfidenceCheck, default_checks, question_arithmetic
from voxgate.routing.cascade.confidence import (
    ConfidenceCalibration,
    LogisticCoefficients,
    confidence_features,
    token_logprobs_from,
)
from voxgate.routing.cascade.evidence import AnswerCheck, AnswerEvidence, CheckResult
from voxgate.routing.cascade.planner import CascadeSettings
from voxgate.routing.cascade.rule import run_cascade_rule
from voxgate.routing.cascade.runner import plan_for_decision
from voxgate.routing.decision import Decision
from voxgate.routing.learned.answer_text import final_answer, parse_number

FOLDS = 5
SMALLEST = "smollm2-135m"
MIDDLE = "qwen2.5-coder-0.5b"
KINDS = ("computed", "number", "words", "code")
MARGIN_CAP = 5.0


def answer_kind(prompt: str, reply: str) -> str:
    """computed (the question is plain arithmetic), number, words or code."""
    if question_arithmetic(prompt) is not None:
        return "computed"
    stated = final_answer(reply)
    if stated is None:
        return "words"
    if stated.startswith("def:"):
        return "code"
    return "number" if parse_number(stated) is not None else "words"


@dataclass(frozen=True)
class ScaledConfidence:
    """Token confidence passed through `scale(evidence, p_good)`: a per-model bar or cap."""

    inner: TokenConfidenceCheck
    scale: Callable[[AnswerEvidence, float], float]
    name: str = "token_confidence"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        result = self.inner.check(evidence)
        if result.p_good is None:
            return result
        return replace(result, p_good=self.scale(evidence, result.p_good))


@dataclass(frozen=True)
class KindConfidence:
    """Token confidence from a per-model logistic with an intercept per answer kind."""

    weights: Mapping[str, np.ndarray]
    name: str = "token_confidence"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        result = TokenConfidenceCheck().check(evidence)
        features = confidence_features(evidence.token_logprobs or ())
        if result.p_good is None or features is None:
            return result
        kind = answer_kind(evidence.request.prompt_text, evidence.answer_text)
        row = np.array([1.0, features.low_logprob, min(features.low_margin, MARGIN_CAP),
                        *(float(kind == k) for k in KINDS[1:])])
        return replace(result, p_good=float(1 / (1 + np.exp(-row @ self.weights[evidence.model_id]))))


@dataclass(frozen=True)
class Lever:
    name: str
    hopeless_below: float
    bar: float
    checks: Callable[[ConfidenceCalibration, Mapping[str, np.ndarray]], Sequence[AnswerCheck]]
    agreement: bool = False


def _with_confidence(calibration: ConfidenceCalibration, confidence: AnswerCheck) -> tuple[AnswerCheck, ...]:
    return tuple(confidence if isinstance(c, TokenConfidenceCheck) else c for c in default_checks(calibration))


def _per_model_bar(bars: Mapping[str, float], bar: float) -> Callable[[ConfidenceCalibration, Mapping[str, np.ndarray]],
                                                                         Sequence[AnswerCheck]]:
    def checks(calibration: ConfidenceCalibration, _: Mapping[str, np.ndarray]) -> Sequence[AnswerCheck]:
        def scale(evidence: AnswerEvidence, p_good: float) -> float:
            return p_good * bar / bars.get(evidence.model_id, bar)
        return _with_confidence(calibration, ScaledConfidence(TokenConfidenceCheck(calibration), scale))
    return checks


def _shipped(calibration: ConfidenceCalibration, _: Mapping[str, np.ndarray]) -> Sequence[AnswerCheck]:
    return default_checks(calibration)


def _per_kind(_: ConfidenceCalibration, weights: Mapping[str, np.ndarray]) -> Sequence[AnswerCheck]:
    return _with_confidence(ConfidenceCalibration(), KindConfidence(weights))


LEVERS = (
    Lever("shipped until 2026-12-03 (floor 0.35, bar 0.40)", 0.35, 0.40, _shipped),
    Lever("bar 0.50 (floor 0.35)", 0.35, 0.50, _shipped),
    Lever("bar 0.70 (floor 0.35)", 0.35, 0.70, _shipped),
    Lever("hopeless floor 0.45 (bar 0.40)", 0.45, 0.40, _shipped),
    Lever("hopeless floor 0.50 (bar 0.40)", 0.50, 0.40, _shipped),
    Lever("SmolLM2 bar 0.80 (others 0.40)", 0.35, 0.40, _per_model_bar({SMALLEST: 0.8}, 0.40)),
    Lever("SmolLM2 never on confidence (others 0.40)", 0.35, 0.40, _per_model_bar({SMALLEST: 100.0}, 0.40)),
    Lever("SmolLM2 bar 0.50, 0.5B bar 0.70", 0.35, 0.40, _per_model_bar({SMALLEST: 0.5, MIDDLE: 0.7}, 0.40)),
    Lever("per-kind calibration (floor 0.35, bar 0.40)", 0.35, 0.40, _per_kind),
    Lever("per-kind calibration (floor 0.35, bar 0.50)", 0.35, 0.50, _per_kind),
    Lever("agreement 135M / 0.5B (floor 0.35, bar 0.40)", 0.35, 0.40, _shipped, agreement=True),
    Lever("agreement 135M / 0.5B (floor 0.35, bar 0.50)", 0.35, 0.50, _shipped, agreement=True),
)


@dataclass(frozen=True)
class Fold:
    """Questions judged together, with the calibration and per-kind weights fit without them."""

    question_ids: frozenset[str]
    calibration: ConfidenceCalibration
    kind_weights: Mapping[str, np.ndarray]


def _feature_rows(by_key: dict[tuple[str, str], LiveAnswer], prompts: Mapping[str, str]
                  ) -> dict[tuple[str, str], list[float]]:
    """(question, model) -> [low log-prob, capped low margin, kind one-hots..., score]."""
    rows = {}
    for (question_id, model), answer in by_key.items():
        tokens = token_logprobs_from({"logprobs": {"content": answer.token_logprobs}})
        features = confidence_features(tokens) if tokens else None
        if features is None or question_id not in prompts:
            continue
        kind = answer_kind(prompts[question_id], answer.reply)
        rows[(question_id, model)] = [features.low_logprob, min(features.low_margin, MARGIN_CAP),
                                      *(float(kind == k) for k in KINDS[1:]), answer.score]
    return rows


def fit_fold(rows: Mapping[tuple[str, str], list[float]], held_out: frozenset[str]) -> Fold:
    """The plain and the per-kind logistic per model, fit on every question not held out."""
    per_model, kind_weights = {}, {}
    for model in sorted({m for _, m in rows}):
        data = np.array([v for (q, m), v in rows.items() if m == model and q not in held_out])
        plain = fit_logistic(data[:, :2], data[:, -1])
        per_model[model] = LogisticCoefficients(float(plain[0]), float(plain[1]), float(plain[2]), MARGIN_CAP)
        kind_weights[model] = fit_logistic(data[:, :-1], data[:, -1], l2=1.0)
    return Fold(held_out, ConfidenceCalibration(per_model), kind_weights)


@dataclass(frozen=True)
class Replay:
    by_key: dict[tuple[str, str], LiveAnswer]
    requests: Mapping[str, ChatRequest]
    decisions: Mapping[str, Decision]

    def run(self, lever: Lever, fold: Fold) -> list[tuple[float, float, float, float]]:
        """Per question of the fold: (score, always-1.5B's score, from a smaller model, latency ms)."""
        checks = lever.checks(fold.calibration, fold.kind_weights)
        settings = CascadeSettings(accept=lever.bar, hopeless_below=lever.hopeless_below)
        cache: dict[tuple[str, str, tuple[str, ...]], list[CheckResult]] = {}
        clock = ManualClock()
        out = []
        for question_id in sorted(fold.question_ids):
            request = self.requests[question_id]
            plan = plan_for_decision(self.decisions[question_id], RoutingConstraints(), settings)
            results = [_stage_results(question_id, m, _peers_of(plan.models, i, lever.agreement), request, checks,
                                      self.by_key, cache, clock) for i, m in enumerate(plan.models)]
            outcome = run_cascade_rule(plan.models, list(results), lever.bar)
            model = outcome.answered_by or DEAREST
            tried = plan.models[: len(outcome.judgements)]
            out.append((self.by_key[(question_id, model)].score, self.by_key[(question_id, DEAREST)].score,
                        float(model != DEAREST),
                        _replay_latency_ms(question_id, tried, plan.models, lever.agreement, self.by_key)))
        return out


def _cell(rows: Sequence[tuple[float, float, float, float]], reference_ms: float) -> str:
    table = np.array(rows)
    wins = int(np.sum(table[:, 0] > table[:, 1]))
    losses = int(np.sum(table[:, 0] < table[:, 1]))
    return (f"{table[:, 0].mean():.3f} | {table[:, 2].mean():.0%} | {table[:, 3].mean() / reference_ms:.3f}x "
            f"| {wins} / {losses}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("answers", type=Path, nargs="+",
                        help="answers-train.jsonl files covering always-<model> for the three bundled models")
    args = parser.parse_args(argv)
    _, by_key = fit_calibration(args.answers)
    models = {model for _, model in by_key}
    questions = [q for q in live_questions("train") if all((q.id, m) in by_key for m in models)]
    prompts = {q.id: q.prompt for q in questions}
    clock = ManualClock()
    router = _bundled_router(clock)
    requests = {q.id: chat_request(q.prompt) for q in questions}
    replay = Replay(by_key, requests,
                    {q: router.decide(r, RoutingConstraints(), "auto") for q, r in requests.items()})
    rows = _feature_rows(by_key, prompts)
    ids = sorted(prompts)
    everything = fit_fold(rows, frozenset())
    in_sample = replace(everything, question_ids=frozenset(ids))
    folds = [fit_fold(rows, frozenset(q for i, q in enumerate(ids) if i % FOLDS == k)) for k in range(FOLDS)]
    reference = float(np.mean([by_key[(q, DEAREST)].score for q in ids]))
    reference_ms = float(np.mean([by_key[(q, DEAREST)].latency_ms for q in ids]))
    print(f"\n{len(ids)} TRAIN questions; always-{DEAREST}: accuracy {reference:.3f}, "
          f"mean latency {reference_ms:.0f} ms\n")
    print("| lever | in sample: accuracy | from smaller models | latency vs always-1.5B | wins / losses "
          "| out of fold: accuracy | from smaller models | latency vs always-1.5B | wins / losses |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for lever in LEVERS:
        out_of_fold = [row for fold in folds for row in replay.run(lever, fold)]
        print(f"| {lever.name} | {_cell(replay.run(lever, in_sample), reference_ms)} "
              f"| {_cell(out_of_fold, reference_ms)} |")


if __name__ == "__main__":
    main()
