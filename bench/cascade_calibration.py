"""Fit the token-confidence calibration and choose the cascade's bar on the ladder's TRAIN rows.

Run (from the repository root; the answers come from a live collection on TRAIN rows):
    voxgate serve &   # the bundled ladder
    voxgate eval ladder --live --split train --collect-logprobs \\
        --routers always-smollm2-135m,always-qwen2.5-coder-0.5b --out /tmp/cascade/train
    .venv/bin/python -m bench.cascade_calibration /tmp/cascade/train/answers-train.jsonl

1. Per small model, a logistic regression of "the answer was right" on the two length-neutral
   features of `routing.cascade.confidence` (10th percentile of token log-prob and of the
   margin to the runner-up); prints the coefficients to paste into `FITTED_CALIBRATION` and
   the in-sample AUC of each feature alone and of the fit.
2. Replays the cascade on the same TRAIN rows with the real router (bundled predictor), the real
   planner, every live check and the pure rule, for a range of bars: the stages' answers are the
   collected ones; the 1.5B's correctness comes from the bundled outcome file (the same prompts
   at temperature 0) and its stage is not checked (no answer text was collected for it).
   Prints accuracy and the share answered by smaller models per bar beside always-1.5B's.
No TEST row is read.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from dataset_builders.ladder.live import live_questions
from voxgate.bundled_ladder import bundled_outcomes_file, bundled_predictor_dir, default_models
from voxgate.core.clock import ManualClock
from voxgate.core.types import RoutingConstraints
from voxgate.evaluation.ladder_check import chat_request
from voxgate.evaluation.ladder_live import LiveAnswer, load_answers
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.cascade.checks import default_checks, run_checks
from voxgate.routing.cascade.confidence import (
    DEFAULT_COEFFICIENTS,
    ConfidenceCalibration,
    LogisticCoefficients,
    confidence_features,
    token_logprobs_from,
)
from voxgate.routing.cascade.evidence import AnswerEvidence, CheckResult
from voxgate.routing.cascade.planner import CascadeSettings
from voxgate.routing.cascade.rule import run_cascade_rule
from voxgate.routing.cascade.runner import plan_for_decision
from voxgate.routing.learned.serving import load_learned_predictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats

DEAREST = "qwen2.5-coder-1.5b"
BARS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
MARGIN_CAP = 5.0


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return float("nan")
    wins = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return float(wins / (len(positives) * len(negatives)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 50) -> np.ndarray:
    """Newton's method with a small ridge (not on the intercept); returns [intercept, *weights]."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(design.shape[1])
    ridge = np.eye(design.shape[1]) * l2
    ridge[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + ridge @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def fit_calibration(answers_path: Path) -> tuple[ConfidenceCalibration, dict[tuple[str, str], LiveAnswer]]:
    by_key: dict[tuple[str, str], LiveAnswer] = {}
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for answer in load_answers(answers_path):
        if answer.split != "train" or answer.error is not None:
            continue
        model = answer.router.removeprefix("always-")
        by_key[(answer.question_id, model)] = answer
        tokens = token_logprobs_from({"logprobs": {"content": answer.token_logprobs}})
        features = confidence_features(tokens) if tokens else None
        if features is not None:
            rows[model].append((features.low_logprob, min(features.low_margin, MARGIN_CAP), answer.score))
    per_model = {}
    print("| model | TRAIN answers | right | AUC low log-prob | AUC low margin | AUC fit | intercept | "
          "per log-prob | per margin |\n|---|---|---|---|---|---|---|---|---|")
    for model, data in sorted(rows.items()):
        matrix = np.asarray(data)
        x, y = matrix[:, :2], matrix[:, 2]
        weights = fit_logistic(x, y)
        fitted = 1 / (1 + np.exp(-(weights[0] + x @ weights[1:])))
        intercept, per_logprob, per_margin = (round(float(w), 3) for w in weights)
        per_model[model] = LogisticCoefficients(intercept, per_logprob, per_margin, MARGIN_CAP)
        print(f"| {model} | {len(y)} | {y.mean():.2f} | {auc(x[:, 0], y):.3f} | {auc(x[:, 1], y):.3f} | "
              f"{auc(fitted, y):.3f} | {weights[0]:.3f} | {weights[1]:.3f} | {weights[2]:.3f} |")
    return ConfidenceCalibration(per_model, source="fit on ladder TRAIN rows"), by_key


def dearest_scores() -> dict[str, float]:
    with bundled_outcomes_file().open(encoding="utf-8") as handle:
        return {row["prompt"]: float(row[DEAREST]) for row in csv.DictReader(handle) if row["split"] == "train"}


def replay(calibration: ConfidenceCalibration, by_key: dict[tuple[str, str], LiveAnswer]) -> float:
    """Print the replay per bar; return the bar chosen: the lowest whose accuracy reaches always-1.5B's
    on these rows, else the most accurate (the lower on ties)."""
    cards = default_models()
    clock = ManualClock()
    router = Router(cards, load_learned_predictor(bundled_predictor_dir()), LatencyStats(cards),
                    CircuitBreakers(clock), SessionAffinity(), clock)
    checks = default_checks(calibration)
    dearest = dearest_scores()
    small = {model for _, model in by_key}
    questions = [q for q in live_questions("train")
                 if q.prompt in dearest and all((q.id, model) in by_key for model in small)]
    results_cache: dict[tuple[str, str], list[CheckResult]] = {}
    reference = float(np.mean([dearest[q.prompt] for q in questions]))
    print(f"\n{len(questions)} TRAIN questions; always-{DEAREST} accuracy {reference:.3f}\n")
    accuracy_by_bar: dict[float, float] = {}
    print("| bar | accuracy | answered by smaller models | mean stages |\n|---|---|---|---|")
    for bar in BARS:
        scores, smaller, stages_run = [], [], []
        for question in questions:
            request = chat_request(question.prompt)
            decision = router.decide(request, RoutingConstraints(), "auto")
            plan = plan_for_decision(decision, RoutingConstraints(), CascadeSettings(accept=bar))
            stage_results: list[list[CheckResult] | None] = []
            for stage in plan.models:
                answer = by_key.get((question.id, stage))
                if stage == DEAREST or answer is None:
                    stage_results.append([])
                    continue
                key = (question.id, stage)
                if key not in results_cache:
                    tokens = token_logprobs_from({"logprobs": {"content": answer.token_logprobs}})
                    evidence = AnswerEvidence(stage, request, answer.reply, tokens)
                    results_cache[key] = run_checks(checks, evidence, clock, 1e9)[0]
                stage_results.append(results_cache[key])
            outcome = run_cascade_rule(plan.models, stage_results, bar)
            model = outcome.answered_by or DEAREST
            answer = by_key.get((question.id, model))
            score = dearest[question.prompt] if model == DEAREST or answer is None else answer.score
            scores.append(score)
            smaller.append(model != DEAREST)
            stages_run.append(len(outcome.judgements))
        accuracy_by_bar[bar] = float(np.mean(scores))
        print(f"| {bar:.2f} | {np.mean(scores):.3f} | {np.mean(smaller):.0%} | {np.mean(stages_run):.2f} |")
    reaching = [bar for bar, accuracy in accuracy_by_bar.items() if accuracy >= reference - 1e-12]
    chosen = min(reaching) if reaching else max(accuracy_by_bar, key=lambda b: (accuracy_by_bar[b], -b))
    print(f"\nchosen bar: {chosen:.2f} (" + ("the lowest reaching always-1.5B" if reaching else "none reaches "
          "always-1.5B: the most accurate") + ")")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="write the bar and calibration here (src/voxgate/data/ladder/"
                        "cascade.json is what the gateway loads)")
    parser.add_argument("answers", type=Path,
                        help="answers-train.jsonl from `voxgate eval ladder --live --split train`")
    args = parser.parse_args()
    calibration, by_key = fit_calibration(args.answers)
    print("\nFITTED_CALIBRATION per_model = {")
    for model, c in calibration.per_model.items():
        print(f"    {model!r}: LogisticCoefficients({c.intercept}, {c.per_logprob}, {c.per_margin}),")
    print("}")
    bar = replay(calibration, by_key)
    if args.write is not None:
        document = {
            "source": f"fit on {sum(1 for k in by_key)} ladder TRAIN answers by bench/cascade_calibration.py",
            "accept": bar,
            "per_model": {m: [c.intercept, c.per_logprob, c.per_margin, c.margin_cap]
                          for m, c in calibration.per_model.items()},
            "default": [DEFAULT_COEFFICIENTS.intercept, DEFAULT_COEFFICIENTS.per_logprob,
                        DEFAULT_COEFFICIENTS.per_margin, DEFAULT_COEFFICIENTS.margin_cap],
        }
        args.write.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
