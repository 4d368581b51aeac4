"""Token confidence: what an answer's per-token log-probabilities say about it. Pure.

- `token_logprobs_from(choice)`: the `logprobs.content` of an OpenAI / llama.cpp choice as
  `TokenLogprob`s (None when the upstream sent none);
- `confidence_features(tokens)`: length-neutral features (Gupta et al. 2024, "Language model
  cascades: token-level uncertainty and beyond"): low quantiles of the per-token log-probability
  and of the margin between the chosen token and the runner-up. A long answer does not score
  lower than a short one just for being long, as a sum or a minimum would;
- `ConfidenceCalibration`: a logistic map from those features to the probability that the
  answer is good, per model (fit on TRAIN rows by `bench/cascade_calibration.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxgate.routing.cascade.evidence import TokenAlternative, TokenLogprob
from voxgate.routing.cascade.planner import document_fraction

LOGPROB_FLOOR = -30.0
LOW_QUANTILE = 0.1
NO_RUNNER_UP_MARGIN = 10.0
"""The margin of a position whose runner-up the upstream did not send (it was far below)."""


@dataclass(frozen=True, slots=True)
class ConfidenceFeatures:
    """Low-tail summaries of an answer's tokens (natural-log units), and how many tokens there were."""

    tokens: int
    low_logprob: float
    """the 10th percentile of the chosen tokens' log-probabilities"""
    low_margin: float
    """the 10th percentile of (chosen token's log-prob - best other token's log-prob)"""
    min_logprob: float


def _alternatives(raw: Any) -> tuple[TokenAlternative, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        TokenAlternative(str(alt.get("token", "")), float(alt["logprob"]))
        for alt in raw if isinstance(alt, dict) and isinstance(alt.get("logprob"), int | float)
    )


def token_logprobs_from(choice: Mapping[str, Any]) -> tuple[TokenLogprob, ...] | None:
    """The tokens of a completion choice's `logprobs.content`; None when there are none."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return None
    tokens = [
        TokenLogprob(str(item.get("token", "")), float(item["logprob"]), _alternatives(item.get("top_logprobs")))
        for item in content if isinstance(item, dict) and isinstance(item.get("logprob"), int | float)
    ]
    return tuple(tokens) or None


def _low_quantile(values: list[float]) -> float:
    """The 10th percentile by linear interpolation (numpy's default), without numpy's overhead."""
    values.sort()
    position = LOW_QUANTILE * (len(values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


def confidence_features(tokens: Sequence[TokenLogprob]) -> ConfidenceFeatures | None:
    """The features of an answer's tokens; None for an answer without tokens. One pass (~1 µs a token)."""
    logprobs: list[float] = []
    margins: list[float] = []
    for token in tokens:
        logprob = token.logprob
        if logprob != logprob:  # NaN
            continue
        logprob = max(logprob, LOGPROB_FLOOR)
        logprobs.append(logprob)
        runner_up = None
        for alternative in token.top:
            if alternative.token != token.token and (runner_up is None or alternative.logprob > runner_up):
                runner_up = alternative.logprob
        margins.append(NO_RUNNER_UP_MARGIN if runner_up is None else logprob - max(runner_up, LOGPROB_FLOOR))
    if not logprobs:
        return None
    lowest = min(logprobs)
    return ConfidenceFeatures(len(logprobs), _low_quantile(logprobs), _low_quantile(margins), lowest)


@dataclass(frozen=True, slots=True)
class LogisticCoefficients:
    """p_good = sigmoid(intercept + per_logprob * low_logprob + per_margin * min(low_margin, margin_cap))."""

    intercept: float
    per_logprob: float
    per_margin: float
    margin_cap: float = 5.0

    def p_good(self, features: ConfidenceFeatures) -> float:
        z = (
            self.intercept
            + self.per_logprob * features.low_logprob
            + self.per_margin * min(features.low_margin, self.margin_cap)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


DEFAULT_COEFFICIENTS = LogisticCoefficients(intercept=1.0, per_logprob=1.5, per_margin=0.6)
"""For a model without its own fit: p_good 0.5 near a 10th-percentile log-prob of -1.2 with a
near-tie margin, 0.9 for a confident answer (log-prob -0.1, margin 2)."""


@dataclass(frozen=True)
class ConfidenceCalibration:
    """Per-model logistic coefficients; `default` for models without their own."""

    per_model: Mapping[str, LogisticCoefficients] = field(default_factory=dict)
    default: LogisticCoefficients = DEFAULT_COEFFICIENTS
    source: str = "default"

    def coefficients(self, model_id: str) -> LogisticCoefficients:
        return self.per_model.get(model_id, self.default)


def _coefficients(raw: Any) -> LogisticCoefficients:
    if not isinstance(raw, list) or len(raw) not in (3, 4) or not all(isinstance(v, int | float) for v in raw):
        raise ValueError(f"coefficients must be [intercept, per_logprob, per_margin(, margin_cap)], got {raw!r}")
    return LogisticCoefficients(*(float(v) for v in raw))


def calibration_from_document(document: Mapping[str, Any]) -> tuple[ConfidenceCalibration, float | None]:
    """The calibration and the bar (`accept`, None if absent) from the cascade defaults document:
    `{"accept": 0.8, "source": "...", "per_model": {"m": [b0, b1, b2, cap]}, "default": [...]}`."""
    per_model = {str(m): _coefficients(c) for m, c in (document.get("per_model") or {}).items()}
    default = _coefficients(document["default"]) if document.get("default") is not None else DEFAULT_COEFFICIENTS
    accept = document_fraction(document, "accept")
    source = str(document.get("source") or "cascade defaults file")
    return ConfidenceCalibration(per_model, default, source), accept
