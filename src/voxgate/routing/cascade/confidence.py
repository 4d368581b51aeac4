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


def _margin(token: TokenLogprob) -> float:
    others = [alt.logprob for alt in token.top if alt.token != token.token]
    if not others:
        return NO_RUNNER_UP_MARGIN
    return max(token.logprob, LOGPROB_FLOOR) - max(max(others), LOGPROB_FLOOR)


def _low_quantile(values: Sequence[float]) -> float:
    """The 10th percentile by linear interpolation (numpy's default), without numpy's overhead."""
    ordered = sorted(values)
    position = LOW_QUANTILE * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def confidence_features(tokens: Sequence[TokenLogprob]) -> ConfidenceFeatures | None:
    """The features of an answer's tokens; None for an answer without tokens."""
    logprobs = [max(t.logprob, LOGPROB_FLOOR) for t in tokens if not math.isnan(t.logprob)]
    if not logprobs:
        return None
    margins = [_margin(t) for t in tokens if not math.isnan(t.logprob)]
    return ConfidenceFeatures(len(logprobs), _low_quantile(logprobs), _low_quantile(margins), min(logprobs))


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
