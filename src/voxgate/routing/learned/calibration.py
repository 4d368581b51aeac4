"""Calibration: make predicted quality match observed accuracy, and measure how far off it is.

`fit_platt` learns `p' = sigmoid(a * logit(p) + b)` per model from out-of-fold predictions;
`expected_calibration_error` is the usual binned ECE (equal-width bins, weighted by count).
"""

from __future__ import annotations

import numpy as np

from voxgate.routing.learned.heads import Array, sigmoid

ECE_BINS = 10


def logit(p: Array) -> Array:
    clipped = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.asarray(np.log(clipped / (1.0 - clipped)), dtype=np.float64)


def fit_platt(predicted: Array, observed: Array, l2: float = 1e-3) -> tuple[float, float]:
    """Slope and intercept on the logit scale; unknown (NaN) observations are skipped."""
    known = ~np.isnan(observed)
    z, y = logit(predicted[known]), observed[known]
    if z.size < 2:
        return 1.0, 0.0
    params = np.array([1.0, 0.0])
    design = np.column_stack([z, np.ones_like(z)])
    for _ in range(50):
        p = sigmoid(design @ params)
        gradient = design.T @ (p - y) + l2 * (params - np.array([1.0, 0.0]))
        hessian = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        params -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return float(params[0]), float(params[1])


def apply_platt(predicted: Array, slope: Array, intercept: Array) -> Array:
    """Calibrated probabilities; `slope`/`intercept` broadcast over the model axis."""
    return sigmoid(logit(predicted) * slope + intercept)


def reliability_bins(predicted: Array, observed: Array, bins: int = ECE_BINS) -> list[tuple[float, float, int]]:
    """(mean predicted, mean observed, cells) per non-empty equal-width bin of the known cells."""
    known = ~np.isnan(observed)
    p, y = predicted[known].ravel(), observed[known].ravel()
    index = np.minimum((p * bins).astype(int), bins - 1)
    return [
        (float(p[index == b].mean()), float(y[index == b].mean()), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]


def expected_calibration_error(predicted: Array, observed: Array, bins: int = ECE_BINS) -> float:
    """Binned ECE over all known cells of (n,) or (n, m) arrays; 0 means perfectly calibrated."""
    rows = reliability_bins(predicted, observed, bins)
    cells = sum(count for _, _, count in rows)
    return sum(count * abs(mean_p - mean_y) for mean_p, mean_y, count in rows) / cells if cells else 0.0
