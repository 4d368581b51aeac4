"""Two more cascade levers replayed on the ladder's TRAIN answers: agreement and a learned answer checker.

Run (the same answers as bench/cascade_calibration.py; TRAIN rows only, no TEST row is read):
    .venv/bin/python -m bench.cascade_levers /tmp/cascade/train/answers-train.jsonl [more answers files]

Each row replays the cascade with the real router, planner and rule over every (hopeless floor, bar)
pair, as `bench.cascade_calibration` does, and reports the pair its `choose` rule picks (the issue's
targets: always-1.5B's accuracy with at least half the answers from the smaller models) and the most
accurate pair whatever the share:
- **shipped**: today's live checks (token confidence calibrated on these rows, echo, arithmetic...);
- **agreement**: the same with `routing.cascade.agreement` on: stages 1 and 2 answer side by side and each
  is the other's peer (latency counts both, as they share two cores);
- **learned, beside** / **learned, instead of confidence**: the learned answer checker
  (`routing.learned.answer_checker`, what `voxgate train` fits) trained out of fold (5 folds by question)
  on the answer text, token log-probs and margins, without the router's prior (the bundled predictor was
  fit on these same TRAIN rows, so its prior would leak the label);
- **oracle**: the cheapest model that answered right (the ceiling no check reaches).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.cascade_calibration import DEAREST, Replayed, auc, choose, fit_calibration, replay_grid
from dataset_builders.ladder.live import live_questions
from voxgate.evaluation.ladder_live import LiveAnswer
from voxgate.routing.cascade.checks import TokenConfidenceCheck, default_checks
from voxgate.routing.cascade.confidence import token_logprobs_from
from voxgate.routing.cascade.evidence import AnswerEvidence, CheckResult
from voxgate.routing.cascade.learned_check import MEANING, token_margins
from voxgate.routing.learned.answer_checker import CheckedAnswer, checker_feature_matrix, train_checker

FOLDS = 5
CHEAPEST_FIRST = ("smollm2-135m", "qwen2.5-coder-0.5b", DEAREST)


@dataclass(frozen=True)
class OutOfFoldCheck:
    """The learned checker's out-of-fold P(good) for a (model, prompt) pair, as a live check would give it."""

    p_good_of: Mapping[tuple[str, str], float]
    name: str = "learned"

    def check(self, evidence: AnswerEvidence) -> CheckResult:
        p_good = self.p_good_of[(evidence.model_id, evidence.request.prompt_text)]
        return CheckResult.scored(self.name, p_good, p_good, MEANING, f"out-of-fold p_good {p_good:.2f}")


def _checked(answer: LiveAnswer, prompt: str) -> CheckedAnswer:
    tokens = token_logprobs_from({"logprobs": {"content": answer.token_logprobs}})
    return CheckedAnswer(prompt, answer.reply, None if tokens is None else [t.logprob for t in tokens],
                         None if tokens is None else token_margins(tokens))


def out_of_fold_p_good(by_key: dict[tuple[str, str], LiveAnswer]) -> dict[tuple[str, str], float]:
    """(model, prompt) -> P(good) from a checker trained on the other folds' questions."""
    prompts = {q.id: q.prompt for q in live_questions("train")}
    keys = sorted(k for k in by_key if k[0] in prompts)
    fold_of = {qid: index % FOLDS for index, qid in enumerate(sorted({qid for qid, _ in keys}))}
    p_good: dict[tuple[str, str], float] = {}
    for fold in range(FOLDS):
        train = [k for k in keys if fold_of[k[0]] != fold]
        features = checker_feature_matrix([_checked(by_key[k], prompts[k[0]]) for k in train])
        checker = train_checker(features, np.array([by_key[k].score for k in train]))
        for qid, model in (k for k in keys if fold_of[k[0]] == fold):
            p_good[(model, prompts[qid])] = checker.p_good(_checked(by_key[(qid, model)], prompts[qid]))
    aucs = []
    for model in CHEAPEST_FIRST:
        model_keys = [k for k in keys if k[1] == model]
        scores = np.array([p_good[(model, prompts[qid])] for qid, _ in model_keys])
        labels = np.array([by_key[k].score >= 0.5 for k in model_keys], dtype=int)
        aucs.append(f"{model} {auc(scores, labels):.3f}")
    print("learned checker, out-of-fold AUC per model: " + ", ".join(aucs))
    return p_good


def oracle(by_key: dict[tuple[str, str], LiveAnswer]) -> Replayed:
    """The cheapest model that answered right (the dearest when none did), each question."""
    questions = [q.id for q in live_questions("train") if all((q.id, m) in by_key for m in CHEAPEST_FIRST)]
    picked = [by_key[(q, next((m for m in CHEAPEST_FIRST if by_key[(q, m)].score >= 0.5), DEAREST))]
              for q in questions]
    return Replayed(-1.0, -1.0, float(np.mean([a.score for a in picked])),
                    float(np.mean([a.router != f"always-{DEAREST}" for a in picked])), 1.0,
                    float(np.mean([a.latency_ms for a in picked])))


def _row(name: str, grid: list[Replayed]) -> str:
    reference, *rows = grid
    chosen = choose(grid, verbose=False)
    best = max(rows, key=lambda r: (r.accuracy, -r.mean_latency_ms))
    return (f"| {name} | {chosen.hopeless_below:.2f} / {chosen.bar:.2f} | {chosen.accuracy:.3f} "
            f"| {chosen.smaller_share:.0%} | {chosen.mean_latency_ms / reference.mean_latency_ms:.2f}x "
            f"| {best.accuracy:.3f} ({best.smaller_share:.0%}, {best.hopeless_below:.2f} / {best.bar:.2f}) |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("answers", type=Path, nargs="+",
                        help="answers-train.jsonl files covering always-<model> for the three bundled models")
    args = parser.parse_args(argv)
    calibration, by_key = fit_calibration(args.answers)
    shipped = default_checks(calibration)
    learned = OutOfFoldCheck(out_of_fold_p_good(by_key))
    without_confidence = tuple(c for c in shipped if not isinstance(c, TokenConfidenceCheck))
    grids = {
        "shipped checks": replay_grid(calibration, by_key, verbose=False),
        "agreement": replay_grid(calibration, by_key, agreement=True, verbose=False),
        "learned, beside": replay_grid(calibration, by_key, checks=(*shipped, learned), verbose=False),
        "learned, instead of confidence": replay_grid(calibration, by_key, checks=(*without_confidence, learned),
                                                      verbose=False),
    }
    reference = grids["shipped checks"][0]
    ceiling = oracle(by_key)
    print(f"\nalways-{DEAREST}: accuracy {reference.accuracy:.3f}, mean latency {reference.mean_latency_ms:.0f} ms; "
          f"oracle (cheapest right model): {ceiling.accuracy:.3f}, {ceiling.smaller_share:.0%} from the smaller "
          f"models\n")
    print("| checks | chosen floor / bar | accuracy | from smaller models | latency vs always-1.5B "
          "| most accurate pair (share, floor / bar) |\n|---|---|---|---|---|---|")
    for name, grid in grids.items():
        print(_row(name, grid))


if __name__ == "__main__":
    main()
