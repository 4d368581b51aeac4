"""An answer's calls settled against the request before they go out, each change recorded. Pure but
for the record it notes into.

    settle_calls(calls, functions, text, record, ...)   with `trim_choices`: calls listing several values
                                                         for one split, every-choice and padded lists
                                                         cut, dates put in their declared format,
                                                         currency names as codes, bare US cities given
                                                         the state their description asks for, values
                                                         cut to the thing itself ("y=3x+2" to "3x+2"),
                                                         rates given as percentages as fractions,
                                                         quantities as the function takes them (5'11"
                                                         as 71 inches), "from A to B" the user's way
                                                         round, left-out options the request names
                                                         filled, yes/no arguments it asks for set; with
                                                         `drop_unasked_arguments`:
                                                         calls that make up a second request, optional
                                                         arguments nobody asked for and undeclared ones
                                                         dropped, then calls that only repeat another's
                                                         values under a function the request does not
                                                         name
    without_made_up_requests(calls, functions, text)    the calls less those after the first to a new
                                                         function that make up a required value and ask
                                                         for nothing new, and those dropped
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from voxgate.core.types import JSONObject

from .toolcall_alternatives import without_alternatives
from .toolcall_choices import settled_calls
from .toolcall_direction import settled_directions
from .toolcall_fanout import fanned_out
from .toolcall_flags import flags_asked_for
from .toolcall_formats import bare_values, currency_codes, dates_in_declared_format
from .toolcall_grounding import makes_up_another_request
from .toolcall_optional import without_unasked
from .toolcall_options import with_named_options
from .toolcall_parser import ParsedToolCall
from .toolcall_places import cities_with_states
from .toolcall_rates import rates_as_fractions
from .toolcall_record import ToolRecord
from .toolcall_units import quantities_as_declared

__all__ = ["settle_calls", "without_made_up_requests"]


def settle_calls(
    calls: list[ParsedToolCall], functions: Mapping[str, JSONObject], text: str, record: ToolRecord, *,
    trim_choices: bool, drop_unasked_arguments: bool, request: str | None = None, fan_out: bool = True,
) -> list[ParsedToolCall]:
    """`calls` settled (with `trim_choices`): `toolcall_fanout`'s calls listing values split (with
    `fan_out`: not where `parallel_tool_calls` is false), `toolcall_choices`' lists cut, `toolcall_formats`' dates,
    currencies and bare values ("y=3x+2" to "3x+2") rewritten, `toolcall_places`' cities given their states,
    `toolcall_rates`' percentages passed as fractions, `toolcall_units`' quantities as declared,
    `toolcall_direction`'s source and target put the way the user said them, `toolcall_options`' named
    options filled, `toolcall_flags`' flags set; then (with `drop_unasked_arguments`) less
    the calls that make up a second request, `toolcall_optional`'s unasked and undeclared arguments, and, judged on the
    values left, `toolcall_alternatives`' calls that only repeat another's values under a function the
    request does not name. Each change is noted on `record`. `text`: the conversation's
    (`toolcall_grounding.grounding_text`); `request`: the user's words, which alone fill options and
    name functions and directions."""
    user_words = request if request is not None else text
    settled = _rewritten(calls, functions, text, user_words, request or "", record, fan_out) if trim_choices else calls
    if not drop_unasked_arguments:
        return settled
    settled, made_up = without_made_up_requests(settled, functions, text)
    if made_up:
        record.calls_dropped(made_up)
    kept, dropped = without_unasked(settled, functions, text)
    if dropped:
        record.arguments_dropped(settled, kept, dropped)
    kept, alternatives = without_alternatives(kept, user_words)  # values settled
    if alternatives:
        record.alternatives_dropped(alternatives)
    return kept


_Rewrite = Callable[[list[ParsedToolCall]], tuple[list[ParsedToolCall], tuple[str, ...]]]
_Note = Callable[[Sequence[ParsedToolCall], Sequence[ParsedToolCall], Sequence[str]], None]


def _rewritten(
    calls: list[ParsedToolCall], functions: Mapping[str, JSONObject], text: str, user_words: str, request: str,
    record: ToolRecord, fan_out: bool,
) -> list[ParsedToolCall]:
    """`calls` through `settle_calls`' rewrites (`trim_choices`), in order, each change noted on `record`."""
    steps: list[tuple[_Rewrite, _Note]] = [
        (lambda now: fanned_out(now, functions, user_words) if fan_out else (now, ()), record.calls_fanned_out),
        (lambda now: settled_calls(now, functions, text), record.choices_cut),
        (lambda now: dates_in_declared_format(now, functions), record.dates_reformatted),
        (lambda now: currency_codes(now, functions), record.currencies_coded),
        (lambda now: cities_with_states(now, functions), record.states_added),
        (lambda now: bare_values(now, functions), record.values_bared),
        (lambda now: rates_as_fractions(now, functions, user_words), record.rates_as_fractions),
        (lambda now: quantities_as_declared(now, functions, user_words), record.quantities_read),
        (lambda now: settled_directions(now, user_words), record.directions_swapped),
        (lambda now: with_named_options(now, functions, request), record.options_filled),
        (lambda now: flags_asked_for(now, functions, request), record.flags_set),
    ]
    settled = calls
    for rewrite, note in steps:
        after, changed = rewrite(settled)
        if changed:
            note(settled, after, changed)
        settled = after
    return settled


def without_made_up_requests(
    calls: list[ParsedToolCall], functions: Mapping[str, JSONObject], text: str
) -> tuple[list[ParsedToolCall], list[ParsedToolCall]]:
    """`calls` less each one after the first to a function no earlier kept call used that makes up a
    required value while asking for nothing the earlier ones do not (`makes_up_another_request`), and
    those dropped. The model's own answer, not only a continuation (`ToolCallPlan.stray_additions`): the
    0.5B wrote `solarFarm_potential(...)` and `windFarm_potential(..., turbineCount: 10)` in one answer
    for a request about the solar farm alone (BFCL multiple_15)."""
    kept: list[ParsedToolCall] = []
    dropped: list[ParsedToolCall] = []
    for call in calls:
        new_function = bool(kept) and all(earlier.name != call.name for earlier in kept)
        if new_function and makes_up_another_request(call, kept, text, functions.get(call.name)):
            dropped.append(call)
        else:
            kept.append(call)
    return kept, dropped
