"""The tool shortlist (`backends/toolcall_shortlist`) offline on BFCL's multi_turn_base: does every
turn keep the functions it needs? No model; a few seconds.

For every turn of every entry (all turns, not the bench's first `TURNS`), the request is built as
`bench.bfcl_multi_turn` would send it at that turn's first ask: the user messages of the turns so
far, each earlier turn answered with its ground-truth calls (one assistant message with those
`tool_calls`, a placeholder result per call as `tool` messages, then an empty assistant reply), and
the entry's tools. (The shortlist reads only the user messages and the assistant `tool_calls`, so
the results' text changes nothing; BFCL's executor is not run, which would need `mpmath`.) The
shortlist is cut at `k`, and the turn counts as kept where every function its ground truth calls
survived (turns whose ground truth calls nothing are left out).
This is the first ask of the turn; the model cannot call at a later step a function it is not shown.

The table, per `k`, over one half of the 200 entries (`--half even`: the one the ranking is chosen
on; `--half odd`: the one reported):
- turns: turns with a ground-truth call; kept: turns whose needed functions all survived;
- lost (first turn / later turns): turns with a needed function dropped, by position;
- cut: turns the shortlist cut (the rest kept every tool, by the no-signal rules);
- tools kept: the mean count shown against declared, over all turns;
- prompt chars: the system turn with the signatures (`tool_prompt.tools_system_text`), summed over
  all turns, before -> after, and the share saved.
`--family-tops 0,1,2` measures the shortlist with the families of that many best-ranked functions
kept (`toolcall_shortlist.FAMILY_TOP`; 0: the ranking alone, as before families). `--show-lost K`
lists, per lost turn at K (the default families), the entry, turn and the functions dropped.

Run:
    PYTHONPATH=src:/tmp/bfcl-pkgs .venv/bin/python -m bench.tool_shortlist_turns --half even \\
        --family-tops 0,1,2,3,5 --ks 3,5,8
"""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench.bfcl_multi_turn import MultiTurnItem, load_multi_turn
from voxgate.backends.tool_prompt import tools_system_text
from voxgate.backends.toolcall_shortlist import FAMILY_TOP, Shortlist, shortlist_tools

KS = "5,6,8,10"
ENTRIES = 200


@dataclass(frozen=True)
class TurnCase:
    """One turn's first ask: the request body, and the functions its ground truth calls."""

    entry_id: str
    turn: int
    body: dict[str, Any]
    needed: frozenset[str]


@dataclass
class Row:
    turns: int = 0
    kept: int = 0
    lost_first: int = 0
    lost_later: int = 0
    cut: int = 0
    tools_before: int = 0
    tools_after: int = 0
    chars_before: int = 0
    chars_after: int = 0
    lost: list[str] = field(default_factory=list)


def call_name(call: str) -> str:
    """The function a ground-truth call string (`cd(folder='x')`) calls."""
    return call.split("(", 1)[0].strip()


def tool_call(call: str, item: MultiTurnItem, ident: str) -> dict[str, Any]:
    """A ground-truth call string as an OpenAI assistant `tool_calls` entry (positional arguments
    named after the function's parameters, in their declared order)."""
    parsed = ast.parse(call, mode="eval").body
    if not isinstance(parsed, ast.Call) or not isinstance(parsed.func, ast.Name):
        raise ValueError(f"not a call: {call}")
    schema = next(t["function"] for t in item.tools if t["function"]["name"] == parsed.func.id)
    names = list(schema.get("parameters", {}).get("properties", {}))
    arguments = {names[i]: ast.literal_eval(arg) for i, arg in enumerate(parsed.args)}
    arguments.update({kw.arg: ast.literal_eval(kw.value) for kw in parsed.keywords if kw.arg})
    return {"id": ident, "type": "function", "function": {"name": parsed.func.id, "arguments": json.dumps(arguments)}}


def entry_cases(item: MultiTurnItem) -> Iterator[TurnCase]:
    """Each turn of `item` as its first ask, earlier turns answered with the ground truth."""
    messages: list[dict[str, Any]] = []
    for index, (turn, calls) in enumerate(zip(item.turns, item.ground_truth, strict=True)):
        messages.extend(dict(message) for message in turn)
        if calls:
            yield TurnCase(item.id, index, {"messages": list(messages), "tools": item.tools},
                           frozenset(call_name(call) for call in calls))
        tool_calls = [tool_call(call, item, f"call_{index}_{n}") for n, call in enumerate(calls)]
        if tool_calls:
            messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
            messages.extend({"role": "tool", "tool_call_id": c["id"], "content": "done"} for c in tool_calls)
        messages.append({"role": "assistant", "content": ""})


def half_cases(half: str) -> list[TurnCase]:
    """The turns of the even- or odd-indexed multi_turn_base entries (position in BFCL's file)."""
    items = load_multi_turn(ENTRIES, turns=1_000)
    return [case for index, item in enumerate(items) if index % 2 == (0 if half == "even" else 1)
            for case in entry_cases(item)]


def measure(cases: list[TurnCase], k: int,
            cut: Callable[[dict[str, Any], int], Shortlist] = shortlist_tools) -> Row:
    row = Row()
    for case in cases:
        shortlist = cut(case.body, k)
        kept = {tool["function"]["name"] for tool in shortlist.tools}
        row.turns += 1
        missing = case.needed - kept
        row.kept += not missing
        if missing:
            row.lost_first += case.turn == 0
            row.lost_later += case.turn > 0
            row.lost.append(f"{case.entry_id} turn {case.turn}: dropped {', '.join(sorted(missing))}")
        row.cut += bool(shortlist.dropped)
        row.tools_before += len(case.body["tools"])
        row.tools_after += len(shortlist.tools)
        row.chars_before += len(tools_system_text(None, case.body["tools"]))
        row.chars_after += len(tools_system_text(None, shortlist.tools))
    return row


def table_lines(cases: list[TurnCase], ks: list[int], label: str,
                cut: Callable[[dict[str, Any], int], Shortlist] = shortlist_tools) -> list[str]:
    lines = []
    for k in ks:
        row = measure(cases, k, cut)
        saved = (row.chars_before - row.chars_after) / row.chars_before if row.chars_before else 0.0
        lines.append(f"| {label} | {k} | {row.turns} | {row.kept}/{row.turns} | {row.lost_first} / {row.lost_later} | "
                     f"{row.cut} | {row.tools_after / row.turns:.1f} of {row.tools_before / row.turns:.1f} | "
                     f"{row.chars_before:,} -> {row.chars_after:,} | {saved:.0%} |")
    return lines


HEADER = ["| ranking | k | turns | kept | lost (first / later turns) | cut | tools kept | prompt chars | saved |",
          "|---|---|---|---|---|---|---|---|---|"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", choices=("even", "odd"), required=True,
                        help="even: the entries the ranking is chosen on; odd: the entries reported")
    parser.add_argument("--ks", default=KS)
    parser.add_argument("--family-tops", default=str(FAMILY_TOP),
                        help="comma-separated `family_top` values to measure (0: no family kept, ranking alone)")
    parser.add_argument("--show-lost", type=int, default=0, help="list the lost turns at this k")
    args = parser.parse_args()
    cases = half_cases(args.half)
    ks = [int(k) for k in args.ks.split(",")]
    lines = list(HEADER)
    for top in (int(value) for value in args.family_tops.split(",")):
        lines += table_lines(cases, ks, f"family_top {top}", partial(shortlist_tools, family_top=top))
    print("\n".join(lines))
    if args.show_lost:
        print("\n".join(measure(cases, args.show_lost).lost))


if __name__ == "__main__":
    main()
