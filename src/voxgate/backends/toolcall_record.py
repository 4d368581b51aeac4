"""What the tool-call adapter (`toolcalls`) did to one request, with why: logged on `voxgate.tool_calls`
and noted for the request's decision record (`core.tool_notes`, the record's `tools` list).

Each note is {"model", "action", "reason"} plus counts and names the client declared:

    shortlist             kept, dropped                       the tool list cut (`toolcall_shortlist`)
    asked_again_in_words  functions (the calls refused),      the answer asked again without tools
                          asked_for (arguments, if any),      (with a note to ask for made-up values)
                          after_words (true: words came first)
    choices_cut           functions, arguments                every-choice or padded lists cut (`toolcall_choices`)
    dates_reformatted     functions, arguments                dates put in their declared format (`toolcall_formats`)
    currencies_coded      functions, arguments                currency names put as ISO 4217 codes (`toolcall_formats`)
    states_added          functions, arguments                a bare US city given the state its description asks
                                                              for ("Los Angeles, CA": `toolcall_places`)
    values_bared          functions, arguments                a function argument's equation ("y=3x+2") cut to its
                                                              right side, a restated argument name ("discovery
                                                              of the neutron") dropped (`toolcall_formats`)
    calls_fanned_out      functions, arguments, calls         a call listing several values where its function takes
                                                              one made one call per value (`toolcall_fanout`)
    rates_as_fractions    functions, arguments                a rate the user gave as a percentage ("5%") passed
                                                              as its fraction, 0.05 (`toolcall_rates`)
    quantities_read       functions, arguments                a quantity written the user's way passed the
                                                              function's: 5'11" as 71 inches, 112.07 W as
                                                              -112.07, "monthly" as 12 (`toolcall_units`)
    directions_swapped    functions, arguments                a source and a target given the other way round
                                                              from the user's "from A to B", swapped
                                                              (`toolcall_direction`)
    calls_dropped         functions (the calls dropped)       calls after the first that make up a second request
    alternatives_dropped  functions (the calls dropped)       calls that only repeat another call's values under
                                                              a function the request does not name
                                                              (`toolcall_alternatives`)
    options_filled        functions, arguments                left-out options the request names filled
                                                              (`toolcall_options`)
    flags_set             functions, arguments                yes/no arguments the request asks for set true
                                                              (`toolcall_flags`)
    continued             requests, added, functions (added)  the answer's calls continued / pushed for more;
                          dropped (the stray calls, if any)   calls to a new function off the request dropped
    described_call        functions (the one named), made,    words naming a function (or holding placeholders,
                          placeholders (true: "XXX" words),   "XXX PSI", or answering a request that names one
                          named_by_request (true)             by its name's words) asked for its call
    arguments_dropped     functions, arguments                optional arguments nobody asked for, or
                                                              ones the function does not declare, dropped
    unknown_function_answered  unknown (a count), made,      a call to an undeclared function answered
                          words (true: then asked in words)   "no such function" (`toolcall_unknown`)
    call_repaired         functions (the calls kept)          whole calls kept from broken text, or a call
                                                              cut short in a runaway list closed (`toolcall_repair`)

Never prompt text, argument values or answers: decisions are stored whatever `log_content` says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from voxgate.core.tool_notes import ToolNotes, current_tool_notes
from voxgate.core.types import JSONObject

from .toolcall_parser import ParsedToolCall
from .toolcall_shortlist import Shortlist

__all__ = [
    "ACTION_ALTERNATIVES_DROPPED", "ACTION_ARGUMENTS_DROPPED", "ACTION_ASKED_AGAIN", "ACTION_CALLS_DROPPED",
    "ACTION_CALLS_FANNED_OUT", "ACTION_CHOICES_CUT", "ACTION_CONTINUED", "ACTION_CURRENCIES_CODED",
    "ACTION_DATES_REFORMATTED", "ACTION_DESCRIBED_CALL", "ACTION_DIRECTIONS_SWAPPED", "ACTION_FLAGS_SET",
    "ACTION_OPTIONS_FILLED", "ACTION_QUANTITIES_READ", "ACTION_RATES_AS_FRACTIONS", "ACTION_REPAIRED",
    "ACTION_SHORTLIST", "ACTION_STATES_ADDED", "ACTION_UNKNOWN_CALL", "ACTION_VALUES_BARED",
    "REASON_ALTERNATIVES_DROPPED", "REASON_ARGUMENTS_DROPPED", "REASON_CALLS_DROPPED",
    "REASON_CALLS_FANNED_OUT", "REASON_CHOICES_CUT", "REASON_CONTINUED", "REASON_CURRENCIES_CODED",
    "REASON_DATES_REFORMATTED", "REASON_DESCRIBED_KEPT", "REASON_DESCRIBED_MADE", "REASON_DIRECTIONS_SWAPPED",
    "REASON_FLAGS_SET", "REASON_OPTIONS_FILLED", "REASON_PLACEHOLDERS_KEPT", "REASON_PLACEHOLDERS_MADE",
    "REASON_QUANTITIES_READ", "REASON_RATES_AS_FRACTIONS", "REASON_REPAIRED", "REASON_STATES_ADDED",
    "REASON_UNKNOWN_CALL", "REASON_VALUES_BARED", "ToolRecord",
    "asked_for_in", "repaired_in",
]  # fmt: skip

ACTION_SHORTLIST = "shortlist"
ACTION_ASKED_AGAIN = "asked_again_in_words"
ACTION_CHOICES_CUT = "choices_cut"
ACTION_DATES_REFORMATTED = "dates_reformatted"
ACTION_CURRENCIES_CODED = "currencies_coded"
ACTION_STATES_ADDED = "states_added"
ACTION_DIRECTIONS_SWAPPED = "directions_swapped"
ACTION_VALUES_BARED = "values_bared"
ACTION_RATES_AS_FRACTIONS = "rates_as_fractions"
ACTION_CALLS_FANNED_OUT = "calls_fanned_out"
ACTION_OPTIONS_FILLED = "options_filled"
ACTION_FLAGS_SET = "flags_set"
ACTION_QUANTITIES_READ = "quantities_read"
ACTION_CALLS_DROPPED = "calls_dropped"
ACTION_ALTERNATIVES_DROPPED = "alternatives_dropped"
ACTION_CONTINUED = "continued"
ACTION_DESCRIBED_CALL = "described_call"
ACTION_ARGUMENTS_DROPPED = "arguments_dropped"
ACTION_UNKNOWN_CALL = "unknown_function_answered"
ACTION_REPAIRED = "call_repaired"
REASON_CHOICES_CUT = ("a list argument holding every declared choice, or two or more items the conversation names"
                      " and others, was cut to those the conversation names")
REASON_DATES_REFORMATTED = "a date was rewritten in the format its argument's description declares"
REASON_CURRENCIES_CODED = "a currency argument holding a currency's name was given its ISO 4217 code"
REASON_STATES_ADDED = "a US city was given the state its argument's description asks for ('City, ST')"
REASON_CALLS_DROPPED = ("a call after the first, to a new function, made up a required value while asking for nothing"
                        " the earlier calls do not")
REASON_ALTERNATIVES_DROPPED = ("a call only repeated another call's values, to a function the request does not name"
                               " while it names the other's (or split the other's request on a word of its"
                               " argument names, or asked less than the other for a request asking one thing)")
REASON_DIRECTIONS_SWAPPED = ("a call gave a source and a target argument the other way round from the user's"
                             " 'from A to B'; they were swapped")
REASON_VALUES_BARED = ("a value was cut to the thing itself: a function argument's equation to its expression"
                       " ('y=3x+2'), a value restating its argument's name to the rest ('discovery of the neutron')")
REASON_RATES_AS_FRACTIONS = ("a rate the user gave as a percentage ('5%') was passed as a fraction (0.05), as the"
                             " argument's name or description asks")
REASON_CALLS_FANNED_OUT = ("a call listing several values where its function takes one was made one call per"
                           " value (per pair or combination of the values listed)")
REASON_OPTIONS_FILLED = "an optional argument left out was given the one declared option the request names"
REASON_QUANTITIES_READ = ("a quantity the user wrote their own way (feet and inches, a hemisphere, a frequency word),"
                          " passed as part of it, was passed as the function takes it")
REASON_FLAGS_SET = "a yes/no argument whose name the request asks for, false or left out, was set true"
REASON_CONTINUED = "an answer made of calls was continued (and pushed for one more call) to add calls it left out"
REASON_ARGUMENTS_DROPPED = ("optional arguments the conversation never asks for were dropped, so the function's"
                            " defaults apply, and arguments the function does not declare")
REASON_DESCRIBED_MADE = "an answer in words named a declared function as code; the call it then wrote was made"
REASON_DESCRIBED_KEPT = ("an answer in words named a declared function as code; the call it then wrote takes no"
                         " value from the conversation, so the words were kept")

REASON_PLACEHOLDERS_MADE = ("an answer in words held placeholders where values should be ('XXX'); the call it then"
                            " wrote was made instead")
REASON_PLACEHOLDERS_KEPT = ("an answer in words held placeholders where values should be ('XXX'); it wrote no call"
                            " taking a value from the conversation, so the words were kept")

REASON_UNKNOWN_CALL = ("the answer wrote out a call to a function the request does not declare; the model was"
                       " told so, with the declared names, and asked again (its second answer kept if it made calls)")

REASON_REPAIRED = ("the answer was no whole call list: the whole calls it started with were kept (a broken one after"
                   " them dropped), or a call cut short inside a list argument that repeated itself was closed"
                   " after the list's last whole item, the repeats dropped")

_log = logging.getLogger("voxgate.tool_calls")


class ToolRecord:
    """One call's tool actions, noted in `notes` (default: the current call's, `current_tool_notes`)."""

    def __init__(self, model_id: str, notes: ToolNotes | None = None) -> None:
        self.model_id = model_id
        self.notes = current_tool_notes() if notes is None else notes

    def shortlisted(self, shortlist: Shortlist) -> None:
        """The tool list was judged for cutting (`shortlist.reason` set): kept and dropped counts."""
        if shortlist.reason is None:
            return
        kept = len(shortlist.tools)
        _log.info("tool list shortlisted: %d of %d kept", kept, kept + shortlist.dropped,
                  extra={"voxgate_tool_check": shortlist.reason, "model": self.model_id,
                         "voxgate_tools_kept": kept, "voxgate_tools_dropped": shortlist.dropped})
        self._note(ACTION_SHORTLIST, shortlist.reason, kept=kept, dropped=shortlist.dropped)

    def asked_again(
        self, reason: str, refused: Sequence[ParsedToolCall] | None, asked_for: Sequence[str] = (),
        *, after_words: bool = False,
    ) -> None:
        """The answer is asked again in words for `reason`; `refused`: its calls, if it was calls;
        `asked_for`: the made-up required arguments the model was told to ask the user for (`toolcall_missing`);
        `after_words`: the refused calls followed words in the answer."""
        _log.info("tool answer asked again in words", extra={"voxgate_tool_check": reason, "model": self.model_id})
        extra: dict[str, object] = {"asked_for": list(asked_for)} if asked_for else {}  # absent when none
        if after_words:
            extra["after_words"] = True
        self._note(ACTION_ASKED_AGAIN, reason, functions=[call.name for call in refused or ()], **extra)

    def choices_cut(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                    arguments: Sequence[str]) -> None:
        """`arguments` of the calls that differ between `before` and `after` were cut to the choices named."""
        self._settled(ACTION_CHOICES_CUT, REASON_CHOICES_CUT, "tool call arguments cut to the choices named",
                      before, after, arguments)

    def arguments_dropped(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                          arguments: Sequence[str]) -> None:
        """Optional `arguments` nobody asked for, or undeclared ones, were dropped from the calls that differ
        in `before` and `after`."""
        self._settled(ACTION_ARGUMENTS_DROPPED, REASON_ARGUMENTS_DROPPED,
                      "tool call arguments nobody asked for dropped", before, after, arguments)

    def dates_reformatted(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                          arguments: Sequence[str]) -> None:
        """Date arguments were rewritten into the format their descriptions declare (`toolcall_formats`)."""
        self._settled(ACTION_DATES_REFORMATTED, REASON_DATES_REFORMATTED,
                      "tool call dates put in their declared format", before, after, arguments)

    def currencies_coded(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                         arguments: Sequence[str]) -> None:
        """Currency arguments holding a currency's name were given its code (`toolcall_formats`)."""
        self._settled(ACTION_CURRENCIES_CODED, REASON_CURRENCIES_CODED, "tool call currency names put as codes",
                      before, after, arguments)

    def states_added(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                     arguments: Sequence[str]) -> None:
        """Bare US cities were given the state their arguments' descriptions ask for (`toolcall_places`)."""
        self._settled(ACTION_STATES_ADDED, REASON_STATES_ADDED, "tool call cities given their states",
                      before, after, arguments)

    def values_bared(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                     arguments: Sequence[str]) -> None:
        """Values were cut to the thing itself: an equation to its expression, a restated argument name
        dropped (`toolcall_formats`)."""
        self._settled(ACTION_VALUES_BARED, REASON_VALUES_BARED, "tool call values cut to the thing itself",
                      before, after, arguments)

    def calls_fanned_out(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                         arguments: Sequence[str]) -> None:
        """Calls listing several values where their function takes one became a call per value (`toolcall_fanout`)."""
        _log.info("tool calls fanned out",
                  extra={"voxgate_tool_check": REASON_CALLS_FANNED_OUT, "model": self.model_id})
        split = list(dict.fromkeys(call.name for call in before if call not in after))
        self._note(ACTION_CALLS_FANNED_OUT, REASON_CALLS_FANNED_OUT, functions=split,
                   arguments=list(arguments), calls=len(after) - len(before))

    def rates_as_fractions(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                           arguments: Sequence[str]) -> None:
        """Rates the user gave as percentages were passed as fractions (`toolcall_rates`)."""
        self._settled(ACTION_RATES_AS_FRACTIONS, REASON_RATES_AS_FRACTIONS, "tool call rates passed as fractions",
                      before, after, arguments)

    def directions_swapped(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                           arguments: Sequence[str]) -> None:
        """A source and a target were swapped to the user's "from A to B" (`toolcall_direction`)."""
        self._settled(ACTION_DIRECTIONS_SWAPPED, REASON_DIRECTIONS_SWAPPED, "tool call source and target swapped",
                      before, after, arguments)

    def options_filled(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                       arguments: Sequence[str]) -> None:
        """Optional arguments left out were given the declared option the request names (`toolcall_options`)."""
        self._settled(ACTION_OPTIONS_FILLED, REASON_OPTIONS_FILLED, "tool call options the request names filled",
                      before, after, arguments)

    def quantities_read(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                        arguments: Sequence[str]) -> None:
        """Quantities written the user's way were passed as the functions take them (`toolcall_units`)."""
        self._settled(ACTION_QUANTITIES_READ, REASON_QUANTITIES_READ, "tool call quantities read as declared",
                      before, after, arguments)

    def flags_set(self, before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall],
                  arguments: Sequence[str]) -> None:
        """Yes/no arguments the request asks for were set true (`toolcall_flags`)."""
        self._settled(ACTION_FLAGS_SET, REASON_FLAGS_SET, "tool call flags the request asks for set", before, after,
                      arguments)

    def calls_dropped(self, dropped: Sequence[ParsedToolCall]) -> None:
        """`dropped` calls made up a second request (`toolcall_settle.without_made_up_requests`)."""
        _log.info("tool calls making up a second request dropped",
                  extra={"voxgate_tool_check": REASON_CALLS_DROPPED, "model": self.model_id})
        self._note(ACTION_CALLS_DROPPED, REASON_CALLS_DROPPED, functions=[call.name for call in dropped])

    def alternatives_dropped(self, dropped: Sequence[ParsedToolCall]) -> None:
        """`dropped` calls only repeated another call's values (`toolcall_alternatives`)."""
        _log.info("tool calls repeating another call's values dropped",
                  extra={"voxgate_tool_check": REASON_ALTERNATIVES_DROPPED, "model": self.model_id})
        self._note(ACTION_ALTERNATIVES_DROPPED, REASON_ALTERNATIVES_DROPPED, functions=[call.name for call in dropped])

    def _settled(self, action: str, reason: str, message: str, before: Sequence[ParsedToolCall],
                 after: Sequence[ParsedToolCall], arguments: Sequence[str]) -> None:
        """A settling step (`toolcall_settle`) changed `arguments` of the calls that differ in `before` and `after`."""
        _log.info(message, extra={"voxgate_tool_check": reason, "model": self.model_id})
        self._note(action, reason, functions=_changed(before, after), arguments=list(arguments))

    def continued(self, requests: int, added: Sequence[ParsedToolCall], strays: Sequence[ParsedToolCall] = ()) -> None:
        """The answer's calls were continued in `requests` upstream requests, which added `added`, and
        wrote `strays`, dropped (`ToolCallPlan.stray_additions`)."""
        _log.debug("tool calls continued: %d requests, %d calls added, %d dropped", requests, len(added),
                   len(strays), extra={"voxgate_tool_check": REASON_CONTINUED, "model": self.model_id})
        details: dict[str, object] = {"dropped": [call.name for call in strays]} if strays else {}
        self._note(ACTION_CONTINUED, REASON_CONTINUED, requests=requests, added=len(added),
                   functions=[call.name for call in added], **details)

    def described(self, name: str | None, made: bool, *, placeholders: bool = False, named: bool = False) -> None:
        """Words naming `name` (`toolcall_parser.described_functions`), or holding placeholders where values
        should be (`placeholders`; `name`: the function the call it then wrote named, if any), or answering
        a request that names `name` by its name's words (`named`), were asked for a call; `made`: kept."""
        if placeholders:
            reason = REASON_PLACEHOLDERS_MADE if made else REASON_PLACEHOLDERS_KEPT
        else:
            reason = REASON_DESCRIBED_MADE if made else REASON_DESCRIBED_KEPT
        _log.info("tool call described in words asked for",
                  extra={"voxgate_tool_check": reason, "model": self.model_id})
        details = {"placeholders": True} if placeholders else {"named_by_request": True} if named else {}
        self._note(ACTION_DESCRIBED_CALL, reason, functions=[name] if name else [], made=made, **details)

    def unknown_call_answered(self, unknown: int, *, made: bool, words: bool = False) -> None:
        """The answer wrote calls to `unknown` undeclared functions and was asked again (`toolcall_unknown`);
        `made`: the second answer called declared functions and replaced it; `words`: it did not, and the
        request was then asked without tools (no later stage could replace the answer). Counts only: the
        names are the model's."""
        _log.info("tool call to an undeclared function answered",
                  extra={"voxgate_tool_check": REASON_UNKNOWN_CALL, "model": self.model_id})
        details = {"words": True} if words else {}
        self._note(ACTION_UNKNOWN_CALL, REASON_UNKNOWN_CALL, unknown=unknown, made=made, **details)

    def call_repaired(self, names: list[str]) -> None:
        """The answer was no whole call list; the calls to `names` were kept from it (`toolcall_repair`)."""
        _log.info("tool calls kept from broken text", extra={"voxgate_tool_check": REASON_REPAIRED,
                                                             "model": self.model_id})
        self._note(ACTION_REPAIRED, REASON_REPAIRED, functions=names)

    def _note(self, action: str, reason: str, **details: object) -> None:
        self.notes.append({"model": self.model_id, "action": action, "reason": reason, **details})


def _changed(before: Sequence[ParsedToolCall], after: Sequence[ParsedToolCall]) -> list[str]:
    """The names of the calls a settling step replaced (`after[i] is not before[i]`)."""
    return [old.name for old, new in zip(before, after, strict=True) if old is not new]


def asked_for_in(notes: Sequence[JSONObject], model_id: str) -> tuple[str, ...]:
    """The arguments `model_id`'s last `asked_again_in_words` note among `notes` told it to ask the user
    for (`toolcall_missing`); () when it has none."""
    for note in reversed(notes):
        if note.get("model") == model_id and note.get("action") == ACTION_ASKED_AGAIN:
            asked = note.get("asked_for")
            return tuple(name for name in asked if isinstance(name, str)) if isinstance(asked, list) else ()
    return ()


def repaired_in(notes: Sequence[JSONObject], model_id: str) -> bool:
    """Whether `model_id`'s answer among `notes` was no whole call list and had calls kept from it (`call_repaired`)."""
    return any(note.get("model") == model_id and note.get("action") == ACTION_REPAIRED for note in notes)
