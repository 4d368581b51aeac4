"""Reading the ladder generator's answers file (`<out>.answers.jsonl`) as an outcome table.

One JSON object per question: `id`, `category`, `split`, `prompt` and `answers` mapping each
model to its `reply`, `score`, `cost_usd` and `token_logprobs` (`[token, logprob, [[alternative,
logprob], ...]]` per token, or null). The table keeps the replies, their log-probs and margins,
so `voxgate eval FILE.answers.jsonl` replays cascades on the bundled ladder without a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from voxgate.core.errors import ConfigError
from voxgate.evaluation.outcomes import AnswerRecord, OutcomeTable
from voxgate.routing.cascade.evidence import TokenAlternative, TokenLogprob
from voxgate.routing.cascade.learned_check import token_margins


def token_logprobs_of(records: list[Any] | None) -> tuple[TokenLogprob, ...] | None:
    """The generator's compact token records as the checks' `TokenLogprob`s."""
    if records is None:
        return None
    return tuple(
        TokenLogprob(str(token), float(logprob), tuple(TokenAlternative(str(a), float(lp)) for a, lp in top))
        for token, logprob, top in records
    )


def _answer_record(answer: dict[str, Any]) -> AnswerRecord:
    tokens = token_logprobs_of(answer.get("token_logprobs"))
    if tokens is None:
        return AnswerRecord(str(answer.get("reply") or ""))
    margins = token_margins(tokens)
    return AnswerRecord(
        str(answer.get("reply") or ""),
        tuple(t.logprob for t in tokens),
        None if margins is None else tuple(margins),
    )


def load_ladder_answers(path: Path) -> OutcomeTable:
    """The answers file as an `OutcomeTable` (split from the file, answers with log-probs)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"{path}: no rows")
    records = [json.loads(line) for line in lines]
    models = tuple(records[0]["answers"])
    if any(tuple(r["answers"]) != models for r in records):
        raise ConfigError(f"{path}: every row must answer the same models")
    return OutcomeTable(
        name=f"ladder/{path.name.removesuffix('.answers.jsonl')}",
        prompts=[str(r["prompt"]) for r in records],
        models=models,
        scores=np.array([[float(r["answers"][m]["score"]) for m in models] for r in records]),
        costs_usd=np.array([[float(r["answers"][m]["cost_usd"]) for m in models] for r in records]),
        is_test=np.array([r["split"] == "test" for r in records]),
        answers=tuple(tuple(_answer_record(r["answers"][m]) for m in models) for r in records),
    )
