"""How far can "two cheap models, then the strongest" go on a RouterBench slice? TRAIN rows only.

Replay-only analysis (no routing code changes behaviour here): for each pair of models cheaper than
the strongest (highest TRAIN mean), on the slice's TRAIN rows,

- `agree`: both answer; when their final answers agree the cheaper one's answer, else the
  strongest's (the `agreement` router; live: `routing.cascade.models` [a, b, strongest] with
  `agreement: true` and a bar at or below the agreement check's 0.85);
- `agree+learned`: the same, but an agreeing answer is kept only when the learned checker's P(good)
  (with the other answer as its peer) reaches a bar (each bar of the replay's grid);
- `perfect`: both answer, a perfect checker keeps a right cheap answer, else the strongest: the upper
  bound of any check on these two answers;

and one cheap model with a perfect checker. Cost is a share of the strongest model's TRAIN cost; the
budget is issue 12's 30 %. Prints the best rows within the budget and the cheapest reaching a target.

    .venv/bin/python -m bench.cascade_upper_bound routerbench/arc_challenge --report reports/routerbench
"""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path

import numpy as np

from voxgate.evaluation.cascade_replay import ACCEPT_GRID, RecordedFinals
from voxgate.evaluation.checker_training import StageScorer, answer_features_of
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.routing.learned.answer_checker import load_checker
from voxgate.routing.learned.heads import Array

BUDGET_SHARE = 0.30
Row = tuple[str, str, float, float, float]  # rule, pair, cost share, accuracy, agreement rate


def _short(name: str) -> str:
    return name.split("/")[-1]


def pair_rows(train: OutcomeTable, scorer: StageScorer | None) -> list[Row]:
    scores, costs = train.filled_scores(), train.costs_usd
    n, rows = len(train.prompts), np.arange(len(train.prompts))
    strongest = int(np.argmax(scores.mean(axis=0)))
    reference = float(costs[:, strongest].sum())
    recorded = RecordedFinals.of(train)
    assert recorded is not None, "the slice records no answers"
    mean_cost = costs.mean(axis=0)
    cheaper = [int(j) for j in np.argsort(mean_cost) if mean_cost[j] < mean_cost[strongest]]
    out: list[Row] = []
    for a, b in combinations(cheaper, 2):
        label = f"{_short(train.models[a])} + {_short(train.models[b])}"
        agree = np.array([f[a] is not None and f[a] == f[b] for f in recorded.finals])
        paid = costs[:, a] + costs[:, b]

        def point(keep: Array, first: int = a, both: Array = paid) -> tuple[float, float]:
            cost = both + np.where(keep, 0.0, costs[:, strongest])
            return float(cost.sum()) / reference, float(scores[rows, np.where(keep, first, strongest)].mean())

        out.append(("agree", label, *point(agree), float(agree.mean())))
        right_a, right_b = scores[:, a] >= 1, scores[:, b] >= 1
        perfect = np.maximum(np.maximum(scores[:, a], scores[:, b]), scores[:, strongest])
        cost = paid + np.where(right_a | right_b, 0.0, costs[:, strongest])
        out.append(("perfect", label, float(cost.sum()) / reference, float(perfect.mean()), float(agree.mean())))
        if scorer is not None:
            p_good = np.nan_to_num(np.array([scorer(i, a, (b,)) for i in range(n)]))
            for bar in ACCEPT_GRID:
                out.append(("agree+learned", f"{label}, bar {bar:.2f}", *point(agree & (p_good >= bar)),
                            float(agree.mean())))
    for a in cheaper:
        keep = scores[:, a] >= 1
        cost = costs[:, a] + np.where(keep, 0.0, costs[:, strongest])
        accuracy = float(np.maximum(scores[:, a], scores[:, strongest]).mean())
        out.append(("one+perfect", _short(train.models[a]), float(cost.sum()) / reference, accuracy, float("nan")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="one RouterBench slice, e.g. routerbench/arc_challenge")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--report", type=Path, help="a finished voxgate eval's --out (its answer checker)")
    parser.add_argument("--target", type=float, default=0.94)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    table = load_dataset(args.dataset, args.data_root)[0]
    train = table.train()
    scorer = None
    if args.report is not None:
        checker = load_checker(next((args.report / "checkers").iterdir()))
        scorer = StageScorer(checker, answer_features_of(table).subset(~table.is_test))
    rows = pair_rows(train, scorer)
    strongest = train.models[int(np.argmax(train.filled_scores().mean(axis=0)))]
    print(f"{table.name} TRAIN ({len(train.prompts)} rows), strongest {strongest}, "
          f"budget {BUDGET_SHARE:.0%} of its cost")
    print("| rule | models | cost share | accuracy | agreement rate | |\n|---|---|---|---|---|---|")
    for rule in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == rule]
        within = sorted((r for r in mine if r[2] <= BUDGET_SHARE), key=lambda r: (-r[3], r[2]))[: args.top]
        reaching = sorted((r for r in mine if r[3] >= args.target), key=lambda r: r[2])[:1]
        notes = [*((r, "best within budget") for r in within), *((r, f"cheapest >= {args.target}") for r in reaching)]
        for r, note in notes:
            print(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.4f} | {r[4]:.3f} | {note} |")


if __name__ == "__main__":
    main()
