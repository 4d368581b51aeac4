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
With `--report`, also `voxgate-cascade`'s own knob settings on TRAIN by family (predict only, the
planner with or without agreement and `middle_cost_share`, each explicit order), replayed with
that eval's predictor and checker.

    .venv/bin/python -m bench.cascade_upper_bound routerbench/arc_challenge --report reports/routerbench
"""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path

import numpy as np

from voxgate.evaluation import replay
from voxgate.evaluation.cascade_replay import ACCEPT_GRID, Config, RecordedFinals, agreement_orders, cascade_sweep
from voxgate.evaluation.checker_training import StageScorer, answer_features_of
from voxgate.evaluation.loaders import load_dataset
from voxgate.evaluation.outcomes import OutcomeTable
from voxgate.evaluation.report import plot_file_name
from voxgate.routing.learned.answer_checker import load_checker
from voxgate.routing.learned.embedders import embedder_for_id
from voxgate.routing.learned.embedding import CachedEmbedder
from voxgate.routing.learned.heads import Array
from voxgate.routing.learned.trained_predictor import load_predictor

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


def _family(c: Config) -> str:
    if c.models is not None:
        return "explicit " + " > ".join(_short(m) for m in c.models) + ", agreement"
    if c.max_stages == 1:
        return "max_stages 1 (predict only)"
    return f"planner, agreement {c.agreement}, middle_cost_share {c.middle_cost_share}"


def family_rows(table: OutcomeTable, report: Path, scorer: StageScorer, cache_dir: Path, target: float) -> None:
    """voxgate-cascade's TRAIN points by family: the best within the budget, the cheapest reaching `target`."""
    train = table.train()
    predictor = load_predictor(report / "predictors" / plot_file_name(table.name).removesuffix(".png"))
    embedder = CachedEmbedder(embedder_for_id(predictor.embedder_id), cache_dir.expanduser())
    embeddings = embedder.embed(table.prompts).astype(np.float64)[~table.is_test]
    quality = predictor.predict_matrix(embeddings, train.prompts)
    expected_cost = replay.CostEstimator(train).estimate(train.prompts)
    reference = float(train.costs_usd[:, int(np.argmax(train.filled_scores().mean(axis=0)))].sum())
    sweep = cascade_sweep(quality, expected_cost, scorer, train, agreement_orders(train))
    print(f"\n| voxgate-cascade family (TRAIN) | best within budget | cost share | accuracy | "
          f"cheapest reaching {target} (share) |\n|---|---|---|---|---|")
    for family in sorted({_family(c) for c in sweep}):
        mine = {c: p for c, p in sweep.items() if _family(c) == family}
        within = {c: p for c, p in mine.items() if p[0] <= BUDGET_SHARE * reference}
        reach = min((p[0] / reference for p in mine.values() if p[1] >= target), default=float("nan"))
        if not within:
            print(f"| {family} | — | — | — | {reach:.3f} |")
            continue
        best = max(within, key=lambda c: (within[c][1], -within[c][0]))
        lam = "—" if best.lam is None else f"{best.lam:.4g}"
        print(f"| {family} | λ {lam}, {best.max_stages} stages, accept {best.accept:.2f} "
              f"| {within[best][0] / reference:.3f} | {within[best][1]:.4f} | {reach:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="one RouterBench slice, e.g. routerbench/arc_challenge")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--report", type=Path, help="a finished voxgate eval's --out (its answer checker)")
    parser.add_argument("--target", type=float, default=0.94)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/voxgate/embeddings")
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
    if args.report is not None and scorer is not None:
        family_rows(table, args.report, scorer, args.cache_dir, args.target)


if __name__ == "__main__":
    main()
