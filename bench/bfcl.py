"""BFCL (Berkeley Function Calling Leaderboard) categories through voxgate, per bundled tool model
and `auto`, side by side with the same model on llama.cpp's native tool path, in the same run.

Run (a voxgate server with the bundled ladder must be up; `scripts/serve` starts one, or `--serve`
starts one itself, voice off, and stops it by its PID):
    flock /work/notes/heavy.lock nice -n 5 .venv/bin/python -m bench.bfcl --url http://127.0.0.1:8080 \\
        [--per-category 4] [--skip 0] [--multi-turn 1] [--out bench/results/bfcl.md]
A multi-turn sample only, 4 entries (multi_turn_base_0, _50, _100, _150), the first two of them:
    ... -m bench.bfcl --serve --categories "" --multi-turn 4 --multi-turn-only 0,1 \\
        --routes "voxgate auto,native qwen2.5-coder-1.5b"

Routes, each asked the same items with the official `openai` SDK, temperature 0:
    voxgate <model>   POST <url>/v1/chat/completions, model=<model> (voxgate's own tool handling)
    voxgate auto      the same with model="auto"
    native <model>    the model's llama.cpp server directly (`/v1/models` -> voxgate.local_server),
                      `tools` sent as is: llama.cpp's Jinja chat template and its tool-call parser
Scoring: bench/bfcl_data.py (BFCL's own AST checker, offline) and bench/bfcl_multi_turn.py.
Items are spread evenly over each category, the same every run; sizes are printed with the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import openai
from tqdm import tqdm

from bench.bfcl_data import AST_CATEGORIES, BfclItem, load_category, score
from bench.bfcl_multi_turn import TURNS, MultiTurnItem, load_multi_turn, run_multi_turn, turn_record
from tests.support.processes import start_voxgate, stop_process

MAX_TOKENS = 400


@dataclass(frozen=True)
class Route:
    """Where a request goes: a label for the table, an SDK client, and the model name to send."""

    label: str
    client: openai.OpenAI
    model: str


def tool_routes(url: str) -> list[Route]:
    """voxgate per tool-capable bundled model, the same model natively, and voxgate `auto`."""
    models: list[dict[str, Any]] = httpx.get(f"{url}/v1/models", timeout=10).json()["data"]
    gateway = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=300)
    routes: list[Route] = []
    for model in models:
        extra = model.get("voxgate", {})
        if "tools" not in extra.get("capabilities", []) or not extra.get("local_server"):
            continue
        native = openai.OpenAI(base_url=extra["local_server"], api_key="x", max_retries=0, timeout=300)
        routes.append(Route(f"voxgate {model['id']}", gateway, model["id"]))
        routes.append(Route(f"native {model['id']}", native, model["id"]))
    routes.append(Route("voxgate auto", gateway, "auto"))
    return routes


def bfcl_calls(message: Any) -> list[dict[str, Any]]:
    """The answer's tool calls in BFCL's shape `[{name: {argument: value}}]` (bad JSON -> a string)."""
    calls = []
    for call in message.tool_calls or []:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except ValueError:
            arguments = call.function.arguments
        calls.append({call.function.name: arguments})
    return calls


def ask(route: Route, item: BfclItem) -> tuple[bool, str, float]:
    """(passed, why not, seconds) for one item on one route; an API error is a fail."""
    started = time.perf_counter()
    try:
        completion = route.client.chat.completions.create(
            model=route.model,
            messages=cast(Any, item.messages),
            tools=cast(Any, item.tools),
            temperature=0,
            max_tokens=MAX_TOKENS,
        )
    except openai.APIError as exc:
        return False, f"error: {str(exc)[:120]}", time.perf_counter() - started
    passed, why = score(item, bfcl_calls(completion.choices[0].message))
    return passed, why, time.perf_counter() - started


def run(
    routes: list[Route], items: list[BfclItem], multi: list[MultiTurnItem], turns_out: Path | None = None
) -> dict[tuple[str, str], list[bool]]:
    """Each item on every route (routes interleaved per item, so outside load hits all alike); each
    multi-turn turn played is appended to `turns_out` as a JSON line (`turn_record`)."""
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    with tqdm(total=(len(items) + len(multi)) * len(routes), unit="ask", dynamic_ncols=True) as bar:
        for item in items:
            for route in routes:
                passed, why, seconds = ask(route, item)
                results[(route.label, item.category)].append(passed)
                bar.write(f"{'ok  ' if passed else 'FAIL'} {route.label} {item.id} ({seconds:.0f} s) {why}")
                bar.update()
        for multi_item in multi:
            for route in routes:

                def show(index: int, log: Any, label: str = route.label, item_id: str = multi_item.id) -> None:
                    bar.write(f"     {label} {item_id} turn {index}: {log.summary()}")
                    if turns_out is not None:
                        with turns_out.open("a", encoding="utf-8") as out:
                            out.write(json.dumps(turn_record(label, item_id, index, log), ensure_ascii=False) + "\n")

                passed, why, _ = run_multi_turn(route.client, route.model, multi_item, MAX_TOKENS, show)
                results[(route.label, "multi_turn_base")].append(passed)
                bar.write(f"{'ok  ' if passed else 'FAIL'} {route.label} {multi_item.id} {why}")
                bar.update()
    return results


def table(routes: list[Route], results: dict[tuple[str, str], list[bool]], categories: list[str]) -> str:
    """Markdown: one row per category, one column per route, accuracy and count."""
    lines = ["| category | n | " + " | ".join(route.label for route in routes) + " |"]
    lines.append("|---|---|" + "---|" * len(routes))
    for category in categories:
        row = [results.get((route.label, category), []) for route in routes]
        count = len(row[0]) if row else 0
        cells = [f"{sum(r) / len(r):.2f}" if r else "-" for r in row]
        lines.append(f"| {category} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def served(url: str, serve: bool) -> Iterator[str]:
    """`url`, or (`serve`) the URL of a `voxgate serve` started here (voice off), stopped by its PID."""
    if not serve:
        yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        server = start_voxgate(Path(folder), env={"VOXGATE_VOICE_ENABLED": "0"})
        try:
            yield server.base_url
        finally:
            stop_process(server.process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--per-category", type=int, default=4)
    parser.add_argument("--skip", type=int, default=0,
                        help="leave out the first SKIP of SKIP+N evenly spread items (tune on those, report "
                             "on the rest: --per-category 10 --skip 5)")
    parser.add_argument("--multi-turn", type=int, default=1, help="multi_turn_base entries, spread evenly")
    parser.add_argument("--multi-turn-only", default="", help="comma-separated indexes into those entries to run")
    parser.add_argument("--turns", type=int, default=TURNS, help="user turns played and checked per entry")
    parser.add_argument("--serve", action="store_true", help="start a voxgate server here (ignores --url)")
    parser.add_argument("--categories", default=",".join(AST_CATEGORIES))
    parser.add_argument("--routes", default="", help="comma-separated route labels to keep (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="append the table to this Markdown file")
    parser.add_argument("--turns-out", type=Path, default=None,
                        help="append each multi-turn turn played here as a JSON line, the answer's words whole")
    args = parser.parse_args()
    with served(args.url, args.serve) as url:
        report(args, tool_routes(url))


def report(args: argparse.Namespace, routes: list[Route]) -> None:
    """Run the chosen items on the chosen routes, print the table and append it to `--out`."""
    if args.routes:
        wanted = set(args.routes.split(","))
        routes = [route for route in routes if route.label in wanted]
    categories = [c for c in args.categories.split(",") if c]
    items = [item for category in categories for item in load_category(category, args.per_category, args.skip)]
    multi = load_multi_turn(args.multi_turn, args.turns)
    if args.multi_turn_only:
        multi = [multi[int(index)] for index in args.multi_turn_only.split(",")]
    started = time.monotonic()
    results = run(routes, items, multi, args.turns_out)
    shown = categories + (["multi_turn_base"] if multi else [])
    text = table(routes, results, shown)
    summary = (
        f"{args.per_category} items per category (evenly spaced, the first {args.skip} of "
        f"{args.per_category + args.skip} left out), {len(multi)} multi-turn entries "
        f"({', '.join(m.id for m in multi) or '-'}, first {args.turns} turns); "
        f"{len(routes)} routes; {time.monotonic() - started:.0f} s"
    )
    print(summary)
    print(text)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {summary}\n\n{text}\n")


if __name__ == "__main__":
    main()
