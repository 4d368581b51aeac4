"""The learned quality predictor: P(good answer | prompt) for every model it was trained on.

Features are the prompt embedding (scaled to unit variance per coordinate) beside the cheap
features, standardised with the training mean and spread. Each model's head (a convex blend of
the best logistic, kNN and MLP candidates) is picked by K-fold cross-validation on the training
rows and calibrated with Platt scaling on its out-of-fold predictions.

Saved as a directory: `predictor.json` (format, version, models, head specs, blend weights, CV
report) and
`weights.npz` (scaler, head arrays, calibration). `load_predictor` refuses a directory made
with a different embedder, since its features would mean something else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from voxgate.core.errors import ConfigError
from voxgate.routing.learned.calibration import apply_platt, expected_calibration_error, fit_platt
from voxgate.routing.learned.cheap_features import CHEAP_FEATURE_NAMES, cheap_feature_matrix
from voxgate.routing.learned.embedding import PromptEmbedder
from voxgate.routing.learned.heads import Array, QualityHead, build_head, restore_head
from voxgate.routing.learned.model_files import content_version, write_model_files
from voxgate.routing.learned.selection import HeadSpec, Selection, default_candidates, select_heads
from voxgate.routing.learned.support import Support, build_support

PREDICTOR_FORMAT = "voxgate-learned-predictor/2"
READABLE_FORMATS = ("voxgate-learned-predictor/1", PREDICTOR_FORMAT)  # /1: equal blend weights
StepFn = Callable[[], None]


@dataclass(frozen=True)
class TrainingConfig:
    folds: int = 5
    seed: int = 0
    candidates: tuple[HeadSpec, ...] | None = None  # None: `default_candidates`


def feature_matrix(embeddings: Array, texts: list[str]) -> Array:
    """[embedding * sqrt(dim), cheap features] before standardisation."""
    scale = np.sqrt(max(embeddings.shape[1], 1))
    return np.hstack([embeddings.astype(np.float64) * scale, cheap_feature_matrix(texts).astype(np.float64)])


@dataclass
class LearnedPredictor:
    """Per-model calibrated quality; `predict(texts)` needs `embedder` to be attached.

    `choice[j]` lists the heads whose blend is model j's raw prediction (one head, or several),
    weighted by `blend_weights[j]` (equal weights where it is empty, as format /1 saved them).
    """

    models: tuple[str, ...]
    embedder_id: str
    scaler_mean: Array
    scaler_std: Array
    heads: list[QualityHead]
    head_specs: list[HeadSpec]
    choice: list[list[int]]
    platt_slope: Array
    platt_intercept: Array
    report: dict[str, Any] = field(default_factory=dict)
    embedder: PromptEmbedder | None = None
    version: str = ""
    blend_weights: list[list[float]] = field(default_factory=list)
    support: Support | None = None  # None in predictors saved before it existed: no fallback

    def _weights_of(self, model: int) -> Array:
        if self.blend_weights:
            return np.asarray(self.blend_weights[model], dtype=np.float64)
        return np.full(len(self.choice[model]), 1.0 / len(self.choice[model]))

    def predict_matrix(self, embeddings: Array, texts: list[str]) -> Array:
        """(n, n_models) calibrated probabilities from precomputed embeddings."""
        x = (feature_matrix(embeddings, texts) - self.scaler_mean) / self.scaler_std
        per_head = [head.predict_proba(x) for head in self.heads]
        raw = np.column_stack(
            [
                np.tensordot(self._weights_of(j), np.array([per_head[h][:, j] for h in hs]), axes=1)
                for j, hs in enumerate(self.choice)
            ]
        )
        return apply_platt(raw, self.platt_slope, self.platt_intercept)

    def predict(self, texts: list[str]) -> dict[str, Array]:
        """{model: probability of a good answer for each text}."""
        return self.predict_with_similarity(texts)[0]

    def predict_with_similarity(self, texts: list[str]) -> tuple[dict[str, Array], Array | None]:
        """The probabilities, and each text's similarity to its nearest training prompt (None
        for a predictor saved without its training prompts' embeddings)."""
        if self.embedder is None:
            raise ConfigError("the learned predictor has no embedder attached")
        embeddings = self.embedder.embed(texts).astype(np.float64)
        matrix = self.predict_matrix(embeddings, texts)
        similarity = None if self.support is None else self.support.nearest_similarity(embeddings)
        return {model: matrix[:, j] for j, model in enumerate(self.models)}, similarity


def _spec_name(spec: HeadSpec) -> str:
    details = {k: v for k, v in spec.items() if k not in ("kind", "embed_dim", "prior_weight")}
    return str(spec["kind"]) + "(" + ",".join(f"{k}={v}" for k, v in details.items()) + ")"


def _reports(
    models: Sequence[str], candidates: Sequence[HeadSpec], selection: Selection, calibrated: Array, y: Array
) -> dict[str, Any]:
    names = [_spec_name(s) for s in candidates] + ["blend"]
    return {
        model: {
            "head": " + ".join(
                f"{w:.2f} {names[c]}" for c, w in zip(selection.choice[j], selection.weights[j], strict=True)
            ),
            "cv_cross_entropy": dict(zip(names, map(float, selection.cv_loss[:, j]), strict=True)),
            "ece_oof_raw": expected_calibration_error(selection.oof_predictions[:, j], y[:, j]),
            "ece_oof_calibrated": expected_calibration_error(calibrated[:, j], y[:, j]),
            "scored_rows": int((~np.isnan(y[:, j])).sum()),
        }
        for j, model in enumerate(models)
    }


def _fit_heads(candidates: Sequence[HeadSpec], used: list[int], x: Array, y: Array) -> list[QualityHead]:
    heads = []
    for index in used:
        head = build_head(candidates[index])
        head.fit(x, y)
        heads.append(head)
    return heads


def train_predictor(
    embeddings: Array,
    texts: list[str],
    scores: Array,
    models: Sequence[str],
    embedder_id: str,
    config: TrainingConfig | None = None,
    on_step: StepFn | None = None,
) -> LearnedPredictor:
    """Fit on TRAIN rows only: `scores` is (n, n_models) in [0, 1] with NaN for unknown."""
    config = config or TrainingConfig()
    raw_x = feature_matrix(embeddings, texts)
    mean, std = raw_x.mean(axis=0), np.maximum(raw_x.std(axis=0), 1e-6)
    x = (raw_x - mean) / std
    candidates = list(config.candidates or default_candidates(embeddings.shape[1], x.shape[0]))
    selection = select_heads(candidates, x, scores, config.folds, config.seed, on_step)
    platt = [fit_platt(selection.oof_predictions[:, j], scores[:, j]) for j in range(len(models))]
    slope, intercept = np.array([a for a, _ in platt]), np.array([b for _, b in platt])
    used = sorted({index for chosen in selection.choice for index in chosen})
    predictor = LearnedPredictor(
        models=tuple(models),
        embedder_id=embedder_id,
        scaler_mean=mean,
        scaler_std=std,
        heads=_fit_heads(candidates, used, x, scores),
        head_specs=[candidates[i] for i in used],
        choice=[[used.index(c) for c in chosen] for chosen in selection.choice],
        platt_slope=slope,
        platt_intercept=intercept,
        report=_reports(
            models, candidates, selection, apply_platt(selection.oof_predictions, slope, intercept), scores
        ),
        blend_weights=[list(w) for w in selection.weights],
        support=build_support(embeddings),
    )
    predictor.version = _version_of(_weights(predictor), predictor.blend_weights)
    return predictor


def _weights(predictor: LearnedPredictor) -> dict[str, NDArray[Any]]:
    weights = {
        "scaler_mean": predictor.scaler_mean,
        "scaler_std": predictor.scaler_std,
        "platt_slope": predictor.platt_slope,
        "platt_intercept": predictor.platt_intercept,
    }
    for index, head in enumerate(predictor.heads):
        weights |= {f"head{index}/{name}": value for name, value in head.arrays().items()}
    if predictor.support is not None:
        weights |= {"support": predictor.support.embeddings.astype(np.float16)}  # a quarter of the bytes
        weights |= {"support_threshold": np.array([predictor.support.threshold])}
    return weights


def _version_of(weights: dict[str, NDArray[Any]], blend_weights: list[list[float]]) -> str:
    return content_version("learned-v1", weights, json.dumps(blend_weights).encode() if blend_weights else b"")


def save_predictor(predictor: LearnedPredictor, directory: Path) -> None:
    """Write `predictor.json` and `weights.npz` into `directory` (created if missing)."""
    meta = {
        "format": PREDICTOR_FORMAT,
        "version": predictor.version,
        "embedder_id": predictor.embedder_id,
        "models": list(predictor.models),
        "cheap_features": list(CHEAP_FEATURE_NAMES),
        "heads": predictor.head_specs,
        "choice": predictor.choice,
        "blend_weights": predictor.blend_weights,
        "report": predictor.report,
    }
    write_model_files(directory, _weights(predictor), "predictor.json", meta)


def load_predictor(directory: Path, embedder: PromptEmbedder | None = None) -> LearnedPredictor:
    """Read a directory written by `save_predictor`; `embedder` must match the one it was trained with."""
    try:
        meta = json.loads((directory / "predictor.json").read_text(encoding="utf-8"))
        with np.load(directory / "weights.npz") as npz:
            weights = {name: np.asarray(npz[name], dtype=np.float64) for name in npz.files if name != "support"}
            support = np.asarray(npz["support"], dtype=np.float32) if "support" in npz.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read predictor from {directory}: {exc}") from exc
    if meta.get("format") not in READABLE_FORMATS:
        raise ConfigError(f"{directory}: unsupported predictor format {meta.get('format')!r}")
    if embedder is not None and embedder.embedder_id != meta["embedder_id"]:
        raise ConfigError(f"{directory}: trained with {meta['embedder_id']}, not {embedder.embedder_id}")
    heads = [
        restore_head(spec, {k.split("/", 1)[1]: v for k, v in weights.items() if k.startswith(f"head{i}/")})
        for i, spec in enumerate(meta["heads"])
    ]
    return LearnedPredictor(
        models=tuple(meta["models"]),
        embedder_id=meta["embedder_id"],
        scaler_mean=weights["scaler_mean"],
        scaler_std=weights["scaler_std"],
        heads=heads,
        head_specs=list(meta["heads"]),
        choice=list(meta["choice"]),
        platt_slope=weights["platt_slope"],
        platt_intercept=weights["platt_intercept"],
        report=meta.get("report", {}),
        embedder=embedder,
        version=str(meta["version"]),
        blend_weights=[list(map(float, w)) for w in meta.get("blend_weights", [])],
        support=None if support is None else Support(support, float(weights["support_threshold"][0])),
    )
