"""A call listing several values where its function takes one, made into one call per value. Pure.

Asked about several things of one function, the bundled models sometimes write one call with the
values listed: `player_status_check(season: [2017, 2018, 2019])` where `season` is an integer (BFCL
parallel_49, the 0.5B), `get_protein_sequence(gene: ["BRCA1", "BRCA2"], species: ["Homo sapiens",
"Pan troglodytes"])` where both take a string (parallel_107). The function takes one value there, so
the call fails; the request asked for one call per value. So an argument whose schema is a string, a
number, an integer or a boolean and whose value is a list of two or more such values makes the call
one call per value (a one-item list is its item). With two or more such arguments: where their lists
are as long and the request names their values in pairs, each first value before each second one
("Tenet at 5 pm and No Time To Die at 7:30 pm"), one call per pair; else one per combination
("BRCA1 and BRCA2 genes in Homo sapiens and Pan troglodytes": four calls). At most `MAX_CALLS` calls
in all; an answer that would need more stays as it is. Not with `parallel_tool_calls: false`.

    fanned_out(calls, functions, text)   the calls with such calls split, and the names of the
                                         arguments that were lists
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_continuation import MAX_CALLS
from .toolcall_parser import ParsedToolCall
from .toolcall_schema import declared_properties

__all__ = ["fanned_out"]

_SCALAR_TYPES = frozenset({"string", "number", "integer", "boolean"})


def fanned_out(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each call whose scalar arguments hold lists split into one call per value (module
    docstring), and the names of those arguments, each once (empty: the calls as they were)."""
    out: list[ParsedToolCall] = []
    names: list[str] = []
    for call in calls:
        split = _split(call, functions.get(call.name), text)
        out.extend(split[0] if split is not None else [call])
        names.extend(name for name in (split[1] if split is not None else ()) if name not in names)
    if len(out) > MAX_CALLS or not names:
        return list(calls), ()
    return out, tuple(names)


def _split(
    call: ParsedToolCall, function: JSONObject | None, text: str
) -> tuple[list[ParsedToolCall], list[str]] | None:
    """The calls `call` stands for, and the names of its listed arguments; None when it lists none."""
    properties = declared_properties(function)
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return None
    if not isinstance(arguments, dict) or properties is None:
        return None
    listed = {key: value for key, value in arguments.items() if _lists_scalars(value, properties.get(key))}
    if not listed:
        return None
    keys = list(listed)
    rows = zip(*listed.values(), strict=True) if _in_pairs(list(listed.values()), text) else (
        itertools.product(*listed.values()))
    split = [ParsedToolCall(call.name, json.dumps({**arguments, **dict(zip(keys, row, strict=True))},
                                                  ensure_ascii=False)) for row in rows]
    return split, keys


def _lists_scalars(value: Any, schema: object) -> bool:
    """Whether `value` is a list of scalars where `schema` takes one scalar."""
    return (isinstance(schema, dict) and schema.get("type") in _SCALAR_TYPES and isinstance(value, list)
            and bool(value) and all(isinstance(item, str | int | float | bool) for item in value))


def _in_pairs(lists: list[list[Any]], text: str) -> bool:
    """Whether `lists` (as long as each other) are named in `text` in pairs: every value found, each
    list's i-th value before every list's (i+1)-th. Lists of one value, or one list, pair trivially."""
    if len({len(values) for values in lists}) != 1:
        return False
    lowered = text.lower()
    at = [[lowered.find(str(value).lower()) for value in values] for values in lists]
    if any(position < 0 for row in at for position in row):
        return len(lists) > 1  # unplaced: one call per pair, the fewer calls
    return all(max(row[i] for row in at) < min(row[i + 1] for row in at) for i in range(len(lists[0]) - 1))
