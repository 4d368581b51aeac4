"""A call to a function that does not exist, answered as an agent's executor would: "no such function". Pure.

Shown many tools, the bundled models sometimes write a call to a name they made up: `move` where the
tool is `mv` (measured: the 0.5B on BFCL multi_turn_base_0, a ```json fence); `get_current_price`,
`set_daily_spend` (the 12-03 multi-turn sample). The parser reads declared names only, so such an
answer is text, and a chat client gets the JSON. An agent framework runs the call it is given and
answers an unknown name with an error; the adapter (`toolcalls`) does that upstream, once: the answer
goes back to the model followed by a `<tool_response>` error naming the declared functions, and a
second answer that calls declared functions, one at least sharing a topic word with the request
(`toolcall_relevance`: told the names, the 0.5B called `draw_circle` for "the area of a rectangle",
BFCL irrelevance_6), is the answer. Anything else leaves the first (measured:
the 0.5B, told, wrote the error back as a call's name), which the cascade's check then escalates.

    unknown_calls(text, declared)                     undeclared names `text` writes whole calls to,
                                                      when it holds no call to a declared one
    unknown_call_body(body, text, unknown, declared)  the request again, with that exchange after it
    UnknownCallAnswer                                 what the adapter's "no such function" exchange gave
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import NamedTuple

from voxgate.core.types import JSONObject

from .toolcall_parser import declared_name, split_prose_and_calls, written_call_names

__all__ = ["MAX_NAMES_LISTED", "UnknownCallAnswer", "unknown_call_body", "unknown_calls"]

MAX_NAMES_LISTED = 64
"""At most this many declared names in the error (a shortlisted request shows far fewer)."""


class UnknownCallAnswer(NamedTuple):
    """The exchange's outcome: the request body holding it, the second answer, whether that calls declared
    functions (`made`), and, when it does not and nothing can replace the answer, the request to ask again
    without tools (`words_body`; else None)."""

    body: JSONObject
    again: JSONObject
    made: bool
    words_body: JSONObject | None


def unknown_calls(text: str, declared: Collection[str]) -> list[str]:
    """The undeclared function names `text` writes whole calls to (`written_call_names`), each once, in
    the order written; [] when it also holds calls to declared functions (those are the answer)."""
    unknown = [name for name in dict.fromkeys(written_call_names(text)) if declared_name(name, declared) is None]
    if not unknown:  # the common answer: no full parse needed
        return []
    return [] if split_prose_and_calls(text, declared) is not None else unknown


def unknown_call_body(body: JSONObject, text: str, unknown: Sequence[str], declared: Collection[str]) -> JSONObject:
    """`body` (the rendered upstream request) followed by the model's answer `text` and a user turn with
    a `<tool_response>` error: no function named `unknown`, the declared names, "call one of them, or
    answer in plain words"."""
    missing = ", ".join(json.dumps(name, ensure_ascii=False) for name in unknown)
    names = ", ".join(sorted(declared)[:MAX_NAMES_LISTED])
    error = json.dumps({"error": f"no function named {missing}. The functions are: {names}. "
                                 "Call one of them, or answer in plain words."}, ensure_ascii=False)
    messages = [*body.get("messages", []), {"role": "assistant", "content": text},
                {"role": "user", "content": f"<tool_response>\n{error}\n</tool_response>"}]
    return {**body, "messages": messages}
