"""What the tool-call layer did to one request, noted for its decision record.

The tool-call adapter (`backends/toolcalls`) cuts long tool lists, asks answers again in words,
cuts arguments, continues answers; the decision record (`routing/decision`) must carry each of those
with its reason, but backends cannot import routing. So the dispatcher opens a list for the call
(`noting_tools(decision.tools)`) and the adapter appends to it (`current_tool_notes()`, read once when
the call starts, so a stream relayed later from another task still writes to the same list). A
context variable, like `core.priority`: no layer in between passes it.

A note is a small JSON object: the model, the action, its reason, and counts or names the client
declared (function and argument names) only: never prompt text, argument values or answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from voxgate.core.types import JSONObject

__all__ = ["ToolNotes", "current_tool_notes", "noting_tools"]

ToolNotes = list[JSONObject]

_CURRENT: ContextVar[ToolNotes | None] = ContextVar("voxgate_tool_notes", default=None)


def current_tool_notes() -> ToolNotes:
    """The list this call's notes go to; outside `noting_tools`, a fresh list nobody reads."""
    notes = _CURRENT.get()
    return notes if notes is not None else []


@contextmanager
def noting_tools(notes: ToolNotes) -> Iterator[None]:
    """Backend calls started inside this block note their tool actions in `notes`."""
    token = _CURRENT.set(notes)
    try:
        yield
    finally:
        _CURRENT.reset(token)
