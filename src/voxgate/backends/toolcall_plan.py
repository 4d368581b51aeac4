"""The plan for one tool request to a model that writes tool calls as text (`toolcalls`). Pure.

    plan_request(body)              what to send upstream, which calls to recognise, how to ask again in words
    words_reason(plan, text, ...)   why an answer is to be asked again in words (a REASON_ constant), or None
    has_tool_turns(messages)        whether a conversation holds tool calls or results
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject

from .tool_prompt import content_text, render_tool_messages
from .tool_validation import answered_calls, loose_arguments, repeats_answered_calls
from .toolcall_grounding import fits_parameters, grounding_text, is_grounded, makes_up_another_request, takes_value
from .toolcall_parser import (
    ParsedToolCall,
    classify_tool_call_start,
    declared_functions,
    described_functions,
    forced_call_response_format,
    has_placeholders,
    parse_tool_calls,
    split_prose_and_calls,
)
from .toolcall_relevance import (
    asks_several_things,
    last_user_text,
    named_by_request,
    names_new_task,
    request_text,
    shares_topic,
    topic_words,
)
from .toolcall_stream import is_bare_reply, is_echo, is_refusal, reads_result_back

__all__ = [
    "REASON_OFF_TOPIC", "REASON_RESULT_UNUSED", "REASON_UNGROUNDED", "ToolCallPlan", "has_tool_turns",
    "plan_request", "without_tools", "words_reason",
]  # fmt: skip

_TOOL_KEYS = ("tools", "tool_choice", "parallel_tool_calls")
_ANSWER_IN_WORDS = "Using these results, answer my question in plain words."


@dataclass(frozen=True, slots=True)
class ToolCallPlan:
    """What to send upstream, which function names to recognise in the answer (None: none), and
    how many calls an answer may make (`parallel_tool_calls: false` -> 1)."""

    body: JSONObject
    declared: frozenset[str] | None
    max_calls: int | None = None
    words_body: JSONObject | None = None
    """After a tool result: the same conversation without signatures, to ask again in words."""
    answered: frozenset[tuple[str, str]] = frozenset()
    question: str | None = None
    """After a tool result: the user's last question, which an answer must not merely read back."""
    grounding: str | None = None
    """`tool_choice` auto: the conversation's text, which the calls' values are checked against."""
    functions: Mapping[str, JSONObject] = field(default_factory=dict)
    no_tools_body: JSONObject | None = None
    """`tool_choice` auto: the conversation without signatures, to ask again in words."""
    results: str | None = None
    """After a tool result: the results' text, of which a bare reply ("Yes.") names nothing."""
    user_text: str | None = None
    """`tool_choice` auto, no tool result being answered: what the user said, whose topic words
    (`toolcall_relevance`) a call's function must share; after a result, a further call may take its
    topic from the result, not from the user. Its words are found only when the check runs."""

    def calls_in(self, text: str, *, after_words: bool = True) -> list[ParsedToolCall] | None:
        """The calls `text` ends with: nothing but calls, or (with `after_words`) words and then
        calls (`split_prose_and_calls`); None when it has none or no functions are declared."""
        if self.declared is None:
            return None
        if not after_words:
            return parse_tool_calls(text, self.declared)
        found = split_prose_and_calls(text, self.declared)
        return found[1] if found is not None else None

    def is_ungrounded(self, text: str, *, after_words: bool = True) -> bool:
        """`tool_choice` auto: `text` is calls (after words too, with `after_words`), none with a
        value from the conversation."""
        grounding = self.grounding
        calls = self.calls_in(text, after_words=after_words) if grounding is not None else None
        return grounding is not None and calls is not None and not any(
            is_grounded(call, grounding, self.functions.get(call.name)) for call in calls)

    def is_off_topic(self, text: str, *, after_words: bool = True) -> bool:
        """`tool_choice` auto: `text` is calls (after words too, with `after_words`), none to a
        function sharing a topic word with the user's messages (`toolcall_relevance.shares_topic`)."""
        if self.user_text is None:
            return False
        calls = self.calls_in(text, after_words=after_words)
        if calls is None:
            return False
        words = topic_words(self.user_text)
        return not any(shares_topic(self.functions.get(call.name) or {}, words) for call in calls)

    def stray_additions(self, added: Sequence[ParsedToolCall], made: Sequence[ParsedToolCall]) -> list[ParsedToolCall]:
        """`tool_choice` auto: of the calls a continuation or a push `added` after those `made`, the ones
        to a function no earlier call used that take no value from the conversation, or (the user's
        request known) whose function shares no topic word with it, or that make up a required value
        while asking for nothing the earlier calls do not (`brings_new_value`): a model continuing its
        answer invents a second request (`sports_ranking(team: "Manchester United")` after an
        air-quality call for London; `windFarm_potential(coordinates, month, turbineCount: 10)` after the
        solar-farm call asked for, the same place and month, the turbines made up: BFCL multiple_15). On
        BFCL's right answers the first two refuse a later call in 1 of 200 parallel_multiple items, none
        of 200 parallel ones; the third in 1 of the 440 with two calls or more (parallel_multiple_87,
        whose `initial_velocity: 0.0` for "from rest" grounding reads as made up anyway)."""
        if self.grounding is None:
            return []
        words = topic_words(self.user_text) if self.user_text is not None else None
        used, kept, strays = {call.name for call in made}, list(made), []
        for call in added:
            function = self.functions.get(call.name) or {}
            if call.name not in used and (not takes_value(call, self.grounding, function) or (
                    words is not None and not shares_topic(function, words)) or (
                    makes_up_another_request(call, kept, self.grounding, function))):
                strays.append(call)
                continue
            used.add(call.name)
            kept.append(call)
        return strays

    def is_another_task(self, call: ParsedToolCall, made: Sequence[ParsedToolCall]) -> bool:
        """`tool_choice` auto, the user's request known: whether a call the model was pushed to write after
        those `made` asks for another task of the request's, though it brings no value they lack: the
        request asks for several things (`asks_several_things`), and the call is to a function none of
        them used, its arguments fitting it and taken from the conversation (`is_grounded`), whose name
        has a word the request has and their names lack (`names_new_task`): `kinematics_distance_traveled`
        with the same speeds and time after `kinematics_final_velocity`, for "... Also, compute the total
        distance covered" (BFCL parallel_multiple_8, the 0.5B). Without the first condition it also
        added `calculate_final_speed` to "the displacement of a car moving at an initial speed of 20 m/s"
        (multiple_4)."""
        function = self.functions.get(call.name)
        if self.grounding is None or self.user_text is None or function is None or any(
                earlier.name == call.name for earlier in made):
            return False
        return asks_several_things(self.user_text) and fits_parameters(call, function) and is_grounded(
            call, self.grounding, function) and names_new_task(call.name, [earlier.name for earlier in made],
                                                               topic_words(self.user_text))

    def described_function(self, text: str) -> str | None:
        """`tool_choice` auto, no tool result being answered: the first declared function that `text`,
        an answer in words without calls, names as code (`described_functions`); else None. Text
        that opens like a call (a call cut short, `{"name": "f", "arguments": {"items": [...`) is not words."""
        if not self._may_describe_calls(text):
            return None
        named = described_functions(text, self.declared or ())
        return named[0] if named else None

    def function_named(self, text: str) -> str | None:
        """`tool_choice` auto, no tool result being answered, the user's request known: the one declared
        function the request names by every word of its name (`named_by_request`), where `text` is words
        without calls and no question back to the user ("Which day?"); else None. The bundled models answer
        "What is the musical scale associated with C sharp major?" in words (wrongly) with `musical_scale`
        declared (BFCL multiple_169)."""
        if self.user_text is None or text.rstrip().endswith("?") or not self._may_describe_calls(text):
            return None
        return named_by_request(self.functions, topic_words(self.user_text))

    def fills_placeholders(self, text: str) -> bool:
        """`tool_choice` auto, no tool result being answered: whether `text`, an answer in words without
        calls, holds a placeholder where a value should be ("XXX PSI": `has_placeholders`)."""
        return self._may_describe_calls(text) and has_placeholders(text)

    def _may_describe_calls(self, text: str) -> bool:
        if self.grounding is None or self.declared is None or self.words_body is not None:
            return False
        return classify_tool_call_start(text) is False and split_prose_and_calls(text, self.declared) is None

    def fails_to_use_result(self, text: str) -> bool:
        """After a tool result: the answer repeats answered calls, reads JSON back, reads the question back,
        or says nothing of the results (`is_bare_reply`), or writes a `<tool_response>` block back, or is
        a stock refusal (`is_refusal`)."""
        if self.words_body is None or self.declared is None:
            return False
        return (repeats_answered_calls(text, self.declared, self.answered) or is_echo(text, self.question)
                or is_bare_reply(text, self.results) or reads_result_back(text, self.results)
                or is_refusal(text, self.results))


def plan_request(body: JSONObject) -> ToolCallPlan:
    """Decide how to send `body` to a model that writes tool calls as text. Pure.

    Raises InvalidRequestError when `tool_choice` names a function that `tools` does not declare.
    """
    functions = declared_functions(body.get("tools"))
    if not functions:
        if not has_tool_turns(body.get("messages")):
            return ToolCallPlan(body, None)
        return ToolCallPlan(_rendered(body, None), None)
    choice = body.get("tool_choice", "auto")
    if choice == "none":
        return ToolCallPlan(_rendered(body, None), None)
    max_calls = 1 if body.get("parallel_tool_calls", True) is False else None
    upstream = _rendered(body, body["tools"])
    if choice == "required":
        forced = list(functions.values())
    elif isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name not in functions:
            message = "`tool_choice` names a function that `tools` does not declare"
            raise InvalidRequestError(message, param="tool_choice")
        forced = [functions[name]]
    else:
        messages = body.get("messages")
        grounding, no_tools = grounding_text(messages), _rendered(body, None)
        if not _ends_with_tool_result(messages):
            return ToolCallPlan(upstream, frozenset(functions), max_calls, grounding=grounding, functions=functions,
                                no_tools_body=no_tools, user_text=request_text(messages))
        answered = frozenset((name, loose_arguments(json.loads(arguments))) for name, arguments in
                             answered_calls(messages))
        return ToolCallPlan(upstream, frozenset(functions), max_calls, _words_body(body), answered,
                            last_user_text(messages), grounding, functions, no_tools, _trailing_results(messages))
    upstream["response_format"] = forced_call_response_format(forced)
    return ToolCallPlan(upstream, frozenset(function["name"] for function in forced), max_calls)


def has_tool_turns(messages: object) -> bool:
    """Whether a conversation holds assistant tool calls or `tool` results."""
    return isinstance(messages, list) and any(
        isinstance(message, dict) and (message.get("role") == "tool" or bool(message.get("tool_calls")))
        for message in messages
    )


def _ends_with_tool_result(messages: object) -> bool:
    last = messages[-1] if isinstance(messages, list) and messages else None
    return isinstance(last, dict) and last.get("role") == "tool"


def _trailing_results(messages: object) -> str:
    """The text of the `tool` messages that end the conversation (the results being answered), as the
    model reads them (`tool_prompt.content_text`: a string, or its text parts)."""
    results: list[str] = []
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        results.append(content_text(message.get("content")))
    return "\n".join(reversed(results))


def _words_body(body: JSONObject) -> JSONObject:
    """The conversation without signatures, the results followed by a request to answer in words."""
    words = _rendered(body, None)
    last = words["messages"][-1]
    words["messages"][-1] = {**last, "content": f"{last['content']}\n\n{_ANSWER_IN_WORDS}"}
    return words


def _rendered(body: JSONObject, tools: Any) -> JSONObject:
    upstream = without_tools(body)
    messages = body.get("messages")
    upstream["messages"] = render_tool_messages(messages if isinstance(messages, list) else [], tools)
    return upstream


REASON_RESULT_UNUSED = "the answer after a tool result does not use it"
REASON_UNGROUNDED = "no call takes a value from the conversation"
REASON_OFF_TOPIC = "no call is to a function sharing a topic word with the request"


def words_reason(
    plan: ToolCallPlan, text: str, *, ground_calls: bool = True, check_relevance: bool = True,
    after_words: bool = True,
) -> str | None:
    """Why `text` is to be asked again in words (one of the REASON_ constants), or None to keep it;
    with `after_words`, calls that follow words are judged as calls alone are. Pure."""
    if plan.words_body is not None and plan.fails_to_use_result(text):
        return REASON_RESULT_UNUSED
    if ground_calls and plan.is_ungrounded(text, after_words=after_words):
        return REASON_UNGROUNDED
    if check_relevance and plan.is_off_topic(text, after_words=after_words):
        return REASON_OFF_TOPIC
    return None


def without_tools(body: JSONObject) -> JSONObject:
    """`body` without `tools`, `tool_choice` and `parallel_tool_calls`."""
    return {key: value for key, value in body.items() if key not in _TOOL_KEYS}
