"""The tool shortlist (`backends/toolcall_shortlist`) offline on BFCL: does it keep the right functions,
and how much shorter is the prompt? No model; a few seconds.

For each category and `k`, over one half of the category's items (`--half even`: the ones `k` was
chosen on; `--half odd`: the ones reported), every item's tools are cut as the gateway would cut
them, and the table says:
- over k: items declaring more than `k` tools (the only ones the shortlist may act on);
- cut: items it did cut (the rest kept every tool: no word of the request meets enough functions,
  `toolcall_shortlist`'s no-signal rules);
- right kept: items whose ground-truth functions (every one, for parallel items) all stayed, of all;
- lost: items where a right function was dropped (the model could no longer call it);
- tools kept: the mean count of tools shown against declared, over the items cut;
- prompt chars: the rendered system turn with the tool signatures (`tool_prompt.tools_system_text`),
  summed over the items cut, before -> after, and over all `over k` items the share saved.

Run:
    PYTHONPATH=src:/tmp/bfcl-pkgs .venv/bin/python -m bench.tool_shortlist --half even

`--write-ids PATH --k K` writes instead the ids of the items (of `--half`, in the first category)
the shortlist cuts at K, less those of earlier runs (each `load_category` spread of
`EARLIER_SPREADS`), one tool set at a time (BFCL's `live_multiple_<n>-<set>-<m>`: the first item
of each set, then the second...), for `bench.bfcl_ab --include-ids` to ask with the models.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from bench.bfcl_data import BfclItem, load_category, openai_function_name
from voxgate.backends.tool_prompt import tools_system_text
from voxgate.backends.toolcall_shortlist import shortlist_tools

CATEGORIES = "live_multiple,live_parallel_multiple,multiple"
KS = "2,3,4,5,6,8"
EARLIER_SPREADS = (3, 4, 5, 10, 15, 20, 25, 40)
"""`load_category` spreads asked in earlier runs (bench/results/bfcl.md, bfcl_ab.md), and near ones."""


@dataclass
class Row:
    over_k: int = 0
    cut: int = 0
    right_kept: int = 0
    lost: int = 0
    tools_before: int = 0
    tools_after: int = 0
    chars_before_cut: int = 0
    chars_after_cut: int = 0
    chars_over_k: int = 0


def right_functions(item: BfclItem) -> set[str]:
    """The names of the functions a right answer calls (OpenAI spelling: dots as underscores)."""
    return {openai_function_name(next(iter(call))) for call in item.ground_truth or ()}


def measure(items: list[BfclItem], k: int) -> Row:
    row = Row()
    for item in items:
        shortlist = shortlist_tools({"messages": item.messages, "tools": item.tools}, k)
        kept = {tool["function"]["name"] for tool in shortlist.tools}
        right = right_functions(item) <= kept
        row.right_kept += right
        if len(item.tools) <= k:
            continue
        before = len(tools_system_text(None, item.tools))
        row.over_k += 1
        row.chars_over_k += before
        if shortlist.dropped:
            row.cut += 1
            row.lost += not right
            row.tools_before += len(item.tools)
            row.tools_after += len(shortlist.tools)
            row.chars_before_cut += before
            row.chars_after_cut += len(tools_system_text(None, shortlist.tools))
    return row


def half_items(category: str, half: str) -> list[BfclItem]:
    every = load_category(category, 1_000_000)
    return [item for index, item in enumerate(every) if index % 2 == (0 if half == "even" else 1)]


def cut_item_ids(category: str, half: str, k: int) -> list[str]:
    """The ids of `half`'s items the shortlist cuts at `k`, not of an earlier run, one tool set at a time."""
    earlier = {item.id for spread in EARLIER_SPREADS for item in load_category(category, spread)}
    cut = [item.id for item in half_items(category, half) if item.id not in earlier
           and shortlist_tools({"messages": item.messages, "tools": item.tools}, k).dropped]
    seen_in_set: dict[str, int] = {}
    order = []
    for position, item_id in enumerate(cut):
        tool_set = item_id.split("-")[1] if item_id.count("-") >= 2 else item_id
        seen_in_set[tool_set] = seen_in_set.get(tool_set, -1) + 1
        order.append((seen_in_set[tool_set], position, item_id))
    return [item_id for _, _, item_id in sorted(order)]


def table(categories: list[str], ks: list[int], half: str) -> str:
    lines = ["| category | k | items | over k | cut | right kept | lost | tools kept (cut items) | "
             "prompt chars, cut items | saved, over-k items |", "|---|---|---|---|---|---|---|---|---|---|"]
    for category in categories:
        items = half_items(category, half)
        for k in ks:
            row = measure(items, k)
            kept = f"{row.tools_after / row.cut:.1f} of {row.tools_before / row.cut:.1f}" if row.cut else "-"
            chars = f"{row.chars_before_cut:,} -> {row.chars_after_cut:,}" if row.cut else "-"
            saved = (f"{(row.chars_before_cut - row.chars_after_cut) / row.chars_over_k:.0%}"
                     if row.chars_over_k else "-")
            lines.append(f"| {category} | {k} | {len(items)} | {row.over_k} | {row.cut} | "
                         f"{row.right_kept}/{len(items)} | {row.lost} | {kept} | {chars} | {saved} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", choices=("even", "odd"), required=True,
                        help="even: the items k is chosen on; odd: the items reported")
    parser.add_argument("--categories", default=CATEGORIES)
    parser.add_argument("--ks", default=KS)
    parser.add_argument("--write-ids", type=Path, default=None, help="write the ids of the items cut at --k here")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    if args.write_ids is not None:
        ids = cut_item_ids(args.categories.split(",")[0], args.half, args.k)
        args.write_ids.write_text(json.dumps(ids) + "\n", encoding="utf-8")
        print(f"{len(ids)} items written to {args.write_ids}")
        return
    print(table([c for c in args.categories.split(",") if c], [int(k) for k in args.ks.split(",")], args.half))


if __name__ == "__main__":
    main()
