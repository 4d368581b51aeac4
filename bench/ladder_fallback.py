"""Does the fallback to the heuristic help on prompts unlike the ladder predictor's training data?

Replays `Router.decide` over real outcomes of the three bundled models with three predictors:
- `shipped`: what `voxgate serve` runs: the learned predictor, and the heuristic for a prompt
  whose nearest training prompt is under the similarity floor;
- `learned only`: the same predictor with the floor removed;
- `heuristic`: the heuristic predictor everywhere.

Rows: `bench/data/ladder_unfamiliar.csv` (81 questions of kinds the training set lacks, every
row TEST; `python -m dataset_builders.ladder.outcomes --question-set unfamiliar`) and, for
comparison, the TEST rows of the shipped outcome set. Each set is split by the floor. Per
predictor, it prints what `balanced` scores (accuracy, share sent to the two smaller models,
cost against always-1.5B) and the Brier score of the predicted qualities against the outcomes
(lower is better).

    PYTHONPATH=. .venv/bin/python bench/ladder_fallback.py
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

from voxgate.bundled_ladder import bundled_outcomes_file, bundled_predictor_dir, default_models
from voxgate.core.types import Mode
from voxgate.evaluation.ladder_check import result_of, routed_choices
from voxgate.evaluation.loaders import load_outcome_file
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.features import estimate_tokens, extract_features
from voxgate.routing.learned.serving import LearnedQualityPredictor, load_learned_predictor
from voxgate.routing.predictor import HeuristicPredictor, QualityPredictor

UNFAMILIAR = Path(__file__).parent / "data" / "ladder_unfamiliar.csv"


def predictors(shipped: LearnedQualityPredictor) -> dict[str, QualityPredictor]:
    learned = copy.copy(shipped.learned)
    learned.support = None  # the floor removed, on a copy
    return {"shipped": shipped, "learned only": LearnedQualityPredictor(learned), "heuristic": HeuristicPredictor()}


def quality_matrix(predictor: QualityPredictor, table: OutcomeTable) -> np.ndarray:
    cards = [card for card in default_models() if card.id in table.models]
    rows = []
    for prompt in table.prompts:
        features = extract_features(prompt, estimate_tokens(prompt), 1)
        estimates = predictor.predict(prompt, features, cards)
        rows.append([estimates[model].quality for model in table.models])
    return np.array(rows)


def below_floor(shipped: LearnedQualityPredictor, table: OutcomeTable) -> np.ndarray:
    support = shipped.learned.support
    assert support is not None
    _, similarity = shipped.learned.predict_with_similarity(table.prompts)
    assert similarity is not None
    return np.asarray(similarity < support.threshold)


def table_rows(name: str, table: OutcomeTable, models: dict[str, QualityPredictor]) -> list[str]:
    cards = [card for card in default_models() if card.id in table.models]
    dearest = max(cards, key=lambda c: c.price.output_per_mtok).id
    reference = result_of(f"always-{dearest}", [table.models.index(dearest)] * len(table.prompts), table)
    lines = [
        f"| {name} ({len(table.prompts)} rows) | always-{dearest} | {reference.accuracy:.3f} | 0% | 100% | |"
    ]
    for label, predictor in models.items():
        balanced = result_of("balanced", routed_choices(table, cards, predictor, Mode.BALANCED), table)
        brier = float(np.mean((quality_matrix(predictor, table) - table.filled_scores()) ** 2))
        smaller = 1.0 - balanced.shares[dearest]
        cost = balanced.cost_usd / reference.cost_usd
        lines.append(f"| | {label} | {balanced.accuracy:.3f} | {smaller:.0%} | {cost:.0%} | {brier:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unfamiliar", type=Path, default=UNFAMILIAR, help="outcome file of unfamiliar questions")
    args = parser.parse_args()
    shipped = load_learned_predictor(bundled_predictor_dir())
    models = predictors(shipped)
    print(f"predictor {shipped.version}\n")
    print("| rows | `balanced` with | accuracy | to smaller models | cost vs always-1.5B | Brier |")
    print("|---|---|---|---|---|---|")
    for name, path in (("unfamiliar kinds", args.unfamiliar), ("shipped set, TEST", bundled_outcomes_file())):
        table = load_outcome_file(path).test()
        low = below_floor(shipped, table)
        for part, rows in ((f"{name}, under the floor", low), (f"{name}, above it", ~low)):
            if rows.any():
                print("\n".join(table_rows(part, table.subset(rows, "part"), models)))


if __name__ == "__main__":
    main()
