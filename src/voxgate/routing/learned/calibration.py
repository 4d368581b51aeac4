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


def expected_calibration_error(predicted: Array, observed: Array, bins: int = ECE_BINS) -> float:
    """Binned ECE over all known cells of (n,) or (n, m) arrays; 0 means perfectly calibrated."""
    known = ~np.isnan(observed)
    p, y = predicted[known].ravel(), observed[known].ravel()
    if p.size == 0:
        return 0.0
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            total += in_bin.sum() * abs(float(p[in_bin].mean()) - float(y[in_bin].mean()))
    return total / p.size
