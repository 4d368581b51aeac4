"""A US city written without the state its argument's description asks for, given its state. Pure.

Tool descriptions often declare a place as city and state ("The city and state, e.g. San Francisco,
CA"; "Specify the location in the format City, State"), and the bundled models write the city alone:
`location: "Los Angeles"` (BFCL simple_python_77), "New York" (simple_python_35). A weather or search
API behind such a schema may not resolve the bare name, or resolve another place of that name. Where
the description declares city and state (in those words, or by an example "City, ST" whose code is a
US state) and the value is exactly one of `toolcall_codes`' US cities (not a nickname: "LA" stays), the
state is appended as the example writes it: its code ("Los Angeles, CA") or, where the example names
the state in full ("Chicago, Illinois"), its name. A value that already holds a comma, or that is no
city of the table ("London" for "e.g. London, UK"), stays.

Measured offline over BFCL's reference calls (`bench/tool_city_states.py`): accepted values rewritten
into one the reference does not accept, and the gain replayed on recorded answers, in
`bench/results/bfcl_ab.md`.

    cities_with_states(calls, functions)   the calls with such values rewritten, and the names of the
                                           arguments rewritten
    with_state(value, schema)              the value with its state, or None where it stays
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from voxgate.core.types import JSONObject

from .toolcall_codes import CITY_NICKNAMES, CITY_STATES, US_STATES
from .toolcall_parser import ParsedToolCall, rewritten_calls
from .toolcall_schema import values_rewritten

__all__ = ["cities_with_states", "with_state"]

_CITY_AND_STATE = re.compile(r"\bcity,?\s+(?:and\s+)?state\b|\bcity\s*,\s*state\b", re.IGNORECASE)
_CODE_EXAMPLE = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*, ([A-Z]{2})\b")
"""An example place written "City, ST" ("San Francisco, CA")."""
_STATE_BY_NAME = {" ".join(names[0]): code for code, names in US_STATES.items()}
_NAME_EXAMPLE = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*, ((?:[A-Z][a-z]+ )?[A-Z][a-z]+)\b")
"""An example place written "City, State" ("Chicago, Illinois")."""
_LETTERS = re.compile(r"[a-z]+")


def cities_with_states(
    calls: Sequence[ParsedToolCall], functions: Mapping[str, JSONObject]
) -> tuple[list[ParsedToolCall], tuple[str, ...]]:
    """`calls` with each top-level string argument that `with_state` gives a state rewritten, and the
    names of the arguments rewritten (empty: the calls as they were)."""
    return rewritten_calls(calls, lambda call, arguments: values_rewritten(
        arguments, functions.get(call.name), lambda _key, value, schema: with_state(value, schema)), ensure_ascii=False)


def with_state(value: Any, schema: Any) -> str | None:
    """`value` followed by its state, where `schema` is a string argument whose description declares
    city and state and `value` is a US city of the table alone (module docstring); else None."""
    if not isinstance(value, str) or "," in value or not isinstance(schema, dict) or schema.get("type") != "string":
        return None
    description = schema.get("description")
    if not isinstance(description, str) or "enum" in schema:
        return None
    coded = any(match.group(1).lower() in US_STATES for match in _CODE_EXAMPLE.finditer(description))
    named = any(match.group(1).lower() in _STATE_BY_NAME for match in _NAME_EXAMPLE.finditer(description))
    if not (coded or named or _CITY_AND_STATE.search(description)):
        return None
    city = tuple(_LETTERS.findall(value.lower()))
    if " ".join(city) != " ".join(value.lower().split()) or city in CITY_NICKNAMES or city not in CITY_STATES:
        return None
    state = CITY_STATES[city]
    if state == "dc":  # "Washington DC" names its district already
        return None
    if named and not coded:
        return f"{value.strip()}, {' '.join(US_STATES[state][0]).title()}"
    return f"{value.strip()}, {state.upper()}"
