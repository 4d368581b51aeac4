"""The learned answer checker: (prompt, answer) -> calibrated probability that the answer is good.

Features (`CHECKER_FEATURE_NAMES`, in column order): `answer_text.answer_features` (size,
refusals, hedges, repetition, code that parses, arithmetic recomputed, final-answer shape, the
token log-prob quantiles when the upstream gave them), the quantiles of the per-token margin
(log-prob of the chosen token minus the best alternative's; a near-tie like "411" against "401"
shows here) and the logit of a prior: what is known about the model before its answer (the
router's predicted quality live; the model's TRAIN mean score offline), and agreement with the
answers of peers already asked (earlier cascade stages, other samples): how many there are and
the share whose final answer (`answer_text.final_answer`) is this one's. Length-neutral by
construction: quantiles, shares and logs, no sums over tokens.

Training (`train_checker`, TRAIN rows only): standardised features, one head per candidate
(logistic at three strengths, a small MLP), picked and blended by 5-fold cross-validation as the
predictor's heads are (`selection`), then Platt-calibrated on the out-of-fold predictions.
Saved as a directory (`checker.json` + `weights.npz`); `version` is a hash of the content, so
two trainings on the same rows give the same version and a decision names the checker it used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from voxgate.core.errors import ConfigError
from voxgate.routing.learned.answer_text import ANSWER_FEATURE_NAMES, answer_features, final_answer
from voxgate.routing.learned.calibration import apply_platt, expected_calibration_error, fit_platt
from voxgate.routing.learned.heads import Array, QualityHead, build_head, restore_head
from voxgate.routing.learned.model_files import content_version, write_model_files
from voxgate.routing.learned.selection import HeadSpec, mlp_spec, select_heads

CHECKER_FORMAT = "voxgate-answer-checker/1"
MARGIN_FEATURE_NAMES = ("has_margins", "margin_min", "margin_p10", "margin_p25", "margin_median")
PEER_FEATURE_NAMES = ("peers_log", "peer_agreement")
BASE_FEATURE_NAMES = (*ANSWER_FEATURE_NAMES, *MARGIN_FEATURE_NAMES, "prior_logit")
CHECKER_FEATURE_NAMES = (*BASE_FEATURE_NAMES, *PEER_FEATURE_NAMES)
MARGIN_CAP = 20.0
PRIOR_CLIP = 1e-3
StepFn = Callable[[], None]


@dataclass(frozen=True)
class CheckedAnswer:
    """One answer as the checker sees it. `token_logprobs`: per generated token; `margins`: per
    token, its log-prob minus the best alternative's (None: the upstream gave none);
    `prior_quality`: the probability of a good answer known before reading it (None: 0.5);
    `peer_answers`: other answers to the same prompt already at hand."""

    prompt: str
    answer: str
    token_logprobs: Sequence[float] | None = None
    margins: Sequence[float] | None = None
    prior_quality: float | None = None
    peer_answers: Sequence[str] = ()


def margin_quantiles(margins: Sequence[float] | None) -> list[float]:
    """[has margins, min, 10th, 25th percentile, median] of the per-token margins (zeros without)."""
    if not margins:
        return [0.0] * len(MARGIN_FEATURE_NAMES)
    values = np.minimum(np.asarray(margins, dtype=np.float64), MARGIN_CAP)
    values = values[~np.isnan(values)]
    if not values.size:
        return [0.0] * len(MARGIN_FEATURE_NAMES)
    p10, p25, p50 = np.quantile(values, [0.1, 0.25, 0.5])
    return [1.0, float(values.min()), float(p10), float(p25), float(p50)]


def prior_logit(prior_quality: float | None) -> float:
    if prior_quality is None or math.isnan(prior_quality):
        return 0.0
    p = min(max(prior_quality, PRIOR_CLIP), 1.0 - PRIOR_CLIP)
    return math.log(p / (1.0 - p))


def base_features(item: CheckedAnswer) -> list[float]:
    """One row of `BASE_FEATURE_NAMES`: everything but the peers."""
    return [
        *answer_features(item.prompt, item.answer, item.token_logprobs),
        *margin_quantiles(item.margins),
        prior_logit(item.prior_quality),
    ]


def peer_features(final: str | None, peer_finals: Sequence[str | None]) -> list[float]:
    """[log(1 + peers), share of peers whose final answer equals `final`] (no final answer: no agreement)."""
    if not peer_finals:
        return [0.0, 0.0]
    agreeing = sum(final is not None and peer == final for peer in peer_finals)
    return [math.log1p(len(peer_finals)), agreeing / len(peer_finals)]


def checker_features(item: CheckedAnswer) -> list[float]:
    """One row of `CHECKER_FEATURE_NAMES`."""
    peers = [final_answer(text) for text in item.peer_answers]
    return [*base_features(item), *peer_features(final_answer(item.answer), peers)]


def checker_feature_matrix(items: Sequence[CheckedAnswer]) -> Array:
    return np.array([checker_features(i) for i in items], dtype=np.float64).reshape(len(items), -1)


def checker_candidates(n_rows: int) -> list[HeadSpec]:
    """Logistic at three strengths and the predictor's small MLP: cross-validation picks the blend."""
    logistic: list[HeadSpec] = [{"kind": "logistic", "l2": l2} for l2 in (1.0, 30.0, 1000.0)]
    return [*logistic, mlp_spec(n_rows)]


@dataclass
class AnswerChecker:
    """A trained checker: `p_good` for answers, from `checker_features` rows."""

    scaler_mean: Array
    scaler_std: Array
    heads: list[QualityHead]
    head_specs: list[HeadSpec]
    blend: list[float]
    platt_slope: float
    platt_intercept: float
    report: dict[str, Any] = field(default_factory=dict)
    oof_p_good: Array | None = None  # out-of-fold P(good) of the training rows (not saved)
    version: str = ""

    def predict_features(self, features: Array) -> Array:
        """Calibrated P(good) for each row of a `checker_feature_matrix`."""
        x = (features - self.scaler_mean) / self.scaler_std
        raw = sum(w * head.predict_proba(x)[:, 0] for w, head in zip(self.blend, self.heads, strict=True))
        slope, intercept = np.array([self.platt_slope]), np.array([self.platt_intercept])
        return apply_platt(np.asarray(raw, dtype=np.float64), slope, intercept)

    def p_good(self, item: CheckedAnswer) -> float:
        return float(self.predict_features(checker_feature_matrix([item]))[0])


def train_checker(
    features: Array, scores: Array, folds: int = 5, seed: int = 0, on_step: StepFn | None = None
) -> AnswerChecker:
    """Fit on TRAIN rows: `features` from `checker_feature_matrix`, `scores` in [0, 1] (soft allowed)."""
    if features.shape[0] < folds * 2:
        raise ValueError(f"{features.shape[0]} answers are too few to train the answer checker")
    mean, std = features.mean(axis=0), np.maximum(features.std(axis=0), 1e-6)
    x, y = (features - mean) / std, scores.reshape(-1, 1).astype(np.float64)
    candidates = checker_candidates(x.shape[0])
    selection = select_heads(candidates, x, y, folds, seed, on_step)
    oof = selection.oof_predictions[:, 0]
    slope, intercept = fit_platt(oof, y[:, 0])
    chosen, weights = selection.choice[0], selection.weights[0]
    heads = []
    for index in chosen:
        head = build_head(candidates[index])
        head.fit(x, y)
        heads.append(head)
    calibrated = apply_platt(oof, np.array([slope]), np.array([intercept]))
    report = {
        "rows": int(x.shape[0]),
        "mean_score": float(y.mean()),
        "heads": [dict(candidates[i]) for i in chosen],
        "blend": list(weights),
        "ece_oof_calibrated": expected_calibration_error(calibrated, y[:, 0]),
    }
    checker = AnswerChecker(
        mean, std, heads, [candidates[i] for i in chosen], list(weights), slope, intercept, report,
        oof_p_good=calibrated,
    )
    checker.version = _version_of(_weights(checker), checker.blend)
    return checker


def _weights(checker: AnswerChecker) -> dict[str, NDArray[Any]]:
    weights: dict[str, NDArray[Any]] = {
        "scaler_mean": checker.scaler_mean,
        "scaler_std": checker.scaler_std,
        "platt": np.array([checker.platt_slope, checker.platt_intercept]),
    }
    for index, head in enumerate(checker.heads):
        weights |= {f"head{index}/{name}": value for name, value in head.arrays().items()}
    return weights


def _version_of(weights: dict[str, NDArray[Any]], blend: list[float]) -> str:
    as_float = {name: np.asarray(value, dtype=np.float64) for name, value in weights.items()}
    return content_version("checker-v1", as_float, json.dumps([list(CHECKER_FEATURE_NAMES), blend]).encode())


def save_checker(checker: AnswerChecker, directory: Path) -> None:
    """Write `checker.json` and `weights.npz` into `directory` (created if missing)."""
    meta = {
        "format": CHECKER_FORMAT,
        "version": checker.version,
        "features": list(CHECKER_FEATURE_NAMES),
        "heads": checker.head_specs,
        "blend": checker.blend,
        "report": checker.report,
    }
    write_model_files(directory, _weights(checker), "checker.json", meta)


def load_checker(directory: Path) -> AnswerChecker:
    """Read a directory written by `save_checker`; refuses other formats and other feature lists."""
    try:
        meta = json.loads((directory / "checker.json").read_text(encoding="utf-8"))
        with np.load(directory / "weights.npz") as npz:
            weights = {name: np.asarray(npz[name], dtype=np.float64) for name in npz.files}
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read answer checker from {directory}: {exc}") from exc
    if meta.get("format") != CHECKER_FORMAT or tuple(meta.get("features", ())) != CHECKER_FEATURE_NAMES:
        raise ConfigError(f"{directory}: not a {CHECKER_FORMAT} checker with this version's features")
    heads = [
        restore_head(spec, {k.split("/", 1)[1]: v for k, v in weights.items() if k.startswith(f"head{i}/")})
        for i, spec in enumerate(meta["heads"])
    ]
    checker = AnswerChecker(
        scaler_mean=weights["scaler_mean"],
        scaler_std=weights["scaler_std"],
        heads=heads,
        head_specs=list(meta["heads"]),
        blend=[float(w) for w in meta["blend"]],
        platt_slope=float(weights["platt"][0]),
        platt_intercept=float(weights["platt"][1]),
        report=meta.get("report", {}),
        version=str(meta["version"]),
    )
    if _version_of(_weights(checker), checker.blend) != checker.version:
        raise ConfigError(f"{directory}: weights do not match version {checker.version} (a damaged copy?)")
    return checker
