"""Each router against the dearest model asked directly, question by question, with bootstrap intervals.

`voxgate eval ladder --live` asks every router the same questions, so a router and always-<dearest>
can be compared per question: the accuracy difference and the mean latency ratio, each with a
95 % interval from resampling the questions (paired, so one hard question moves both arms), and the
median of the per-question latency ratios (what a typical question costs, whatever a few long
answers do). Pure; numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxgate.evaluation.ladder_live import LiveAnswer

RESAMPLES = 4_000
SEED = 0


@dataclass(frozen=True)
class PairedComparison:
    router: str
    reference: str
    questions: int
    accuracy_diff: float
    accuracy_diff_ci: tuple[float, float]
    mean_latency_ratio: float
    mean_latency_ratio_ci: tuple[float, float]
    median_latency_ratio: float


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(samples, [0.025, 0.975])
    return float(low), float(high)


def compare(answers: Sequence[LiveAnswer], router: str, reference: str) -> PairedComparison | None:
    """`router` against `reference` over the questions both answered; None when they share none."""
    mine = {a.question_id: a for a in answers if a.router == router}
    theirs = {a.question_id: a for a in answers if a.router == reference}
    common = sorted(mine.keys() & theirs.keys())
    if not common:
        return None
    scores = np.array([[mine[q].score, theirs[q].score] for q in common])
    latencies_ms = np.array([[mine[q].latency_ms, theirs[q].latency_ms] for q in common])
    picks = np.random.default_rng(SEED).integers(0, len(common), size=(RESAMPLES, len(common)))
    score_diffs = scores[picks, 0].mean(axis=1) - scores[picks, 1].mean(axis=1)
    ratios = latencies_ms[picks, 0].sum(axis=1) / np.maximum(latencies_ms[picks, 1].sum(axis=1), 1e-9)
    per_question = latencies_ms[:, 0] / np.maximum(latencies_ms[:, 1], 1e-9)
    return PairedComparison(
        router=router,
        reference=reference,
        questions=len(common),
        accuracy_diff=float(scores[:, 0].mean() - scores[:, 1].mean()),
        accuracy_diff_ci=_interval(score_diffs),
        mean_latency_ratio=float(latencies_ms[:, 0].sum() / max(latencies_ms[:, 1].sum(), 1e-9)),
        mean_latency_ratio_ci=_interval(ratios),
        median_latency_ratio=float(np.median(per_question)),
    )


def paired_markdown(answers: Sequence[LiveAnswer], dearest: str) -> str:
    """A table of every router against `always-<dearest>`; empty when that router was not asked."""
    reference = f"always-{dearest}"
    routers = [r for r in dict.fromkeys(a.router for a in answers) if r != reference]
    rows = [c for c in (compare(answers, r, reference) for r in routers) if c is not None]
    if not rows:
        return ""
    lines = [
        f"Paired against {reference}, question by question (95 % intervals: {RESAMPLES:,} bootstrap resamples "
        "of the questions):",
        "",
        "| router | questions | accuracy difference | mean latency ratio | median per-question latency ratio |",
        "|---|---|---|---|---|",
    ]
    for c in rows:
        (acc_low, acc_high), (lat_low, lat_high) = c.accuracy_diff_ci, c.mean_latency_ratio_ci
        lines.append(
            f"| {c.router} | {c.questions} | {c.accuracy_diff:+.3f} [{acc_low:+.3f}, {acc_high:+.3f}] | "
            f"{c.mean_latency_ratio:.3f}x [{lat_low:.3f}, {lat_high:.3f}] | {c.median_latency_ratio:.2f}x |"
        )
    return "\n".join(lines) + "\n"
