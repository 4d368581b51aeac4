"""`voxgate outcomes`: the decision log's feedback as an outcome file for `voxgate train` / `eval`.

A decision that got `POST /v1/decisions/{id}/feedback` becomes a cell of the generic outcome
format (see `loaders`): its prompt's row, the column of the model that answered, the mean of
its feedback scores, and what the call cost. Cells for models that did not answer stay empty
(unknown, not 0), and one prompt answered by several models is one row. The prompt text is in
the log only when `log_content: true` was set while the decisions were made; decisions without
it, and decisions no model answered, are counted and left out.

When decisions also kept the answer text (`content.answer`, logged with the prompt under
`log_content: true`), the file gets `<model>|answer` columns (the latest answer of that model to
that prompt), so `voxgate train` fits the answer checker on your traffic too.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from voxgate.core.types import JSONObject
from voxgate.store.sqlite import read_decisions_with_feedback


@dataclass(frozen=True)
class FeedbackExport:
    rows: int
    models: tuple[str, ...]
    decisions_used: int
    without_prompt: int
    unanswered: int


@dataclass
class _Cell:
    scores: list[float]
    costs_usd: list[float]
    answer: str | None = None


def _prompt_of(decision: JSONObject) -> str | None:
    content = decision.get("content")
    prompt = content.get("prompt") if isinstance(content, dict) else None
    return prompt if isinstance(prompt, str) and prompt.strip() else None


def _answer_of(decision: JSONObject) -> str | None:
    content = decision.get("content")
    answer = content.get("answer") if isinstance(content, dict) else None
    return answer if isinstance(answer, str) else None


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
        cell.answer = _answer_of(decision) or cell.answer
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
    return FeedbackExport(len(cells), models, used, without_prompt, unanswered)


def _write_csv(out: Path, cells: dict[str, dict[str, _Cell]], models: tuple[str, ...]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out.with_name(out.name + ".tmp")
    with_answers = any(cell.answer is not None for by_model in cells.values() for cell in by_model.values())
    answer_columns = [f"{m}|answer" for m in models] if with_answers else []
    with tmp_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", *models, *(f"{m}|cost" for m in models), *answer_columns])
        for prompt, by_model in cells.items():
            scores = [_mean(by_model[m].scores) if m in by_model else "" for m in models]
            costs = [_mean(by_model[m].costs_usd) if m in by_model else "" for m in models]
            answers = [(by_model[m].answer or "") if m in by_model else "" for m in models] if with_answers else []
            writer.writerow([prompt, *scores, *costs, *answers])
    tmp_path.replace(out)
