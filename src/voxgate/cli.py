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
from voxgate.learning_cli import add_learning_commands, run_eval, run_outcomes, run_train
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
    add_learning_commands(commands, EXAMPLES, DEFAULT_URL)
    add_team_commands(commands)
    return parser


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
    handlers = {"serve": _serve, "route": _route, "models": _models, "talk": _talk, "eval": run_eval,
                "train": run_train, "outcomes": run_outcomes, "keys": run_keys, "spend": run_spend}
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
