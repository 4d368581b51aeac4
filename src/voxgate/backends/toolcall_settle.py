"""An answer's calls settled against the request before they go out, each change recorded. Pure but
for the record it notes into.

    settle_calls(calls, functions, text, record, ...)   every-choice and padded lists cut, dates put in
                                                         their declared format, currency names as
                                                         codes, left-out options the request names
                                                         filled (`trim_choices`), then
                                                         optional arguments nobody asked for, and
                                                         undeclared ones, dropped (`drop_unasked_arguments`)
"""

from __future__ import annotations

from collections.abc import Mapping

from voxgate.core.types import JSONObject

from .toolcall_choices import settled_calls
from .toolcall_formats import currency_codes, dates_in_declared_format
from .toolcall_optional import without_unasked
from .toolcall_options import with_named_options
from .toolcall_parser import ParsedToolCall
from .toolcall_record import ToolRecord

__all__ = ["settle_calls"]


def settle_calls(
    calls: list[ParsedToolCall], functions: Mapping[str, JSONObject], text: str, record: ToolRecord, *,
    trim_choices: bool, drop_unasked_arguments: bool, request: str | None = None,
) -> list[ParsedToolCall]:
    """`calls` with `toolcall_choices`' lists cut and `toolcall_formats`' dates and currencies rewritten (with
    `trim_choices`), then less `toolcall_optional`'s unasked and undeclared arguments (with `drop_unasked_arguments`);
    each change noted on `record`. `text`: the conversation's (`toolcall_grounding.grounding_text`);
    `request`: the user's words (`toolcall_options` fills from those alone)."""
    settled = calls
    if trim_choices:
        settled, cut = settled_calls(calls, functions, text)
        if cut:
            record.choices_cut(calls, settled, cut)
        formatted, rewritten = dates_in_declared_format(settled, functions)
        if rewritten:
            record.dates_reformatted(settled, formatted, rewritten)
        coded, rewritten = currency_codes(formatted, functions)
        if rewritten:
            record.currencies_coded(formatted, coded, rewritten)
        settled, filled = with_named_options(coded, functions, request or "")
        if filled:
            record.options_filled(coded, settled, filled)
    if not drop_unasked_arguments:
        return settled
    kept, dropped = without_unasked(settled, functions, text)
    if dropped:
        record.arguments_dropped(settled, kept, dropped)
    return kept
