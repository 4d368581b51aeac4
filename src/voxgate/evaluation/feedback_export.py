"""`voxgate outcomes`: the decision log's feedback as an outcome file for `voxgate train` / `eval`.

A decision that got `POST /v1/decisions/{id}/feedback` becomes a cell of the generic outcome
format (see `loaders`): its prompt's row, the column of the model that answered, the mean of
its feedback scores, and what the call cost. Cells for models that did not answer stay empty
(unknown, not 0), and one prompt answered by several models is one row. The prompt text is in
the log only when `log_content: true` was set while the decisions were made; decisions without
it, and decisions no model answered, are counted and left out.

When decisions also kept their answers (`record_answers: true` beside `log_content: true`; see
`routing/answer_record`), the file gets `<model>|answer` columns (the latest answer of that model
to that prompt) and, where the upstream gave token log-probabilities, `<model>|token_logprobs`
and `<model>|margins` (JSON lists), so `voxgate train` fits the answer checker on your traffic.
A cascade's escalated stages are answers too, without a score (the feedback scores the answer
the user got): they fill their model's answer cell when it has none, as the peers the checker
compares a later stage's answer with.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from voxgate.core.types import JSONObject
from voxgate.store.sqlite import read_decisions_with_feedback

SIGNALS = ("token_logprobs", "margins")


@dataclass(frozen=True)
class FeedbackExport:
    rows: int
    models: tuple[str, ...]
    decisions_used: int
    without_prompt: int
    unanswered: int
    scored_answers: int = 0
    """Cells with both a score and an answer text: what the answer checker can learn from."""


@dataclass
class _Cell:
    scores: list[float]
    costs_usd: list[float]
    answer: JSONObject | None = None
    """The recorded answer: `text` and, when known, `token_logprobs` and `margins`."""


def _prompt_of(decision: JSONObject) -> str | None:
    content = decision.get("content")
    prompt = content.get("prompt") if isinstance(content, dict) else None
    return prompt if isinstance(prompt, str) and prompt.strip() else None


def _answers_of(decision: JSONObject) -> list[JSONObject]:
    """The decision's recorded answers (`content.answers`), or its bare `content.answer` text."""
    content = decision.get("content")
    if not isinstance(content, dict):
        return []
    answers = content.get("answers")
    if isinstance(answers, list):
        return [a for a in answers if isinstance(a, dict) and isinstance(a.get("model"), str)
                and isinstance(a.get("text"), str)]
    answer, model = content.get("answer"), decision.get("answered_by")
    return [{"model": model, "text": answer}] if isinstance(answer, str) and isinstance(model, str) else []


def _add_answers(by_model: dict[str, _Cell], answered_by: str, answers: list[JSONObject]) -> None:
    """The answering model's latest answer fills its cell; other stages' answers fill empty cells only."""
    for answer in answers:
        model = str(answer["model"])
        if model == answered_by:
            by_model[model].answer = answer
        else:
            cell = by_model.setdefault(model, _Cell([], []))
            cell.answer = cell.answer or answer


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.6g}" if values else ""


def export_feedback_outcomes(database: Path, out: Path) -> FeedbackExport:
    """Write the outcome CSV for every decision in `database` with feedback; raises when there is none."""
    try:
        decisions = read_decisions_with_feedback(database)
    except FileNotFoundError as exc:
        raise ValueError(f"{exc}; pass --database, or run `voxgate serve` and send feedback first") from exc
    cells: dict[str, dict[str, _Cell]] = defaultdict(dict)
    without_prompt = unanswered = 0
    for decision, score in decisions:
        prompt, model = _prompt_of(decision), decision.get("answered_by")
        if prompt is None:
            without_prompt += 1
            continue
        if not isinstance(model, str) or not model:
            unanswered += 1
            continue
        cell = cells[prompt].setdefault(model, _Cell([], []))
        cell.scores.append(score)
        _add_answers(cells[prompt], model, _answers_of(decision))
        cost_usd = decision.get("cost_usd")
        if isinstance(cost_usd, int | float):
            cell.costs_usd.append(float(cost_usd))
    if not cells:
        raise ValueError(
            f"{database}: {len(decisions)} decisions have feedback, none with a prompt and an answer "
            f"({without_prompt} without prompt text: set `log_content: true` in the catalog so decisions "
            f"keep it; {unanswered} that no model answered)"
        )
    models = tuple(sorted({model for by_model in cells.values() for model in by_model}))
    _write_csv(out, cells, models)
    used = len(decisions) - without_prompt - unanswered
    scored = sum(bool(c.scores) and c.answer is not None for by_model in cells.values() for c in by_model.values())
    return FeedbackExport(len(cells), models, used, without_prompt, unanswered, scored)


def _answer_cells(cell: _Cell | None, columns: tuple[str, ...]) -> list[str]:
    """The cell's answer text and signals (JSON lists) in `columns` order; empty where unknown."""
    answer = cell.answer if cell is not None else None
    values = []
    for column in columns:
        value = None if answer is None else answer.get(column)
        values.append(value if isinstance(value, str) else "" if value is None else json.dumps(value))
    return values


def _write_csv(out: Path, cells: dict[str, dict[str, _Cell]], models: tuple[str, ...]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out.with_name(out.name + ".tmp")
    recorded = [c.answer for by_model in cells.values() for c in by_model.values() if c.answer is not None]
    fields = ("text", *(s for s in SIGNALS if any(a.get(s) is not None for a in recorded))) if recorded else ()
    suffixes = ["answer" if f == "text" else f for f in fields]
    answer_columns = [f"{m}|{suffix}" for m in models for suffix in suffixes]
    with tmp_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", *models, *(f"{m}|cost" for m in models), *answer_columns])
        for prompt, by_model in cells.items():
            scores = [_mean(by_model[m].scores) if m in by_model else "" for m in models]
            costs = [_mean(by_model[m].costs_usd) if m in by_model else "" for m in models]
            answers = [v for m in models for v in _answer_cells(by_model.get(m), fields)]
            writer.writerow([prompt, *scores, *costs, *answers])
    tmp_path.replace(out)
