"""Whether a later cascade stage may replace the answer now being asked for.

A cascade (`routing/cascade`) asks its stages one after the other and escalates an answer its checks
fail; the plan's last stage, and a model asked directly, give the answer the client gets. The tool-call
adapter (`backends/toolcalls`) answers some failures differently by that: where an escalation may
follow, a call to a function that does not exist stays as the model wrote it, so the `tool_arguments`
check sees it and escalates; where none can, it is asked again in words, so the client gets words and
not JSON naming a made-up function. Backends cannot import routing, so the runner says it here, as
`core.tool_notes` does the other way: a context variable, read once when the call starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["escalation_may_follow", "may_be_escalated"]

_CURRENT: ContextVar[bool] = ContextVar("voxgate_escalation_may_follow", default=False)


def may_be_escalated() -> bool:
    """Whether the call starting now is a cascade stage that a later stage may replace."""
    return _CURRENT.get()


@contextmanager
def escalation_may_follow(follows: bool = True) -> Iterator[None]:
    """Backend calls started inside this block are (`follows`) or are not stages a later one may replace."""
    token = _CURRENT.set(follows)
    try:
        yield
    finally:
        _CURRENT.reset(token)
