"""Calling the plan: try the chosen model, fall back on retryable failures, record every attempt.

Fallback happens only before anything has been streamed to the client. After the first
chunk, a failure ends the stream with an OpenAI-style error chunk.

A stream whose upstream sends no usage chunk (or that ends early: cancelled, failed) still gets
a usage, estimated from the prompt and the text relayed, and marked `"estimated": true`, so
spend and budgets count it.

With `record_answers` (and content logging on: the decision has `content`), every answer the
dispatcher gets is kept in the decision's content for `voxgate outcomes` (see `answer_record`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import anyio
from opentelemetry.trace import NoOpTracer, Span, Tracer

from voxgate.backends.base import ChatBackend
from voxgate.core.clock import Clock
from voxgate.core.errors import AllBackendsFailedError, BackendError, BackendProtocolError
from voxgate.core.tool_notes import noting_tools
from voxgate.core.types import ChatRequest, JSONObject, ModelCard, Usage
from voxgate.routing.answer_record import answer_entry, keep_answer, settle_answer
from voxgate.routing.breaker import CircuitBreakers
from voxgate.routing.decision import Attempt, Decision, DecisionLog
from voxgate.routing.features import estimate_tokens
from voxgate.routing.stats import LatencyStats
from voxgate.routing.tracing import AttemptSpans

DecisionObserver = Callable[[Decision], None]


def _error_chunk(exc: BackendError) -> JSONObject:
    return {
        "error": {
            "message": f"the model failed after the response started: {exc.message}",
            "type": "server_error",
            "param": None,
            "code": "upstream_stream_failed",
        }
    }


class Dispatcher:
    """Executes decisions against backends; keeps latency stats and circuit breakers current."""

    def __init__(
        self,
        backends: Mapping[str, ChatBackend],
        cards: Sequence[ModelCard],
        stats: LatencyStats,
        breakers: CircuitBreakers,
        decision_log: DecisionLog,
        clock: Clock,
        observers: Sequence[DecisionObserver] = (),
        tracer: Tracer | None = None,
        *,
        record_answers: bool = False,
    ) -> None:
        self._backends = backends
        self._cards = {c.id: c for c in cards}
        self._stats = stats
        self._breakers = breakers
        self._log = decision_log
        self._clock = clock
        self._observers = observers
        self._spans = AttemptSpans(tracer or NoOpTracer(), cards)
        self._record_answers = record_answers
        self._streaming: dict[str, Decision] = {}
        """Streams being relayed, by decision id: `end_open_streams` records them at shutdown."""

    def _plan(self, decision: Decision) -> list[str]:
        return [m for m in [decision.chosen, *decision.fallback_plan] if m is not None]

    def _fail(self, decision: Decision, model_id: str, started_s: float, exc: BackendError) -> None:
        latency_ms = (self._clock.monotonic_s() - started_s) * 1000
        decision.attempts.append(
            Attempt(model_id, "error", round(latency_ms, 1), error=exc.message, retryable=exc.retryable)
        )
        self._breakers.record_failure(model_id)

    def _cancel(self, decision: Decision, model_id: str, started_s: float, reason: str) -> None:
        """Cancelled before an answer (the caller left, a voice barge-in): still one recorded decision."""
        elapsed_ms = (self._clock.monotonic_s() - started_s) * 1000
        decision.attempts.append(Attempt(model_id, "cancelled", round(elapsed_ms, 1), error=reason))
        self.finish(decision, "cancelled")

    def _skip_open(self, decision: Decision, model_id: str) -> bool:
        reason = self._breakers.open_reason(model_id)
        if reason is not None and decision.attempts:
            decision.attempts.append(Attempt(model_id, "skipped", 0.0, error=reason))
            return True
        return False

    def _keep(self, decision: Decision, entry: JSONObject) -> None:
        """Record an answer in the decision's content (opted in, content logged); see `answer_record`."""
        if self._record_answers and decision.content is not None:
            keep_answer(decision.content, entry)

    def unavailable(self, model_id: str) -> str | None:
        """Why `model_id` is not to be called now (its circuit is open); None when it may be."""
        return self._breakers.open_reason(model_id)

    async def call_model(self, model_id: str, body: JSONObject, decision: Decision) -> JSONObject:
        """One non-streaming call to one model, recorded as an attempt; raises its BackendError.

        The cascade runner calls stages this way; the decision stays open (see `finish`).
        """
        started_s = self._clock.monotonic_s()
        span = self._spans.start(model_id, decision)
        try:
            with noting_tools(decision.tools):
                response = await self._backends[model_id].complete(body)
        except BackendError as exc:
            self._fail(decision, model_id, started_s, exc)
            self._spans.end(span, decision, type(exc).__name__)
            raise
        except anyio.get_cancelled_exc_class():
            elapsed_ms = round((self._clock.monotonic_s() - started_s) * 1000, 1)
            decision.attempts.append(Attempt(model_id, "cancelled", elapsed_ms, error="client closed the request"))
            self._spans.end(span, decision)
            raise
        self._succeed(decision, model_id, started_s, None, Usage.from_payload(response))
        self._spans.end(span, decision)
        self._observe_timings(model_id, response)
        self._keep(decision, answer_entry(model_id, response))
        response["model"] = model_id
        return response

    def finish(self, decision: Decision, outcome: str) -> None:
        """Close the record: outcome, cost (a cascade's: every stage's); hand it to the log and observers."""
        decision.outcome = outcome
        if decision.content is not None:
            settle_answer(decision.content, decision.answered_by)
        if decision.cascade is not None:
            decision.cost_usd = float(decision.cascade.get("cost_usd") or 0.0)
        elif decision.answered_by and decision.usage:
            card = self._cards[decision.answered_by]
            decision.cost_usd = card.price.cost_usd(
                decision.usage["prompt_tokens"], decision.usage["completion_tokens"]
            )
        self._log.record(decision.to_dict())
        for observe in self._observers:
            observe(decision)

    def _succeed(
        self, decision: Decision, model_id: str, started_s: float, ttft_s: float | None,
        usage: tuple[int, int] | None,
    ) -> None:
        now_s = self._clock.monotonic_s()
        ttft_ms = None if ttft_s is None else round((ttft_s - started_s) * 1000, 1)
        decision.attempts.append(Attempt(model_id, "ok", round((now_s - started_s) * 1000, 1), ttft_ms))
        decision.answered_by = model_id
        self._breakers.record_success(model_id)
        if usage is not None:
            decision.usage = {"prompt_tokens": usage[0], "completion_tokens": usage[1]}
            if ttft_s is not None and usage[1] > 1 and now_s > ttft_s:
                self._stats.observe(model_id, ttft_ms or 0.0, (usage[1] - 1) / (now_s - ttft_s))

    async def complete(self, request: ChatRequest, decision: Decision) -> JSONObject:
        """Non-streaming call with fallback. Raises the last error when every model failed."""
        for model_id in self._plan(decision):
            if self._skip_open(decision, model_id):
                continue
            started_s = self._clock.monotonic_s()
            span = self._spans.start(model_id, decision)
            try:
                with noting_tools(decision.tools):
                    response = await self._backends[model_id].complete(request.body)
            except anyio.get_cancelled_exc_class():
                self._cancel(decision, model_id, started_s, "client closed the request")
                self._spans.end(span, decision)
                raise
            except BackendError as exc:
                self._fail(decision, model_id, started_s, exc)
                self._spans.end(span, decision, type(exc).__name__)
                if not exc.retryable:
                    self.finish(decision, "failed")
                    raise
                continue
            self._succeed(decision, model_id, started_s, None, Usage.from_payload(response))
            if decision.usage is None:
                decision.usage = _estimated_usage(request, _message_texts(response))
            self._spans.end(span, decision)
            self._observe_timings(model_id, response)
            self._keep(decision, answer_entry(model_id, response))
            response["model"] = model_id
            self.finish(decision, "ok")
            return response
        self.finish(decision, "failed")
        raise self._all_failed(decision)

    def _observe_timings(self, model_id: str, response: JSONObject) -> None:
        """llama.cpp reports its own prompt and decode timings; use them when present."""
        timings = response.get("timings")
        if isinstance(timings, dict) and timings.get("predicted_per_second"):
            prompt_ms = float(timings.get("prompt_ms") or 0.0)
            self._stats.observe(model_id, prompt_ms, float(timings["predicted_per_second"]))

    def _all_failed(self, decision: Decision) -> AllBackendsFailedError:
        attempts = [(a.model, a.error or a.status) for a in decision.attempts]
        summary = "; ".join(f"{m}: {e}" for m, e in attempts)
        return AllBackendsFailedError(f"every model in the plan failed: {summary}", attempts)

    async def open_stream(
        self, request: ChatRequest, decision: Decision, *, models: Sequence[str] | None = None, finish: bool = True
    ) -> AsyncIterator[JSONObject]:
        """Start a stream on the first model that produces a chunk; the rest of the plan is fallback.

        `models` replaces the decision's plan (a cascade stage). `finish` False leaves the decision
        open when the stream ends or fails (attempts are still recorded): the caller finishes it.
        """
        body = {**request.body, "stream_options": {"include_usage": True}}
        for model_id in self._plan(decision) if models is None else models:
            if self._skip_open(decision, model_id):
                continue
            started_s = self._clock.monotonic_s()
            span = self._spans.start(model_id, decision)
            with noting_tools(decision.tools):  # the tool layer notes its actions at the call (core.tool_notes)
                upstream = self._backends[model_id].stream(body)
                try:
                    first = await anext(upstream)
                except anyio.get_cancelled_exc_class():
                    self._cancel(decision, model_id, started_s, "client closed the stream before its first chunk")
                    self._spans.end(span, decision)
                    with anyio.CancelScope(shield=True):
                        await close_stream(upstream)
                    raise
                except StopAsyncIteration:
                    self._fail(decision, model_id, started_s, BackendProtocolError("empty stream", model_id=model_id))
                    self._spans.end(span, decision, BackendProtocolError.__name__)
                    continue
                except BackendError as exc:
                    await close_stream(upstream)
                    self._fail(decision, model_id, started_s, exc)
                    self._spans.end(span, decision, type(exc).__name__)
                    if not exc.retryable:
                        if finish:
                            self.finish(decision, "failed")
                        raise
                    continue
            decision.answered_by = model_id
            # registered now, not at the relay's first step: a relay never iterated (the client left
            # before the response started) is still recorded, at the latest when the server stops
            self._streaming[decision.id] = decision
            return self._relay(request, decision, model_id, upstream, (first, started_s, span), finish)
        if finish:
            self.finish(decision, "failed")
        raise self._all_failed(decision)

    async def _relay(
        self,
        request: ChatRequest,
        decision: Decision,
        model_id: str,
        upstream: AsyncIterator[JSONObject],
        opened: tuple[JSONObject, float, Span],
        finish: bool = True,
    ) -> AsyncIterator[JSONObject]:
        """Relay the stream opened with its `first` chunk at `started_s`; `span` ends with the attempt."""
        first, started_s, span = opened
        first_token_s = self._clock.monotonic_s()
        usage = None
        outcome = "cancelled"
        error_type: str | None = None
        relayed: list[str] = []
        answer: list[str] = []
        try:
            chunk: JSONObject | None = first
            while chunk is not None:
                usage = Usage.from_payload(chunk) or usage
                relayed.extend(_delta_texts(chunk))
                answer.extend(_delta_texts(chunk, tool_arguments=False))
                chunk["model"] = model_id
                if request.include_usage or not _is_usage_only(chunk):
                    yield chunk
                chunk = await anext(upstream, None)
            outcome = "ok"
            self._succeed(decision, model_id, started_s, first_token_s, usage)
            self._keep(decision, {"model": model_id, "text": "".join(answer)})
        except BackendError as exc:
            outcome, error_type = "failed", type(exc).__name__
            self._fail(decision, model_id, started_s, exc)
            decision.answered_by = model_id
            yield _error_chunk(exc)
        finally:
            if usage is None:
                decision.usage = _estimated_usage(request, relayed)
            if self._streaming.pop(decision.id, None) is not None:  # else already ended at shutdown
                if outcome == "cancelled":
                    elapsed_ms = (self._clock.monotonic_s() - started_s) * 1000
                    decision.attempts.append(
                        Attempt(model_id, "cancelled", round(elapsed_ms, 1), error="client closed the stream")
                    )
                if finish:
                    self.finish(decision, outcome)
            self._spans.end(span, decision, error_type)
            with anyio.CancelScope(shield=True):
                await close_stream(upstream)

    def end_open_streams(self, reason: str) -> int:
        """Record every stream still being relayed as cancelled (the server is stopping); how many."""
        ended = list(self._streaming.values())
        self._streaming.clear()
        for decision in ended:
            decision.attempts.append(Attempt(decision.answered_by or "", "cancelled", 0.0, error=reason))
            self.finish(decision, "cancelled")
        return len(ended)


def _delta_texts(chunk: JSONObject, *, tool_arguments: bool = True) -> list[str]:
    """The text a stream chunk carries (content and tool-call arguments), for a usage estimate."""
    texts: list[str] = []
    choices = chunk.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        if isinstance(delta.get("content"), str):
            texts.append(delta["content"])
        for call in delta.get("tool_calls") or () if tool_arguments else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                texts.append(function["arguments"])
    return texts


def _message_texts(response: JSONObject) -> list[str]:
    choices = response.get("choices")
    messages = [c.get("message") for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
    return [m["content"] for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)]


def _estimated_usage(request: ChatRequest, relayed: list[str]) -> JSONObject:
    return {"prompt_tokens": request.prompt_tokens_estimate,
            "completion_tokens": estimate_tokens("".join(relayed)), "estimated": True}


def _is_usage_only(chunk: JSONObject) -> bool:
    return not chunk.get("choices") and "usage" in chunk


async def close_stream(iterator: AsyncIterator[Any]) -> None:
    """`aclose` an async iterator that has one (an upstream stream or a relay)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
