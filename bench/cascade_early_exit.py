"""Would stopping a checked stage as soon as its answer looks doomed save time? Replayed on the
ladder's TRAIN answers.

Run (from the repository root; the answers come from the live TRAIN collection that
`bench/cascade_calibration.py` reads, all three bundled models):
    .venv/bin/python -m bench.cascade_early_exit /tmp/train/answers-train.jsonl [more answers files]

A checked stage (every stage but the plan's last) streams its tokens with log-probabilities. The
early-exit rule (`EarlyExitRule`, here) looks at the answer so far after each
token: once at least `min_tokens` have arrived and the token-confidence calibration gives the
prefix a `p_good` below the rule's bar, the stage stops and the cascade escalates, as it would
have after the whole answer if the final check agreed. Replayed with the shipped cascade
(`src/voxgate/data/ladder/cascade.json`: calibration, bar, hopeless floor), the real router and
planner and every live check, for a grid of (min_tokens, exit bar):

- accuracy and share answered by the smaller models (a stage stopped early is an escalation: a
  stage the full answer would have accepted is lost, which is what the grid must avoid);
- mean latency: a stopped stage costs its measured latency less the tokens it did not generate,
  at the model's per-token time fitted on the same answers (least squares, latency on tokens);
- stages stopped early, and of them how many the whole answer would have accepted (false exits).

Chooses by a rule fixed before any TEST row is read: among the pairs with no false exit on TRAIN,
the fastest; prints the choice. No TEST row is read.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.cascade_calibration import DEAREST, _bundled_router, _stage_results
from dataset_builders.ladder.live import live_questions
from voxgate.core.clock import ManualClock
from voxgate.core.types import ChatRequest, RoutingConstraints
from voxgate.evaluation.ladder_check import chat_request
from voxgate.evaluation.ladder_live import LiveAnswer, load_answers
from voxgate.routing.cascade.checks import default_checks
from voxgate.routing.cascade.confidence import (
    ConfidenceCalibration,
    calibration_from_document,
    confidence_features,
    token_logprobs_from,
)
from voxgate.routing.cascade.evidence import AnswerCheck, CheckResult, TokenLogprob
from voxgate.routing.cascade.planner import CascadePlan, CascadeSettings
from voxgate.routing.cascade.rule import StageAction, judge_stage, run_cascade_rule
from voxgate.routing.cascade.runner import plan_for_decision

SHIPPED = Path("src/voxgate/data/ladder/cascade.json")
MIN_TOKENS = (1, 2, 3, 4, 6, 8, 12)
EXIT_BARS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)


@dataclass(frozen=True)
class EarlyExitRule:
    """Stop a checked stage while it streams once its answer so far looks doomed: at least `min_tokens`
    in, and the calibration gives that prefix a `p_good` below `exit_bar`."""

    calibration: ConfidenceCalibration
    min_tokens: int
    exit_bar: float

    def doomed(self, tokens: Sequence[TokenLogprob], model_id: str) -> bool:
        if len(tokens) < self.min_tokens:
            return False
        features = confidence_features(tokens)
        return features is not None and self.calibration.coefficients(model_id).p_good(features) < self.exit_bar

    def exit_at(self, tokens: Sequence[TokenLogprob], model_id: str) -> int | None:
        """After how many of a whole answer's `tokens` a stage streaming it would stop; None: it would not."""
        for count in range(self.min_tokens, len(tokens)):
            if self.doomed(tokens[:count], model_id):
                return count
        return None


@dataclass(frozen=True)
class Replayed:
    min_tokens: int
    exit_bar: float
    accuracy: float
    smaller_share: float
    mean_latency_ms: float
    exits: int
    false_exits: int
    tokens_saved: int


def per_token_ms(by_key: dict[tuple[str, str], LiveAnswer]) -> dict[str, float]:
    """Each model's time per generated token: least squares of latency on the answer's token count."""
    slopes = {}
    for model in {m for _, m in by_key}:
        rows = np.array([(len(a.token_logprobs or []), a.latency_ms) for (_, m), a in by_key.items() if m == model])
        design = np.c_[np.ones(len(rows)), rows[:, 0]]
        slopes[model] = max(float(np.linalg.lstsq(design, rows[:, 1], rcond=None)[0][1]), 0.0)
    return slopes


@dataclass
class Question:
    id: str
    request: ChatRequest
    plan: CascadePlan
    tokens: dict[str, tuple[TokenLogprob, ...]]


def _replay(
    question: Question, rule: EarlyExitRule | None, bar: float, checks: Sequence[AnswerCheck],
    by_key: dict[tuple[str, str], LiveAnswer], slopes: dict[str, float],
    cache: dict[tuple[str, str, tuple[str, ...]], list[CheckResult]], clock: ManualClock,
) -> tuple[float, float, float, int, int, int]:
    """(score, answered by a smaller model, latency ms, exits, false exits, tokens saved) for one question."""
    models = question.plan.models
    full = [_stage_results(question.id, m, (), question.request, checks, by_key, cache, clock) for m in models]
    exits_at: dict[int, int] = {}
    results: list[Sequence[CheckResult] | None] = list(full)
    for index, model in enumerate(models[:-1]):
        at = None if rule is None else rule.exit_at(question.tokens.get(model, ()), model)
        if at is not None:
            exits_at[index] = at
            results[index] = [CheckResult.failed("early_exit", f"doomed after {at} tokens")]
    outcome = run_cascade_rule(models, results, bar)
    model = outcome.answered_by or DEAREST
    latency_ms, false_exits, saved = 0.0, 0, 0
    for index in range(len(outcome.judgements)):
        answer = by_key[(question.id, models[index])]
        if index in exits_at:
            skipped = len(question.tokens.get(models[index], ())) - exits_at[index]
            saved += skipped
            latency_ms += max(answer.latency_ms - slopes[models[index]] * skipped, 0.0)
            whole = judge_stage(models[index], full[index], bar, last=False)
            false_exits += int(whole.action is StageAction.ACCEPT)
        else:
            latency_ms += answer.latency_ms
    exits = sum(1 for i in exits_at if i < len(outcome.judgements))
    return by_key[(question.id, model)].score, float(model != DEAREST), latency_ms, exits, false_exits, saved


def replay_grid(
    calibration: ConfidenceCalibration, bar: float, hopeless_below: float, by_key: dict[tuple[str, str], LiveAnswer],
) -> tuple[Replayed, list[Replayed]]:
    """The shipped cascade without early exit, then every (min_tokens, exit bar) pair."""
    clock = ManualClock()
    router = _bundled_router(clock)
    checks = default_checks(calibration)
    models = {m for _, m in by_key}
    settings = CascadeSettings(accept=bar, hopeless_below=hopeless_below)
    questions = []
    for q in live_questions("train"):
        if not all((q.id, m) in by_key for m in models):
            continue
        request = chat_request(q.prompt)
        plan = plan_for_decision(router.decide(request, RoutingConstraints(), "auto"), RoutingConstraints(), settings)
        tokens = {m: token_logprobs_from({"logprobs": {"content": by_key[(q.id, m)].token_logprobs}}) or ()
                  for m in models}
        questions.append(Question(q.id, request, plan, tokens))
    slopes = per_token_ms(by_key)
    cache: dict[tuple[str, str, tuple[str, ...]], list[CheckResult]] = {}

    def run(rule: EarlyExitRule | None, min_tokens: int, exit_bar: float) -> Replayed:
        rows = [_replay(q, rule, bar, checks, by_key, slopes, cache, clock) for q in questions]
        accuracy, share, latency_ms = (float(v) for v in np.array([r[:3] for r in rows]).mean(axis=0))
        return Replayed(min_tokens, exit_bar, accuracy, share, latency_ms,
                        sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[5] for r in rows))

    baseline = run(None, 0, 0.0)
    grid = [run(EarlyExitRule(calibration, m, b), m, b) for m in MIN_TOKENS for b in EXIT_BARS]
    return baseline, grid


def choose(baseline: Replayed, grid: Sequence[Replayed]) -> Replayed | None:
    """Among the pairs with no false exit and no accuracy lost on TRAIN, the fastest (None: none saves time)."""
    safe = [r for r in grid if r.false_exits == 0 and r.accuracy >= baseline.accuracy - 1e-9]
    best = min(safe, key=lambda r: (r.mean_latency_ms, -r.min_tokens), default=None)
    return best if best is not None and best.mean_latency_ms < baseline.mean_latency_ms else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers", type=Path, nargs="+", help="answers-train.jsonl files covering the three models")
    parser.add_argument("--cascade", type=Path, default=SHIPPED, help="the cascade defaults (calibration, bar)")
    args = parser.parse_args()
    document = json.loads(args.cascade.read_text(encoding="utf-8"))
    calibration, bar = calibration_from_document(document)
    assert bar is not None
    by_key = {(a.question_id, a.router.removeprefix("always-")): a
              for path in args.answers for a in load_answers(path) if a.split == "train" and a.error is None}
    baseline, grid = replay_grid(calibration, bar, float(document["hopeless_below"]), by_key)
    print(f"TRAIN questions: the shipped cascade (bar {bar}, floor {document['hopeless_below']}), per-token "
          f"ms {', '.join(f'{m} {s:.1f}' for m, s in sorted(per_token_ms(by_key).items()))}\n")
    print("| min tokens | exit bar | accuracy | from smaller models | mean latency | vs no early exit | "
          "stages stopped | of them accepted whole (false exits) | tokens not generated |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for row in [baseline, *grid]:
        label = ("no early exit", "") if row is baseline else (str(row.min_tokens), f"{row.exit_bar:.2f}")
        ratio = row.mean_latency_ms / baseline.mean_latency_ms
        print(f"| {label[0]} | {label[1]} | {row.accuracy:.3f} | {row.smaller_share:.0%} | "
              f"{row.mean_latency_ms:.0f} ms | {ratio:.3f}x | {row.exits} | {row.false_exits} | {row.tokens_saved} |")
    chosen = choose(baseline, grid)
    print("\nchosen: none saves time without a false exit" if chosen is None else
          f"\nchosen (no false exit, no accuracy lost, fastest): min_tokens {chosen.min_tokens}, exit bar "
          f"{chosen.exit_bar}: {chosen.mean_latency_ms / baseline.mean_latency_ms:.3f}x")


if __name__ == "__main__":
    main()
