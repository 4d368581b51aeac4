"""Quality heads: from a feature matrix to P(good answer) for every model at once.

Targets are an (n, m) array in [0, 1] (soft scores allowed) with NaN where unknown; unknown
cells carry no weight. Three kinds, all numpy:

- `LogisticHead`: L2-regularised logistic regression per model, fitted by Newton's method (IRLS).
- `KnnHead`: cosine k-nearest neighbours over the first `embed_dim` columns, smoothed toward
  the model's mean score; with `temperature` > 0 a neighbour weighs exp((sim - best sim) / T),
  so closer neighbours count more (0: every neighbour counts the same).
- `MlpHead`: one hidden ReLU layer shared by all models, an output per model, trained with Adam.

Each head is rebuilt from `spec()` and `arrays()`, which is how the predictor saves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
EPS = 1e-6


def sigmoid(z: Array) -> Array:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def split_targets(y: Array) -> tuple[Array, Array]:
    """Targets with NaN replaced by 0, and the weight mask (1 known, 0 unknown)."""
    known = ~np.isnan(y)
    return np.where(known, y, 0.0), known.astype(np.float64)


def masked_mean(y: Array) -> Array:
    target, weight = split_targets(y)
    return np.asarray(target.sum(axis=0) / np.maximum(weight.sum(axis=0), 1.0), dtype=np.float64)


class QualityHead(Protocol):
    kind: str

    def fit(self, x: Array, y: Array) -> None: ...

    def predict_proba(self, x: Array) -> Array: ...

    def spec(self) -> dict[str, float | int | str]: ...

    def arrays(self) -> dict[str, Array]: ...


@dataclass
class LogisticHead:
    l2: float = 1.0
    max_iterations: int = 25
    kind: str = "logistic"

    def __post_init__(self) -> None:
        self.coef = np.zeros((0, 0))
        self.bias = np.zeros(0)

    def fit(self, x: Array, y: Array) -> None:
        target, weight = split_targets(y)
        design = np.hstack([x, np.ones((x.shape[0], 1))])
        penalty = np.full(design.shape[1], self.l2)
        penalty[-1] = 1e-6
        params = np.zeros((design.shape[1], y.shape[1]))
        for j in range(y.shape[1]):
            params[:, j] = self._fit_one(design, target[:, j], weight[:, j], penalty)
        self.coef, self.bias = params[:-1], params[-1]

    def _fit_one(self, design: Array, target: Array, weight: Array, penalty: Array) -> Array:
        beta = np.zeros(design.shape[1])
        prior = float((target * weight).sum() / max(weight.sum(), 1.0))
        beta[-1] = np.log((prior + 1e-3) / (1.0 - prior + 1e-3))
        for _ in range(self.max_iterations):
            p = sigmoid(design @ beta)
            gradient = design.T @ (weight * (p - target)) + penalty * beta
            curvature = weight * p * (1.0 - p)
            hessian = (design * curvature[:, None]).T @ design + np.diag(penalty)
            step = np.linalg.solve(hessian, gradient)
            beta -= step
            if float(np.max(np.abs(step))) < 1e-6:
                break
        return beta

    def predict_proba(self, x: Array) -> Array:
        return sigmoid(x @ self.coef + self.bias)

    def spec(self) -> dict[str, float | int | str]:
        return {"kind": self.kind, "l2": self.l2}

    def arrays(self) -> dict[str, Array]:
        return {"coef": self.coef, "bias": self.bias}


@dataclass
class KnnHead:
    k: int = 10
    embed_dim: int = 0
    prior_weight: float = 1.0
    temperature: float = 0.0
    kind: str = "knn"

    def __post_init__(self) -> None:
        self.keys = np.zeros((0, 0))
        self.targets = np.zeros((0, 0))
        self.weights = np.zeros((0, 0))
        self.prior = np.zeros(0)

    def _normalised(self, x: Array) -> Array:
        part = x[:, : self.embed_dim] if self.embed_dim else x
        return np.asarray(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), EPS))

    def fit(self, x: Array, y: Array) -> None:
        self.keys = self._normalised(x)
        self.targets, self.weights = split_targets(y)
        self.prior = masked_mean(y)

    def predict_proba(self, x: Array) -> Array:
        k = min(self.k, self.keys.shape[0])
        out = np.empty((x.shape[0], self.targets.shape[1]))
        queries = self._normalised(x)
        for start in range(0, x.shape[0], 512):
            sims = queries[start : start + 512] @ self.keys.T
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            closeness = self._closeness(np.take_along_axis(sims, nearest, axis=1))[:, :, None]
            got = (closeness * self.targets[nearest] * self.weights[nearest]).sum(axis=1)
            count = (closeness * self.weights[nearest]).sum(axis=1)
            denominator = count + self.prior_weight
            smoothed = (got + self.prior_weight * self.prior) / np.maximum(denominator, EPS)
            out[start : start + 512] = np.where(denominator > 0, smoothed, self.prior)
        return np.clip(out, EPS, 1.0 - EPS)

    def _closeness(self, sims: Array) -> Array:
        """Each neighbour's weight in (0, 1]: all 1 without a temperature."""
        if self.temperature <= 0:
            return np.ones_like(sims)
        return np.asarray(np.exp((sims - sims.max(axis=1, keepdims=True)) / self.temperature))

    def spec(self) -> dict[str, float | int | str]:
        spec: dict[str, float | int | str] = {
            "kind": self.kind,
            "k": self.k,
            "embed_dim": self.embed_dim,
            "prior_weight": self.prior_weight,
        }
        if self.temperature > 0:
            spec["temperature"] = self.temperature
        return spec

    def arrays(self) -> dict[str, Array]:
        return {"keys": self.keys, "targets": self.targets, "weights": self.weights, "prior": self.prior}


@dataclass
class MlpHead:
    hidden: int = 64
    weight_decay: float = 1e-3
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 0
    kind: str = "mlp"

    def __post_init__(self) -> None:
        self.w1, self.b1 = np.zeros((0, 0)), np.zeros(0)
        self.w2, self.b2 = np.zeros((0, 0)), np.zeros(0)

    def _init(self, d: int, m: int, prior: Array, rng: np.random.Generator) -> list[Array]:
        w1 = rng.normal(0.0, np.sqrt(2.0 / d), (d, self.hidden))
        w2 = rng.normal(0.0, np.sqrt(1.0 / self.hidden), (self.hidden, m)) * 0.1
        b2 = np.log((prior + 1e-3) / (1.0 - prior + 1e-3))
        return [w1, np.zeros(self.hidden), w2, b2]

    def fit(self, x: Array, y: Array) -> None:
        rng = np.random.default_rng(self.seed)
        target, weight = split_targets(y)
        params = self._init(x.shape[1], y.shape[1], masked_mean(y), rng)
        moments = [np.zeros_like(p) for p in params]
        squares = [np.zeros_like(p) for p in params]
        step = 0
        for _ in range(self.epochs):
            order = rng.permutation(x.shape[0])
            for start in range(0, x.shape[0], self.batch_size):
                rows = order[start : start + self.batch_size]
                grads = self._gradients(params, x[rows], target[rows], weight[rows])
                step += 1
                for p, g, mo, sq in zip(params, grads, moments, squares, strict=True):
                    mo *= 0.9
                    mo += 0.1 * g
                    sq *= 0.999
                    sq += 0.001 * g * g
                    p -= (
                        self.learning_rate * (mo / (1 - 0.9**step)) / (np.sqrt(sq / (1 - 0.999**step)) + 1e-8)
                    )
        self.w1, self.b1, self.w2, self.b2 = params

    def _gradients(self, params: list[Array], x: Array, target: Array, weight: Array) -> list[Array]:
        w1, b1, w2, b2 = params
        pre = x @ w1 + b1
        hidden = np.maximum(pre, 0.0)
        p = sigmoid(hidden @ w2 + b2)
        delta = weight * (p - target) / max(float(weight.sum()), 1.0) * target.shape[1]
        grad_w2 = hidden.T @ delta + self.weight_decay * w2
        back = (delta @ w2.T) * (pre > 0)
        grad_w1 = x.T @ back + self.weight_decay * w1
        return [grad_w1, back.sum(axis=0), grad_w2, delta.sum(axis=0)]

    def predict_proba(self, x: Array) -> Array:
        hidden = np.maximum(x @ self.w1 + self.b1, 0.0)
        return np.clip(sigmoid(hidden @ self.w2 + self.b2), EPS, 1.0 - EPS)

    def spec(self) -> dict[str, float | int | str]:
        return {
            "kind": self.kind,
            "hidden": self.hidden,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
        }

    def arrays(self) -> dict[str, Array]:
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}


def build_head(spec: dict[str, float | int | str]) -> QualityHead:
    """A fresh, unfitted head from a spec such as `{"kind": "knn", "k": 40, "embed_dim": 384}`."""
    kind = spec["kind"]
    if kind == "logistic":
        return LogisticHead(l2=float(spec["l2"]))
    if kind == "knn":
        return KnnHead(
            k=int(spec["k"]),
            embed_dim=int(spec["embed_dim"]),
            prior_weight=float(spec["prior_weight"]),
            temperature=float(spec.get("temperature", 0.0)),
        )
    if kind == "mlp":
        return MlpHead(
            hidden=int(spec["hidden"]), weight_decay=float(spec["weight_decay"]), epochs=int(spec["epochs"])
        )
    raise ValueError(f"unknown head kind {kind!r}")


def restore_head(spec: dict[str, float | int | str], arrays: dict[str, Array]) -> QualityHead:
    """A fitted head from what `spec()` and `arrays()` returned."""
    head = build_head(spec)
    for name, value in arrays.items():
        setattr(head, name, np.asarray(value, dtype=np.float64))
    return head
