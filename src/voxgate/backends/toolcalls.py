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
made do not (`toolcall_grounding.is_another_request`), or another task a request asking for several
things names (`ToolCallPlan.is_another_task`), and pushed again after each one kept. The calls go
back to the model without undeclared arguments, so it does not copy a made-up one into the next.
Words naming a declared function as code ("I would need to call the `legal_case_fetch` function
with ...": `toolcall_parser.described_functions`; `tool_choice` auto, no tool result being answered),
or answering a request that names one function by every word of its name (`musical_scale`:
`ToolCallPlan.function_named`), are asked for that call (`described_call_body`), words holding
placeholders ("XXX PSI") for any call (`placeholder_call_body`); a call that takes a value from the
conversation (and fits a named function's parameters) is made after described words, in place of the
others, and continued like any other (`make_described_calls=False`: off). Words followed by a fenced
example of the arguments count as words too. In a stream the words have gone out already, so the calls follow.
`parallel_tool_calls: false` skips all that and keeps only the first call; `continue_calls=False`
and `force_calls=False` (the `tools` settings) skip the continuation or the push for every
request. With `tool_choice` auto, an answer that is nothing but calls none of which takes a value
from the conversation (`toolcall_grounding.is_grounded`: a function that does not fit, its
arguments invented) is asked again without the tool signatures, so the model answers in words
(`ground_calls=False` turns that off); where a refused call took values from the request and made
up required ones, the words are asked to ask the user for those (`toolcall_missing`;
`ask_for_missing=False`: off); so is one whose calls are all to functions sharing no
topic word with the user's messages (`toolcall_relevance`; only with `check_relevance=True`). A list
argument holding every declared `enum` choice is cut to those the conversation names
(`toolcall_choices`; `trim_choices=False`; `tool_choice` auto only), and an optional argument the
conversation never asks for is dropped, so the function's default applies (`toolcall_optional`;
`drop_unasked_arguments=False`; `tool_choice` auto only). Each such change (and each
shortlist and continuation) is logged with its reason and noted in the request's decision record
(`toolcall_record`: counts, reasons and declared names, never text). The answer's `usage` counts
every upstream request made for it (the continuation, a first answer asked again in words), streamed
or not. Right after a tool result (`tool_choice`
auto), an answer that only repeats calls already answered, or is call-like text that is not a
call (the call again with the result echoed), is asked again once without the tool signatures,
so the model answers in words: small models do that otherwise (measured: qwen2.5-coder-0.5b).
An answer that writes calls only to functions the request does not declare (`move` where the tool
is `mv`) goes back to the model with a "no such function" `<tool_response>` error naming the declared
ones; a second answer that calls declared functions (in a stream, where the made-up call is held:
nothing but calls) is the answer. Else, where a later cascade stage may replace it (`core.escalation`),
the first stands for the stage's check to escalate; where none can, the request is asked again without
tools, so the client gets words (`toolcall_unknown`; `answer_unknown_calls=False`: off; `tool_choice` auto).
Streams are rewritten by `toolcall_stream.ToolCallStreamRewriter`. A request declaring more than
`shortlist` tools is first cut to the most relevant ones (`toolcall_shortlist`; recorded, counts only).
Calls followed by a broken one keep the whole ones; a call cut short inside a list that repeats itself
is closed after the list's last whole item (`toolcall_repair`; recorded; a cascade escalates them).
The plan for each request (what goes upstream, when to ask again in words) is `toolcall_plan`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from functools import partial

from voxgate.core.escalation import may_be_escalated
from voxgate.core.types import JSONObject, first_choice

from .base import ChatBackend
from .tool_prompt import tool_call_block
from .toolcall_completion import Settle, aclose_stream, first_content, rewrite_completion, with_usage
from .toolcall_continuation import (
    MAX_CALLS,
    add_usage,
    continuation_body,
    described_call_body,
    forced_call,
    forced_call_body,
    further_calls,
    merge_continuation,
    placeholder_call_body,
)
from .toolcall_grounding import fits_parameters, is_another_request, is_grounded
from .toolcall_missing import ask_for_missing
from .toolcall_optional import without_undeclared
from .toolcall_parser import ParsedToolCall, parse_tool_calls, split_prose_and_calls
from .toolcall_plan import (
    REASON_OFF_TOPIC,
    REASON_RESULT_UNUSED,
    REASON_UNGROUNDED,
    ToolCallPlan,
    has_tool_turns,
    plan_request,
    words_reason,
)
from .toolcall_record import REASON_CHOICES_CUT, ToolRecord
from .toolcall_relevance import shares_topic, topic_words
from .toolcall_repair import repaired_calls
from .toolcall_settle import settle_calls
from .toolcall_shortlist import shortlisted_body
from .toolcall_stream import ToolCallStreamRewriter, new_call_id
from .toolcall_unknown import UnknownCallAnswer, unknown_call_body, unknown_calls

__all__ = [
    "REASON_CHOICES_CUT", "REASON_OFF_TOPIC", "REASON_RESULT_UNUSED", "REASON_UNGROUNDED", "FencedToolCallAdapter",
    "ToolCallPlan", "ToolCallStreamRewriter", "has_tool_turns", "parse_tool_calls", "plan_request", "words_reason",
]  # fmt: skip

class FencedToolCallAdapter:
    """Wraps a ChatBackend whose model writes tool calls as text; presents native tool_calls."""

    def __init__(
        self, inner: ChatBackend, *, make_call_id: Callable[[], str] = new_call_id, continue_calls: bool = True,
        force_calls: bool = True, ground_calls: bool = True, check_relevance: bool = False, trim_choices: bool = True,
        shortlist: int = 0, make_described_calls: bool = True, drop_unasked_arguments: bool = True,
        ask_for_missing: bool = True, ground_calls_after_words: bool = True, answer_unknown_calls: bool = True,
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
        self._make_described_calls = make_described_calls
        self._drop_unasked_arguments = drop_unasked_arguments
        self._ask_for_missing = ask_for_missing
        self._after_words = ground_calls_after_words
        self._answer_unknown_calls = answer_unknown_calls

    async def complete(self, body: JSONObject) -> JSONObject:
        """Non-streaming call; text tool calls come back as `tool_calls`."""
        record = ToolRecord(self.model_id)
        plan = plan_request(self._shortlisted(body, record))
        escalates = may_be_escalated()
        plan, completion = await self._unknown_call_answered(plan, await self._inner.complete(plan.body), record,
                                                             escalates)
        text = first_content(completion)
        repaired = self._repaired(plan, text, record) if text is not None else None
        if repaired is not None:
            text = first_choice(completion)["message"]["content"] = repaired
        words_body = self._words_instead(plan, text, record) if text is not None else None
        if words_body is not None:
            words = await self._inner.complete(words_body)  # asked without tools: words
            add_usage(words, completion.get("usage"))
            return words
        if plan.declared is not None:
            described = await self._described_call(plan, text or "", record)
            if described is not None:
                add_usage(completion, described[1].get("usage"))
                if described[0] is not None:  # replaced words are dropped: the call gives the values
                    said = "" if described[2] else (text or "").rstrip()
                    text = f"{said}\n{tool_call_block(described[0].name, described[0].arguments)}".lstrip()
                    first_choice(completion)["message"]["content"] = text
            continued = await self._continuation(plan, plan.declared, text or "", record)
            further: list[ParsedToolCall] = []
            if continued is not None:
                for answer in continued[0]:
                    merge_continuation(completion, answer)
                further = continued[1]
            rewrite_completion(completion, plan.declared, self._make_call_id, plan.max_calls, further,
                               self._settler(plan, record))
        return completion

    def _words_instead(self, plan: ToolCallPlan, text: str, record: ToolRecord) -> JSONObject | None:
        """The request to ask again without tools when `text` fails to use a tool result, or (with
        `ground_calls`) is calls none of which takes a value from the conversation, or (with
        `check_relevance`) is calls none of which is to a function on the request's topic; else
        None. A refused call that took values from the request and made up required ones is asked for
        them instead (`toolcall_missing`; `ask_for_missing`). With `ground_calls_after_words`, calls
        that follow words are judged as calls alone are. The reason is recorded (`toolcall_record`:
        the reason, the refused calls' names and the arguments asked for, no text)."""
        reason = words_reason(plan, text, ground_calls=self._ground_calls, check_relevance=self._check_relevance,
                              after_words=self._after_words)
        if reason is None:
            return None
        refused = plan.calls_in(text, after_words=self._after_words)
        asking = ask_for_missing(plan.no_tools_body, refused, plan.functions, plan.grounding) if (
            self._ask_for_missing and reason == REASON_UNGROUNDED and plan.words_body is None) else None
        after_words = refused is not None and parse_tool_calls(text, plan.declared or ()) is None
        record.asked_again(reason, refused, asked_for=asking[1] if asking is not None else (), after_words=after_words)
        if asking is not None:
            return asking[0]
        return plan.words_body if reason == REASON_RESULT_UNUSED else plan.words_body or plan.no_tools_body

    async def _unknown_call_answered(
        self, plan: ToolCallPlan, completion: JSONObject, record: ToolRecord, escalates: bool
    ) -> tuple[ToolCallPlan, JSONObject]:
        """With `answer_unknown_calls` and `tool_choice` auto, when `completion` writes calls only to
        functions the request does not declare: the model is told there is no such function, once
        (`toolcall_unknown`; recorded); a second answer calling declared functions replaces the first,
        with the plan now holding that exchange. Else, where a later cascade stage may replace this answer
        (`escalates`), the first stands (the cascade escalates it); where none can, the request is asked
        again without tools, and the words answer."""
        text = first_content(completion)
        asked = await self._unknown_call_again(plan, text, record, calls_only=False,
                                               escalates=escalates) if text is not None else None
        if asked is None:
            return plan, completion
        if asked.made:
            add_usage(asked.again, completion.get("usage"))
            return replace(plan, body=asked.body), asked.again
        add_usage(completion, asked.again.get("usage"))
        if asked.words_body is None:
            return plan, completion
        words = await self._inner.complete(asked.words_body)
        add_usage(words, completion.get("usage"))
        return plan, words

    async def _unknown_call_again(
        self, plan: ToolCallPlan, text: str, record: ToolRecord, *, calls_only: bool, escalates: bool
    ) -> UnknownCallAnswer | None:
        """When `text` writes calls only to undeclared functions (`answer_unknown_calls`, `tool_choice` auto):
        the "no such function" exchange's outcome (`UnknownCallAnswer`; made: the second answer calls declared
        functions, one on the request's topic (`toolcall_unknown`), nothing but calls when `calls_only`; words
        asked for where nothing can replace the answer: not `escalates`); recorded. None when no such call."""
        if not self._answer_unknown_calls or plan.declared is None or plan.grounding is None:
            return None
        unknown = unknown_calls(text, plan.declared)
        if not unknown:
            return None
        body_again = unknown_call_body(plan.body, text, unknown, plan.declared)
        again = await self._inner.complete(body_again)
        again_text = first_content(again) or ""
        made = (parse_tool_calls(again_text, plan.declared) if calls_only else split_prose_and_calls(
            again_text, plan.declared)) is not None and not plan.is_off_topic(again_text, after_words=not calls_only)
        words_body = None if made or escalates else plan.no_tools_body
        record.unknown_call_answered(len(unknown), made=made, words=words_body is not None)
        return UnknownCallAnswer(body_again, again, made, words_body)

    def _repaired(self, plan: ToolCallPlan, text: str, record: ToolRecord) -> str | None:
        """When `text` opens as calls but is no whole call list (`toolcall_repair`): the calls kept, as
        `<tool_call>` blocks (recorded); else None."""
        calls = repaired_calls(text, plan.declared) if plan.declared is not None else []
        if calls:
            record.call_repaired([call.name for call in calls])
        return "\n".join(tool_call_block(call.name, call.arguments) for call in calls) or None

    def _shortlisted(self, body: JSONObject, record: ToolRecord) -> JSONObject:
        """`body` with its tools cut to the `shortlist` most relevant (`toolcall_shortlist`); recorded (counts)."""
        shortlisted, shortlist = shortlisted_body(body, self._shortlist)
        record.shortlisted(shortlist)
        return shortlisted

    def _settler(self, plan: ToolCallPlan, record: ToolRecord) -> Settle | None:
        """With `tool_choice` auto: the answer's calls settled before they go out (`toolcall_settle`: lists
        cut, dates in their declared format, currency codes, left-out options the request names filled with
        `trim_choices`; made-up second requests, unasked optional and undeclared arguments dropped with
        `drop_unasked_arguments`); recorded."""
        if plan.grounding is None or not (self._trim_choices or self._drop_unasked_arguments):
            return None
        return partial(settle_calls, functions=plan.functions, text=plan.grounding, record=record,
                       trim_choices=self._trim_choices, drop_unasked_arguments=self._drop_unasked_arguments,
                       request=plan.user_text, fan_out=plan.max_calls is None)

    def stream(self, body: JSONObject) -> AsyncIterator[JSONObject]:
        """Streaming call; without tools this is the inner backend's stream itself (no overhead). The
        record is opened here, at the call, not when the stream is first read (`core.tool_notes`)."""
        record = ToolRecord(self.model_id)
        plan = plan_request(self._shortlisted(body, record))
        if plan.declared is None:
            return self._inner.stream(plan.body)
        return self._rewrite_stream(plan, plan.declared, record, may_be_escalated())

    async def aclose(self) -> None:
        """Close the wrapped backend."""
        await self._inner.aclose()

    async def _described_call(
        self, plan: ToolCallPlan, text: str, record: ToolRecord
    ) -> tuple[ParsedToolCall | None, JSONObject, bool] | None:
        """When `text` is words naming a declared function as code, or holding placeholders where values
        should be, or answering a request that names one function by its name's words (module docstring):
        the call the model writes when its answer is started as that call (as any call, for placeholders,
        whose function must also share a topic word with the request: `toolcall_relevance`; None unless
        it takes a value from the conversation, and for a named function fits its parameters; recorded
        either way), the completion that wrote it, and whether the call replaces the words; else None."""
        if not self._make_described_calls or plan.declared is None or plan.grounding is None:
            return None
        name = plan.described_function(text)
        placeholders = name is None and plan.fills_placeholders(text)
        named = plan.function_named(text) if name is None and not placeholders else None
        asked = name or named
        if asked is None and not placeholders:
            return None
        sent = described_call_body(plan.body, asked) if asked is not None else placeholder_call_body(plan.body)
        answer = await self._inner.complete(sent)
        call = forced_call(sent, first_content(answer) or "", (), plan.declared)
        function = plan.functions.get(call.name) if call is not None else None
        made = call is not None and function is not None and is_grounded(call, plan.grounding, function) and (
            not placeholders or shares_topic(function, topic_words(plan.user_text or ""))) and (
            named is None or fits_parameters(call, function))
        record.described(asked or (call.name if call else None), made, placeholders=placeholders,
                         named=named is not None)
        return (call if made else None), answer, placeholders or named is not None

    async def _continuation(
        self, plan: ToolCallPlan, declared: frozenset[str], text: str, record: ToolRecord
    ) -> tuple[list[JSONObject], list[ParsedToolCall]] | None:
        """When `text` is made of calls and may be continued (module docstring): the continuations'
        completions and the calls they add (recorded); else None, and nothing is sent."""
        if not self._continue_calls or plan.max_calls is not None:
            return None
        found = split_prose_and_calls(text, declared)
        if found is None:
            return None
        made = without_undeclared(found[1], plan.functions)  # a made-up argument is not copied on
        answers = [await self._inner.complete(continuation_body(plan.body, made))]
        further = further_calls(first_content(answers[0]) or "", made, declared,
                                partial(without_undeclared, functions=plan.functions))
        if not further and self._force_calls:
            further = await self._forced_calls(plan, declared, made, answers)
        strays = plan.stray_additions(further, made)
        further = [call for call in further if call not in strays]
        record.continued(len(answers), further, strays)
        return answers, further

    async def _forced_calls(
        self, plan: ToolCallPlan, declared: frozenset[str], made: list[ParsedToolCall], answers: list[JSONObject]
    ) -> list[ParsedToolCall]:
        """The calls the model writes when pushed for one more (`toolcall_continuation`), one at a
        time while each asks for something new (`is_another_request`, or another task: `is_another_task`);
        every answer lands in `answers`."""
        added: list[ParsedToolCall] = []
        while plan.grounding is not None and len(made) + len(added) < MAX_CALLS:
            sent = forced_call_body(plan.body, [*made, *added])
            answers.append(await self._inner.complete(sent))
            call = forced_call(sent, first_content(answers[-1]) or "", [*made, *added], declared)
            call = without_undeclared([call], plan.functions)[0] if call is not None else None
            if call is None or not (is_another_request(call, [*made, *added], plan.functions, plan.grounding)
                                    or plan.is_another_task(call, [*made, *added])):
                break
            added.append(call)
        return added

    async def _rewrite_stream(
        self, plan: ToolCallPlan, declared: frozenset[str], record: ToolRecord, escalates: bool
    ) -> AsyncIterator[JSONObject]:
        rewriter = ToolCallStreamRewriter(declared, self._make_call_id, plan.max_calls, plan.question,
                                          plan.results)
        upstream = self._inner.stream(plan.body)
        usage: object = None  # the first answer's, counted again if it is asked again in words
        try:
            async for chunk in upstream:
                usage = chunk.get("usage") or usage
                for out in rewriter.feed(chunk):
                    yield out
        finally:
            await aclose_stream(upstream)
        held = rewriter.held_text()
        asked = await self._unknown_call_again(plan, held, record, calls_only=True,
                                               escalates=escalates) if held is not None else None
        answers = [asked.again] if asked is not None else []  # counted whether its calls are used or not
        if asked is not None and asked.made:  # nothing went out yet: the second answer's calls replace the held text
            plan, held = replace(plan, body=asked.body), rewriter.replace_held_text(first_content(asked.again) or "")
        repaired = self._repaired(plan, held, record) if held is not None and asked is None else None
        held = rewriter.replace_held_text(repaired) if repaired is not None else held
        judged = held if held is not None else rewriter.calls_after_prose()
        words_body = asked.words_body if asked is not None and asked.words_body is not None else (
            self._words_instead(plan, judged, record) if judged is not None else None)
        if words_body is not None:  # after prose that went out, the words follow it
            for answer in answers:
                usage = with_usage(usage, answer.get("usage"))
            async for out in self._words_stream(words_body, usage, None if held is not None else rewriter):
                yield out
            return
        said = (rewriter.prose_text() or rewriter.words_text()) if held is None else None
        described = await self._described_call(plan, said, record) if said is not None else None
        further: list[ParsedToolCall] = []
        answers += [described[1]] if described is not None else []
        if described is not None and described[0] is not None:
            held = f"{said}\n{tool_call_block(described[0].name, described[0].arguments)}"
            further.append(described[0])
        continued = await self._continuation(plan, declared, held, record) if held is not None else None
        if continued is not None:
            further, answers = [*further, *continued[1]], [*answers, *continued[0]]
        for out in rewriter.finish(further, self._settler(plan, record)):
            for answer in answers:
                add_usage(out, answer.get("usage"))
            yield out

    async def _words_stream(
        self, words_body: JSONObject, first_usage: object, after_prose: ToolCallStreamRewriter | None = None
    ) -> AsyncIterator[JSONObject]:
        """The answer asked again without tools, its usage counting the first answer's too; after
        prose that went out (`after_prose`, whose calls were refused) as that answer's continuation."""
        again = self._inner.stream(words_body)
        try:
            async for chunk in again:
                add_usage(chunk, first_usage)
                yield chunk if after_prose is None else after_prose.continuing(chunk)
        finally:
            await aclose_stream(again)
