"""`voxgate eval ladder`: the shipped predictor, replayed through the real router on held-out rows.

For every TEST row of the bundled ladder's outcome file, `Router.decide` (eligibility, the
shipped learned predictor, catalog-price cost estimates, the pure policy) picks a model in each
mode (quality, balanced, cost); the row's recorded outcome of that model is what the choice
scores and costs. Beside them: always-<model> for each model and the oracle (cheapest model
that answered correctly). The target: `balanced` within `TARGET_ACCURACY_GAP` of always-<the
dearest model> while sending at least `TARGET_SMALLER_SHARE` of requests to cheaper models.
Writes `ladder.md` and `ladder.json` into the report folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voxgate.core.clock import ManualClock
from voxgate.core.types import ChatRequest, Mode, ModelCard, RoutingConstraints
from voxgate.evaluation.loaders import load_outcome_file
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.affinity import SessionAffinity
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.features import estimate_tokens
from voxgate.routing.predictor import QualityPredictor
from voxgate.routing.router import Router
from voxgate.routing.stats import LatencyStats

MODES = (Mode.QUALITY, Mode.BALANCED, Mode.COST)
TARGET_ACCURACY_GAP = 0.03
TARGET_SMALLER_SHARE = 1 / 3


@dataclass(frozen=True)
class RouterResult:
    """How one router did on the TEST rows: accuracy, total realised cost, share per model."""

    router: str
    accuracy: float
    cost_usd: float
    shares: dict[str, float]


@dataclass(frozen=True)
class LadderCheck:
    """The replay's figures and the target verdict."""

    test_rows: int
    reference: str
    predictor_version: str
    results: list[RouterResult]
    target_met: bool
    verdict: str
    answerable_rows: int = 0  # rows some model answered correctly
    balanced_smaller_share_answerable: float = 0.0  # balanced's share to cheaper models on those rows


def chat_request(prompt: str) -> ChatRequest:
    """The request a client asking `prompt` as one user message would make."""
    return ChatRequest(
        body={"messages": [{"role": "user", "content": prompt}]},
        requested_model="auto",
        stream=False,
        include_usage=False,
        max_tokens=None,
        needs=frozenset(),
        prompt_tokens_estimate=estimate_tokens(prompt),
        prompt_text=prompt,
        turn_count=1,
        fingerprint=hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16],
    )


def routed_choices(
    table: OutcomeTable, cards: Sequence[ModelCard], predictor: QualityPredictor, mode: Mode
) -> list[int]:
    """Column index (in `table.models`) of the model the router picks for each row."""
    clock = ManualClock()
    router = Router(cards, predictor, LatencyStats(tuple(cards)), CircuitBreakers(clock), SessionAffinity(), clock)
    constraints = RoutingConstraints(mode=mode)
    chosen = [router.decide(chat_request(prompt), constraints, "auto").chosen for prompt in table.prompts]
    return [table.models.index(str(model)) for model in chosen]


def result_of(router: str, choice: Sequence[int], table: OutcomeTable) -> RouterResult:
    rows = np.arange(len(table.prompts))
    picked = np.asarray(choice, dtype=np.int64)
    counts = np.bincount(picked, minlength=len(table.models)) / max(len(picked), 1)
    return RouterResult(
        router=router,
        accuracy=float(table.filled_scores()[rows, picked].mean()),
        cost_usd=float(table.costs_usd[rows, picked].sum()),
        shares={model: float(counts[j]) for j, model in enumerate(table.models)},
    )


def oracle_choice(table: OutcomeTable) -> list[int]:
    """Per row, the cheapest model that answered correctly (the cheapest model if none did)."""
    scores = table.filled_scores()
    best = scores >= scores.max(axis=1, keepdims=True) - 1e-12
    return [int(j) for j in np.argmin(np.where(best, table.costs_usd, np.inf), axis=1)]


def verdict_of(balanced: RouterResult, reference: RouterResult) -> tuple[bool, str]:
    gap = reference.accuracy - balanced.accuracy
    smaller = 1.0 - balanced.shares[reference.router.removeprefix("always-")]
    met = gap <= TARGET_ACCURACY_GAP + 1e-12 and smaller >= TARGET_SMALLER_SHARE - 1e-12
    text = (
        f"balanced: accuracy {balanced.accuracy:.3f} vs {reference.router} {reference.accuracy:.3f} "
        f"({-gap * 100:+.1f} points; target: at most {TARGET_ACCURACY_GAP * 100:.0f} points lower); "
        f"{smaller:.1%} of requests to smaller models (target >= {TARGET_SMALLER_SHARE:.1%}): "
        + ("target met" if met else "target missed")
    )
    return met, text


def check_ladder(
    outcomes: Path, cards: Sequence[ModelCard], predictor: QualityPredictor, out_dir: Path | None = None
) -> LadderCheck:
    """Replay every mode on the TEST rows of `outcomes`; write ladder.md/json into `out_dir` if given."""
    test = load_outcome_file(outcomes).test()
    if not test.prompts:
        raise ValueError(f"{outcomes} has no TEST rows")
    by_id = {card.id: card for card in cards}
    ladder = [by_id[m] for m in test.models]
    reference = max(ladder, key=lambda c: (c.price.output_per_mtok, c.price.input_per_mtok)).id
    choices = {mode: routed_choices(test, ladder, predictor, mode) for mode in MODES}
    results = [result_of(mode.value, choices[mode], test) for mode in MODES]
    singles = [result_of(f"always-{m}", [j] * len(test.prompts), test) for j, m in enumerate(test.models)]
    results += [*singles, result_of("oracle", oracle_choice(test), test)]
    reference_result = next(r for r in singles if r.router == f"always-{reference}")
    met, verdict = verdict_of(results[1], reference_result)
    answerable = np.nan_to_num(test.scores, nan=0.0).max(axis=1) > 0
    balanced = np.asarray(choices[Mode.BALANCED])[answerable]
    smaller = float(np.mean(balanced != test.models.index(reference))) if balanced.size else 0.0
    check = LadderCheck(
        len(test.prompts), reference, predictor.version, results, met, verdict, int(answerable.sum()), smaller
    )
    if out_dir is not None:
        write_ladder_report(check, out_dir)
    return check


def ladder_markdown(check: LadderCheck) -> str:
    models = list(check.results[0].shares)
    reference = next(r for r in check.results if r.router == f"always-{check.reference}")
    lines = [
        f"# Bundled ladder: routing modes on {check.test_rows} held-out questions",
        "",
        f"predictor `{check.predictor_version}`; cost = catalog price x tokens the model used.",
        "",
        "| router | accuracy | vs " + reference.router + " | cost vs it | " + " | ".join(models) + " |",
        "|---|---|---|---|" + "---|" * len(models),
    ]
    for r in check.results:
        relative_cost = r.cost_usd / reference.cost_usd if reference.cost_usd else float("nan")
        shares = " | ".join(f"{r.shares[m]:.0%}" for m in models)
        gap = (r.accuracy - reference.accuracy) * 100
        lines.append(f"| {r.router} | {r.accuracy:.3f} | {gap:+.1f} pts | {relative_cost:.0%} | {shares} |")
    answerable = (
        f"On the {check.answerable_rows} rows some model answered correctly, balanced sent "
        f"{check.balanced_smaller_share_answerable:.1%} to smaller models."
    )
    return "\n".join([*lines, "", check.verdict, "", answerable, ""])


def write_ladder_report(check: LadderCheck, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ladder.md").write_text(ladder_markdown(check), encoding="utf-8")
    payload = asdict(check)
    (out_dir / "ladder.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
