"""FencedToolCallAdapter: native OpenAI tool use for models that write tool calls as text.

For cards with `tool_call_style == ToolCallStyle.FENCED_JSON` (the Qwen2.5-Coder GGUFs). The
conversation goes upstream as plain text in Qwen2.5's own conventions (`tool_prompt`): the tool
signatures in the system turn, earlier calls as `<tool_call>` blocks, results as
`<tool_response>` blocks in a user turn; `tools` itself is never sent. Then, by `tool_choice`:

    no tools            pass through untouched (a history with tool turns is still rendered)
    "none"              no signatures; the model answers in words
    "auto" (default)    answer text that is calls to declared functions -> tool_calls (prose
                        before the calls stays as `content`, in streams too)
    "required"          also a JSON-schema `response_format` allowing any one declared call,
                        which llama.cpp enforces as a grammar; convert the answer
    {"function": X}     the same with a schema allowing only X

An answer that is calls is continued once (`toolcall_continuation`): the model is given its calls
back as the start of its answer and may add the ones it left out (the bundled models write one
call where a request needs several); repeats are dropped. Where that adds none (`tool_choice`
auto), the model is pushed to write one more call, kept only if it asks for something the calls
made do not (`toolcall_grounding.is_another_request`), and pushed again after each one kept.
`parallel_tool_calls: false` skips all that and keeps only the first call; `continue_calls=False`
and `force_calls=False` (the `tools` settings) skip the continuation or the push for every
request. With `tool_choice` auto, an answer that is nothing but calls none of which takes a value
from the conversation (`toolcall_grounding.is_grounded`: a function that does not fit, its
arguments invented) is asked again without the tool signatures, so the model answers in words
(`ground_calls=False` turns that off); so is one whose calls are all to functions sharing no
topic word with the user's messages (`toolcall_relevance`; only with `check_relevance=True`). A list
argument holding every declared `enum` choice is cut to those the conversation names
(`toolcall_choices`; `trim_choices=False`; `tool_choice` auto only). Each such change is logged
with its reason. The answer's `usage` counts every upstream request made for it (the
continuation, a first answer asked again in words), streamed or not. Right after a tool result (`tool_choice`
auto), an answer that only repeats calls already answered, or is call-like text that is not a
call (the call again with the result echoed), is asked again once without the tool signatures,
so the model answers in words: small models do that otherwise (measured: qwen2.5-coder-0.5b).
Streams are rewritten by `toolcall_stream.ToolCallStreamRewriter`. A request declaring more than
`shortlist` tools is first cut to the most relevant ones (`toolcall_shortlist`; logged, counts only).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject

from .base import ChatBackend
from .tool_prompt import content_text, render_tool_messages
from .tool_validation import answered_calls, loose_arguments, repeats_answered_calls
from .toolcall_choices import settled_calls
from .toolcall_continuation import (
    MAX_CALLS,
    add_usage,
    continuation_body,
    forced_call,
    forced_call_body,
    further_calls,
    merge_continuation,
)
from .toolcall_grounding import grounding_text, is_another_request, is_grounded
from .toolcall_parser import (
    ParsedToolCall,
    declared_functions,
    forced_call_response_format,
    parse_tool_calls,
    split_prose_and_calls,
)
from .toolcall_relevance import request_text, shares_topic, topic_words
from .toolcall_shortlist import shortlisted_body
from .toolcall_stream import ToolCallStreamRewriter, is_echo, new_call_id, tool_call_object

__all__ = ["FencedToolCallAdapter", "ToolCallPlan", "ToolCallStreamRewriter", "parse_tool_calls", "plan_request"]

_log = logging.getLogger("voxgate.tool_calls")
Settle = Callable[[list[ParsedToolCall]], list[ParsedToolCall]]
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
    user_text: str | None = None
    """`tool_choice` auto, no tool result being answered: what the user said, whose topic words
    (`toolcall_relevance`) a call's function must share; after a result, a further call may take its
    topic from the result, not from the user. Its words are found only when the check runs."""

    def is_ungrounded(self, text: str) -> bool:
        """`tool_choice` auto: `text` is nothing but calls, none with a value from the conversation."""
        if self.grounding is None or self.declared is None:
            return False
        calls = parse_tool_calls(text, self.declared)
        return calls is not None and not any(
            is_grounded(call, self.grounding, self.functions.get(call.name)) for call in calls)

    def is_off_topic(self, text: str) -> bool:
        """`tool_choice` auto: `text` is nothing but calls, none to a function sharing a topic word
        with the user's messages (`toolcall_relevance.shares_topic`)."""
        if self.user_text is None or self.declared is None:
            return False
        calls = parse_tool_calls(text, self.declared)
        if calls is None:
            return False
        words = topic_words(self.user_text)
        return not any(shares_topic(self.functions.get(call.name) or {}, words) for call in calls)

    def fails_to_use_result(self, text: str) -> bool:
        """After a tool result: the answer repeats answered calls, reads JSON back, or reads the question back."""
        if self.words_body is None or self.declared is None:
            return False
        return repeats_answered_calls(text, self.declared, self.answered) or is_echo(text, self.question)


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
                            _last_user_text(messages), grounding, functions, no_tools)
    upstream["response_format"] = forced_call_response_format(forced)
    return ToolCallPlan(upstream, frozenset(function["name"] for function in forced), max_calls)


def has_tool_turns(messages: object) -> bool:
    """Whether a conversation holds assistant tool calls or `tool` results."""
    return isinstance(messages, list) and any(
        isinstance(message, dict) and (message.get("role") == "tool" or bool(message.get("tool_calls")))
        for message in messages
    )


def _last_user_text(messages: object) -> str | None:
    """The text of the last user message, as the model is shown it (`content_text`); None if empty."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content")).strip() or None
    return None


def _ends_with_tool_result(messages: object) -> bool:
    last = messages[-1] if isinstance(messages, list) and messages else None
    return isinstance(last, dict) and last.get("role") == "tool"


def _words_body(body: JSONObject) -> JSONObject:
    """The conversation without signatures, the results followed by a request to answer in words."""
    words = _rendered(body, None)
    last = words["messages"][-1]
    words["messages"][-1] = {**last, "content": f"{last['content']}\n\n{_ANSWER_IN_WORDS}"}
    return words


def _rendered(body: JSONObject, tools: Any) -> JSONObject:
    upstream = _without_tools(body)
    messages = body.get("messages")
    upstream["messages"] = render_tool_messages(messages if isinstance(messages, list) else [], tools)
    return upstream


def rewrite_completion(
    completion: JSONObject, declared: Collection[str], make_id: Callable[[], str], max_calls: int | None = None,
    further: Sequence[ParsedToolCall] = (), settle: Settle | None = None,
) -> None:
    """In place: turn each choice whose text is (prose and then) calls to declared functions into
    tool_calls, at most `max_calls` of them, the first choice's followed by `further` calls, each
    choice's calls passed through `settle`; the prose stays as `content`."""
    choices = completion.get("choices")
    for position, choice in enumerate(choices if isinstance(choices, list) else ()):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or message.get("tool_calls"):
            continue
        content = message.get("content")
        found = split_prose_and_calls(content, declared) if isinstance(content, str) else None
        if found is None:
            continue
        prose, calls = found[0], [*found[1], *(further if position == 0 else ())][:max_calls]
        calls = settle(calls) if settle is not None else calls
        message["content"] = prose or None
        message["tool_calls"] = [tool_call_object(call, make_id()) for call in calls]
        choice["finish_reason"] = "tool_calls"


class FencedToolCallAdapter:
    """Wraps a ChatBackend whose model writes tool calls as text; presents native tool_calls."""

    def __init__(
        self, inner: ChatBackend, *, make_call_id: Callable[[], str] = new_call_id, continue_calls: bool = True,
        force_calls: bool = True, ground_calls: bool = True, check_relevance: bool = False, trim_choices: bool = True,
        shortlist: int = 0,
    ) -> None:
        self.model_id = inner.model_id
        self._inner = inner
        self._make_call_id = make_call_id
        self._continue_calls = continue_calls
        self._force_calls = force_calls
        self._ground_calls = ground_calls
        self._check_relevance = check_relevance
        self._trim_choices = trim_choices
        self._shortlist = shortlist

    async def complete(self, body: JSONObject) -> JSONObject:
        """Non-streaming call; text tool calls come back as `tool_calls`."""
        plan = plan_request(self._shortlisted(body))
        completion = await self._inner.complete(plan.body)
        text = _first_content(completion)
        words_body = self._words_instead(plan, text) if text is not None else None
        if words_body is not None:
            words = await self._inner.complete(words_body)  # asked without tools: words
            add_usage(words, completion.get("usage"))
            return words
        if plan.declared is not None:
            continued = await self._continuation(plan, plan.declared, text or "")
            further: list[ParsedToolCall] = []
            if continued is not None:
                for answer in continued[0]:
                    merge_continuation(completion, answer)
                further = continued[1]
            rewrite_completion(completion, plan.declared, self._make_call_id, plan.max_calls, further,
                               self._settler(plan))
        return completion

    def _words_instead(self, plan: ToolCallPlan, text: str) -> JSONObject | None:
        """The request to ask again without tools when `text` fails to use a tool result, or (with
        `ground_calls`) is calls none of which takes a value from the conversation, or (with
        `check_relevance`) is calls none of which is to a function on the request's topic; else
        None. The reason is logged (`voxgate.tool_calls`, the reason alone: no text of the request)."""
        reason = words_reason(plan, text, ground_calls=self._ground_calls, check_relevance=self._check_relevance)
        if reason is None:
            return None
        _log.info("tool answer asked again in words", extra={"voxgate_tool_check": reason, "model": self.model_id})
        return plan.words_body if reason == REASON_RESULT_UNUSED else plan.words_body or plan.no_tools_body

    def _shortlisted(self, body: JSONObject) -> JSONObject:
        """`body` with its tools cut to the `shortlist` most relevant (`toolcall_shortlist`); logged (counts)."""
        shortlisted, shortlist = shortlisted_body(body, self._shortlist)
        if shortlist.reason is not None:
            kept = len(shortlist.tools)
            _log.info("tool list shortlisted: %d of %d kept", kept, kept + shortlist.dropped,
                      extra={"voxgate_tool_check": shortlist.reason, "model": self.model_id,
                             "voxgate_tools_kept": kept, "voxgate_tools_dropped": shortlist.dropped})
        return shortlisted

    def _settler(self, plan: ToolCallPlan) -> Settle | None:
        """With `trim_choices` and `tool_choice` auto: the answer's calls with each list argument that
        holds every declared choice cut to those the conversation names (`toolcall_choices`); logged."""
        if not self._trim_choices or plan.grounding is None:
            return None
        text, functions = plan.grounding, plan.functions

        def settle(calls: list[ParsedToolCall]) -> list[ParsedToolCall]:
            settled, cut = settled_calls(calls, functions, text)
            if cut:
                _log.info("tool call arguments cut to the choices named",
                          extra={"voxgate_tool_check": REASON_CHOICES_CUT, "model": self.model_id})
            return settled

        return settle

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Streaming call; without tools this is the inner backend's stream itself (no overhead)."""
        plan = plan_request(self._shortlisted(body))
        if plan.declared is None:
            return self._inner.stream(plan.body)
        return self._rewrite_stream(plan, plan.declared)

    async def aclose(self) -> None:
        """Close the wrapped backend."""
        await self._inner.aclose()

    async def _continuation(
        self, plan: ToolCallPlan, declared: frozenset[str], text: str
    ) -> tuple[list[JSONObject], list[ParsedToolCall]] | None:
        """When `text` is made of calls and may be continued (module docstring): the continuations'
        completions and the calls they add; else None, and nothing is sent."""
        if not self._continue_calls or plan.max_calls is not None:
            return None
        found = split_prose_and_calls(text, declared)
        if found is None:
            return None
        answers = [await self._inner.complete(continuation_body(plan.body, found[1]))]
        further = further_calls(_first_content(answers[0]) or "", found[1], declared)
        if not further and self._force_calls:
            further = await self._forced_calls(plan, declared, found[1], answers)
        return answers, further

    async def _forced_calls(
        self, plan: ToolCallPlan, declared: frozenset[str], made: list[ParsedToolCall], answers: list[JSONObject]
    ) -> list[ParsedToolCall]:
        """The calls the model writes when pushed for one more (`toolcall_continuation`), one at a
        time while each asks for something new (`is_another_request`); every answer lands in `answers`."""
        added: list[ParsedToolCall] = []
        while plan.grounding is not None and len(made) + len(added) < MAX_CALLS:
            sent = forced_call_body(plan.body, [*made, *added])
            answers.append(await self._inner.complete(sent))
            call = forced_call(sent, _first_content(answers[-1]) or "", [*made, *added], declared)
            if call is None or not is_another_request(call, [*made, *added], plan.functions, plan.grounding):
                break
            added.append(call)
        return added

    async def _rewrite_stream(self, plan: ToolCallPlan, declared: frozenset[str]) -> AsyncIterator[JSONObject]:
        rewriter = ToolCallStreamRewriter(declared, self._make_call_id, plan.max_calls, plan.question)
        upstream = self._inner.stream(plan.body)
        usage: object = None  # the first answer's, counted again if it is asked again in words
        try:
            async for chunk in upstream:
                usage = chunk.get("usage") or usage
                for out in rewriter.feed(chunk):
                    yield out
        finally:
            await _aclose(upstream)
        held = rewriter.held_text()
        words_body = self._words_instead(plan, held) if held is not None else None
        if words_body is not None:
            async for out in self._words_stream(words_body, usage):
                yield out
            return
        continued = await self._continuation(plan, declared, held) if held is not None else None
        for out in rewriter.finish(continued[1] if continued is not None else (), self._settler(plan)):
            for answer in continued[0] if continued is not None else ():
                add_usage(out, answer.get("usage"))
            yield out

    async def _words_stream(self, words_body: JSONObject, first_usage: object) -> AsyncIterator[JSONObject]:
        """The answer asked again without tools, its usage counting the first answer's too."""
        again = self._inner.stream(words_body)
        try:
            async for chunk in again:
                add_usage(chunk, first_usage)
                yield chunk
        finally:
            await _aclose(again)


REASON_RESULT_UNUSED = "the answer after a tool result does not use it"
REASON_UNGROUNDED = "no call takes a value from the conversation"
REASON_OFF_TOPIC = "no call is to a function sharing a topic word with the request"
REASON_CHOICES_CUT = "a list argument holding every declared choice was cut to those the conversation names"


def words_reason(
    plan: ToolCallPlan, text: str, *, ground_calls: bool = True, check_relevance: bool = True
) -> str | None:
    """Why `text` is to be asked again in words (one of the REASON_ constants), or None to keep it. Pure."""
    if plan.words_body is not None and plan.fails_to_use_result(text):
        return REASON_RESULT_UNUSED
    if ground_calls and plan.is_ungrounded(text):
        return REASON_UNGROUNDED
    if check_relevance and plan.is_off_topic(text):
        return REASON_OFF_TOPIC
    return None


def _without_tools(body: JSONObject) -> JSONObject:
    return {key: value for key, value in body.items() if key not in _TOOL_KEYS}


def _first_content(completion: JSONObject) -> str | None:
    choices = completion.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


async def _aclose(iterator: AsyncIterator[JSONObject]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
