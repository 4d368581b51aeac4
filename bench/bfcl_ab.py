"""An A/B of one voxgate setting on BFCL items: two (or more) `voxgate serve` with the bundled
ladder, differing only in environment variables, asked the same items in the same run.

Needs bfcl-eval (requirements/bench-bfcl.txt; `pip install --no-deps --target DIR` and DIR on
PYTHONPATH where the virtual environment is shared). Run (starts and stops the servers itself,
by PID; the held-out items of bench/results/bfcl.md):
    PYTHONPATH=src flock /work/notes/heavy.lock timeout 1500 nice -n 5 .venv/bin/python -m bench.bfcl_ab \\
        --arm on: --arm off:VOXGATE_TOOLS_CONTINUE_CALLS=0 --per-category 10 --skip 5 --budget-s 1200
    (more unseen items: --per-category 20 --skip 0 --exclude-spread 15, every item of the first run's
    15-item spread left out)

Each item goes to every arm, one after the other, the order flipped on every other item so load
from outside falls on both alike; items are taken round-robin over the categories, so a run cut
by `--budget-s` (no new item once it is spent) still covers each category about evenly. Every
ask is the official `openai` SDK, non-streamed, temperature 0, scored by BFCL's checker
(bench/bfcl_data.py). Printed: pass counts per category and arm, the items one arm passed and
the other failed, and, over the items every arm answered with calls, the median added latency
and tokens of each arm against the first (paired per item).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import openai

from bench.bfcl import MAX_TOKENS, bfcl_calls
from bench.bfcl_data import BfclItem, load_category, score
from bench.server_variant import Variant
from tests.support.processes import RunningProcess, start_voxgate, stop_process

DEFAULT_CATEGORIES = "simple_python,multiple,live_simple,parallel,parallel_multiple"


@dataclass(frozen=True)
class Ask:
    """One item on one arm: passed, why not, seconds, tokens reported, calls made."""

    item: BfclItem
    arm: str
    passed: bool
    why: str
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    calls: int
    made: tuple[str, ...] = ()
    """The calls made, each as JSON `{name: arguments}` (for `--calls-out`)."""
    actions: tuple[str, ...] = ()
    """The tool-call layer's actions in the decision record, `model:action` (for `--calls-out`)."""
    content: str = ""
    """The answer's words, cut to 300 characters (for `--calls-out`)."""


def ask(client: openai.OpenAI, model: str, arm: str, item: BfclItem) -> Ask:
    started = time.perf_counter()
    try:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=cast(Any, item.messages), tools=cast(Any, item.tools), temperature=0,
            max_tokens=MAX_TOKENS,
        )
    except openai.APIError as exc:
        return Ask(item, arm, False, f"error: {str(exc)[:120]}", time.perf_counter() - started, 0, 0, 0)
    seconds = time.perf_counter() - started
    completion = raw.parse()
    calls = bfcl_calls(completion.choices[0].message)
    passed, why = score(item, calls)
    usage = completion.usage
    return Ask(item, arm, passed, why, seconds, usage.prompt_tokens if usage else 0,
               usage.completion_tokens if usage else 0, len(calls), tuple(json.dumps(call) for call in calls),
               tool_actions(client, raw.headers.get("x-voxgate-decision-id")),
               (completion.choices[0].message.content or "")[:300])


def tool_actions(client: openai.OpenAI, decision_id: str | None) -> tuple[str, ...]:
    """`model:action` for each note of the decision record's `tools` list (GET /v1/decisions/{id}),
    with the arguments the model was told to ask for, if any, `[requests/added]` for a continuation (its
    upstream requests, the calls it added), and `+after_words` where the refused calls followed words:
    `model:asked_again_in_words(time)+after_words`, `model:continued[3/1]`."""
    if not decision_id:
        return ()
    record = httpx.get(f"{client.base_url}decisions/{decision_id}", timeout=30, trust_env=False).json()
    return tuple(f"{note.get('model')}:{note.get('action')}"
                 + (f"({','.join(note['asked_for'])})" if note.get("asked_for") else "")
                 + (f"[{note['requests']}/{note['added']}]" if "requests" in note and "added" in note else "")
                 + ("+after_words" if note.get("after_words") else "")
                 for note in record.get("tools") or ())


def interleaved(
    categories: list[str], per_category: int, skip: int, exclude_spread: int | list[int] = 0
) -> list[BfclItem]:
    """The categories' items, round-robin: one of each category, then the next of each... Less,
    for each N of `exclude_spread`, every item of each category's N evenly spread ones (`load_category`
    with N and no skip: with 15, the 5 tuning items and the 10 held-out ones of bench/results/bfcl.md)."""
    spreads = [exclude_spread] if isinstance(exclude_spread, int) else exclude_spread
    lists = []
    for category in categories:
        seen = {item.id for spread in spreads if spread for item in load_category(category, spread)}
        lists.append([item for item in load_category(category, per_category, skip) if item.id not in seen])
    return [item for group in itertools.zip_longest(*lists) for item in group if item is not None]


def run(
    clients: dict[str, openai.OpenAI], models: dict[str, str], items: list[BfclItem], budget_s: float,
    calls_out: Path | None = None,
) -> list[Ask]:
    """Every item on every arm until `budget_s` is spent; each ask appended to `calls_out` as it is done."""
    asks: list[Ask] = []
    started = time.monotonic()
    labels = list(clients)
    for index, item in enumerate(items):
        if time.monotonic() - started > budget_s:
            print(f"budget of {budget_s:.0f} s spent after {index} of {len(items)} items", flush=True)
            break
        for label in labels if index % 2 == 0 else labels[::-1]:
            done = ask(clients[label], models[label], label, item)
            asks.append(done)
            if calls_out is not None:
                _write_ask(calls_out, done)
            print(f"{'ok  ' if done.passed else 'FAIL'} {label:>4} {item.id} {done.seconds:5.1f} s "
                  f"{done.calls} calls {done.prompt_tokens}+{done.completion_tokens} tok {done.why}", flush=True)
    return asks


def report(asks: list[Ask], labels: list[str], categories: list[str]) -> str:
    by = {(a.item.id, a.arm): a for a in asks}
    ids = [i for i in dict.fromkeys(a.item.id for a in asks) if all((i, label) in by for label in labels)]
    lines = ["| category | n | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for category in categories:
        chosen = [i for i in ids if by[(i, labels[0])].item.category == category]
        cells = [f"{sum(by[(i, label)].passed for i in chosen)}/{len(chosen)}" for label in labels]
        lines.append(f"| {category} | {len(chosen)} | " + " | ".join(cells) + " |")
    base = labels[0]
    for label in labels[1:]:
        only_base = [i for i in ids if by[(i, base)].passed and not by[(i, label)].passed]
        only_other = [i for i in ids if by[(i, label)].passed and not by[(i, base)].passed]
        lines.append(f"\npassed on {base} only: {len(only_base)} {only_base}")
        lines.append(f"passed on {label} only: {len(only_other)} {only_other}")
        lines.extend(_cost_lines(by, ids, base, label))
    return "\n".join(lines)


def _cost_lines(by: dict[tuple[str, str], Ask], ids: list[str], base: str, other: str) -> list[str]:
    """`base` against `other` on the items both answered with calls: added seconds, tokens."""
    both = [(by[(i, base)], by[(i, other)]) for i in ids if by[(i, base)].calls and by[(i, other)].calls]
    if not both:
        return [f"no item answered with calls on both {base} and {other}"]
    added_ms = [(b.seconds - o.seconds) * 1000 for b, o in both]
    ratio = [b.seconds / o.seconds for b, o in both if o.seconds > 0]
    prompt = [b.prompt_tokens - o.prompt_tokens for b, o in both]
    completion = [b.completion_tokens - o.completion_tokens for b, o in both]
    same = [(b.seconds - o.seconds) * 1000 for b, o in both if b.calls == o.calls]
    more = [(b.seconds - o.seconds) * 1000 for b, o in both if b.calls > o.calls]
    return [
        f"{base} vs {other}, {len(both)} items answered with calls on both:",
        f"  added latency: median {statistics.median(added_ms):.0f} ms (quartiles "
        f"{_quartiles(added_ms)}), median ratio {statistics.median(ratio):.2f}",
        f"  of which {len(same)} with as many calls on both: median {_median(same)} ms; "
        f"{len(more)} with more calls on {base}: median {_median(more)} ms",
        f"  {other} median {statistics.median(o.seconds for _, o in both) * 1000:.0f} ms, "
        f"{base} median {statistics.median(b.seconds for b, _ in both) * 1000:.0f} ms",
        f"  added tokens: prompt median {statistics.median(prompt):.0f} (sum {sum(prompt)}), "
        f"completion median {statistics.median(completion):.0f} (sum {sum(completion)})",
        f"  calls made: {base} {sum(b.calls for b, _ in both)}, {other} {sum(o.calls for _, o in both)}",
    ]


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def _quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.0f} to {high:.0f}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm", action="append", type=Variant.parse, required=True,
                        help="LABEL[@MODEL]:NAME=VALUE,... (two or more; the others are held to the first; "
                             "arms with the same variables share a server)")
    parser.add_argument("--categories", default=DEFAULT_CATEGORIES)
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--skip", type=int, default=5)
    parser.add_argument("--exclude-spread", type=lambda text: [int(n) for n in text.split(",")], default=[0],
                        help="leave out each category's N evenly spread items, for each N of a comma-separated "
                             "list (15: those tuned on and reported before)")
    parser.add_argument("--exclude-ids", type=Path, default=None, help="a JSON list of item ids to leave out")
    parser.add_argument("--include-ids", type=Path, default=None,
                        help="a JSON list of item ids: exactly these of the categories, in this order")
    parser.add_argument("--items", type=lambda text: [int(n) for n in text.split(":")], default=None,
                        help="START:STOP: only these of the interleaved items (a run in chunks)")
    parser.add_argument("--min-tools", type=int, default=0,
                        help="only items declaring at least this many tools (where a tool shortlist acts)")
    parser.add_argument("--calls-out", type=Path, default=None, help="append every ask as a JSON line here")
    parser.add_argument("--budget-s", type=float, default=1200.0, help="no new item after this many seconds")
    return parser


def selected_items(args: argparse.Namespace, categories: list[str]) -> list[BfclItem]:
    """The items the arguments name: the interleaved spread, or exactly `--include-ids`; less
    `--exclude-ids` and those declaring fewer than `--min-tools` tools; then the `--items` slice."""
    items = interleaved(categories, args.per_category, args.skip, args.exclude_spread)
    if args.include_ids is not None:
        wanted = json.loads(args.include_ids.read_text(encoding="utf-8"))
        found = {item.id: item for category in categories for item in load_category(category, 1_000_000)}
        items = [found[i] for i in wanted if i in found]
    if args.exclude_ids is not None:
        left_out = set(json.loads(args.exclude_ids.read_text(encoding="utf-8")))
        items = [item for item in items if item.id not in left_out]
    items = [item for item in items if len(item.tools) >= args.min_tools]
    return items[args.items[0] : args.items[1]] if args.items is not None else items


def _start_servers(arms: list[Variant], workdir: Path) -> dict[tuple[tuple[str, str], ...], RunningProcess]:
    """One server per distinct set of variables (arms that differ only in model share one)."""
    servers: dict[tuple[tuple[str, str], ...], RunningProcess] = {}
    for arm in arms:
        key = tuple(sorted(arm.env.items()))
        if key in servers:
            continue
        folder = workdir / arm.label
        folder.mkdir()
        started = time.monotonic()
        servers[key] = start_voxgate(folder, name=arm.label, env={"VOXGATE_VOICE_ENABLED": "0", **arm.env})
        print(f"{arm.label} {arm.env} ready in {time.monotonic() - started:.0f} s", flush=True)
    return servers


def main() -> None:
    args = _parser().parse_args()
    arms: list[Variant] = args.arm
    categories = [c for c in args.categories.split(",") if c]
    items = selected_items(args, categories)
    servers: dict[tuple[tuple[str, str], ...], RunningProcess] = {}
    try:
        servers = _start_servers(arms, Path(tempfile.mkdtemp(prefix="bfcl-ab-")))
        clients = {arm.label: openai.OpenAI(base_url=f"{servers[tuple(sorted(arm.env.items()))].base_url}/v1",
                                            api_key="x", max_retries=0, timeout=300) for arm in arms}
        started = time.monotonic()
        asks = run(clients, {arm.label: arm.model for arm in arms}, items, args.budget_s, args.calls_out)
        print(f"\n{len(asks)} asks in {time.monotonic() - started:.0f} s, models {[arm.model for arm in arms]}")
        print(report(asks, [arm.label for arm in arms], categories))
    finally:
        for server in servers.values():
            stop_process(server.process)


def _write_ask(calls_out: Path, done: Ask) -> None:
    with calls_out.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"id": done.item.id, "arm": done.arm, "passed": done.passed, "why": done.why,
                              "seconds": done.seconds, "calls": list(done.made), "actions": list(done.actions),
                              "content": done.content}) + "\n")


if __name__ == "__main__":
    main()
