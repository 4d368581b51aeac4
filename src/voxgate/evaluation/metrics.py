"""Router quality metrics, as the RouterBench and RouteLLM papers define them.

RouterBench (Hu et al. 2024, withmartian/routerbench `evaluation/AIQ.py`):
- A router traces points (total cost, accuracy) as its willingness-to-pay knob moves. Mixing two
  configurations at random reaches any point on the segment between them, so the router is
  credited with the *non-decreasing convex hull* of its points: the upper concave envelope up to
  its most accurate point, flat after it.
- AIQ = 1/(c_max - c_min) * integral over [c_min, c_max] of that hull, where [c_min, c_max] is the
  cost range spanned by every router compared on the slice. Below a router's cheapest point the
  hull is 0 (it cannot spend less), after its dearest point it stays flat (as the reference code
  extends each hull to the largest cost of all routers).

RouteLLM (Ong et al. 2024, lm-sys/RouteLLM `routellm/evals/evaluate.py`), strong/weak pair:
- Thresholds at the 0, 10, ..., 100 % quantiles of the router's strong-win score give a curve of
  accuracy against the percentage of calls to the strong model (`threshold_curve`).
- APGR = (AUC - weak_AUC) / (strong_AUC - weak_AUC), trapezoidal areas over that curve, i.e. the
  average share of the weak-to-strong gap recovered; a random router scores about 0.5.
- CPT(x %) = the percentage of strong calls at which the curve first recovers x % of the gap
  (linear interpolation; RouteLLM's `np.interp` gives the same on a monotone curve).

Discrimination (`auc_per_model`): per model, the chance that a prompt it answered right gets a
higher predicted quality than one it answered wrong (0.5: the prompt tells nothing).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from voxgate.routing.learned.heads import Array

ROUTELLM_NUM_RESULTS = 10


def nondecreasing_hull(points: Array) -> Array:
    """The (cost, accuracy) vertices of the non-decreasing upper convex hull, sorted by cost."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    order = np.lexsort((-pts[:, 1], pts[:, 0]))
    hull: list[tuple[float, float]] = []
    for cost, acc in pts[order]:
        if hull and cost == hull[-1][0]:
            continue
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (acc - y1) - (y2 - y1) * (cost - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append((float(cost), float(acc)))
    best = int(np.argmax([acc for _, acc in hull]))
    return np.array(hull[: best + 1])


def hull_value_at(points: Array, cost: float) -> float:
    """Accuracy the router reaches spending `cost` (0 below its cheapest point)."""
    hull = nondecreasing_hull(points)
    if cost < hull[0, 0]:
        return 0.0
    return float(np.interp(cost, hull[:, 0], hull[:, 1]))


def hull_cost_for(points: Array, accuracy: float) -> float | None:
    """Least cost at which the router reaches `accuracy`; None if it never does."""
    hull = nondecreasing_hull(points)
    if accuracy <= hull[0, 1]:
        return float(hull[0, 0])
    for (x1, y1), (x2, y2) in pairwise(hull):
        if y1 < accuracy <= y2:
            return float(x1 + (accuracy - y1) * (x2 - x1) / (y2 - y1))
    return None


def aiq(points: Array, cost_min: float, cost_max: float) -> float:
    """RouterBench's AIQ of one router over the shared cost range [cost_min, cost_max]."""
    hull = nondecreasing_hull(points)
    if cost_max <= cost_min:
        return hull_value_at(points, cost_max)
    low = max(cost_min, float(hull[0, 0]))
    if low >= cost_max:
        return 0.0
    inner = hull[(hull[:, 0] > low) & (hull[:, 0] < cost_max), 0]
    xs = np.concatenate([[low], inner, [cost_max]])
    ys = np.interp(xs, hull[:, 0], hull[:, 1])
    area = float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2.0))
    return area / (cost_max - cost_min)


def threshold_curve(
    win_score: Array, strong: Array, weak: Array, num_results: int = ROUTELLM_NUM_RESULTS
) -> Array:
    """RouteLLM's curve: rows of (strong call %, accuracy) at quantile thresholds of `win_score`."""
    thresholds = np.quantile(win_score, np.linspace(0.0, 1.0, num_results + 1))
    rows = []
    for i, threshold in enumerate(thresholds):
        to_strong = win_score >= threshold if i < len(thresholds) - 1 else win_score > threshold
        accuracy = float(np.where(to_strong, strong, weak).mean())
        rows.append((float(to_strong.mean() * 100.0), accuracy))
    curve = np.array(rows)
    return curve[np.argsort(curve[:, 0], kind="stable")]


def apgr(curve: Array, strong_accuracy: float, weak_accuracy: float) -> float:
    """Average performance gap recovered over a `threshold_curve`."""
    x = curve[:, 0] / 100.0
    area = float(np.sum((x[1:] - x[:-1]) * (curve[1:, 1] + curve[:-1, 1]) / 2.0))
    span = float(x[-1] - x[0])
    gap = (strong_accuracy - weak_accuracy) * span
    if gap == 0.0:
        return float("nan")
    return (area - weak_accuracy * span) / gap


def cpt(curve: Array, strong_accuracy: float, weak_accuracy: float, fraction: float) -> float | None:
    """Strong-call percentage needed to recover `fraction` of the gap; None if never reached."""
    target = weak_accuracy + fraction * (strong_accuracy - weak_accuracy)
    if curve[0, 1] >= target:
        return float(curve[0, 0])
    for (x1, y1), (x2, y2) in pairwise(curve):
        if y1 < target <= y2:
            return float(x1 + (target - y1) * (x2 - x1) / (y2 - y1))
    return None


def _average_ranks(values: Array) -> Array:
    """1-based ranks, tied values sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return np.asarray((upper - (counts - 1) / 2.0)[inverse.reshape(-1)], dtype=np.float64)


def auc_per_model(predicted: Array, observed: Array) -> list[float | None]:
    """Mann-Whitney AUC of each column of `predicted` against `observed` >= 0.5, over known cells;
    None where a model got every known cell right (or every one wrong)."""
    out: list[float | None] = []
    for j in range(observed.shape[1]):
        known = ~np.isnan(observed[:, j])
        right, scores = observed[known, j] >= 0.5, predicted[known, j]
        n_right, n_wrong = int(right.sum()), int((~right).sum())
        if not n_right or not n_wrong:
            out.append(None)
            continue
        rank_sum = float(_average_ranks(scores)[right].sum())
        out.append((rank_sum - n_right * (n_right + 1) / 2.0) / (n_right * n_wrong))
    return out
