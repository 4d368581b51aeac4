"""OpenTelemetry spans for routing: the decision, each upstream attempt, each cascade stage.

Names and attributes follow the OpenTelemetry GenAI semantic conventions where they have one
(`gen_ai.operation.name`, `gen_ai.system`, `gen_ai.request.model`, `gen_ai.response.model`,
`gen_ai.usage.input_tokens` / `output_tokens`, `server.address`, `error.type`) and `voxgate.*`
otherwise (`voxgate.decision_id`, `voxgate.strategy`, ...). Spans carry ids, model names, counts,
times and verdicts, never a prompt, an answer, an error body or a key: attributes are built only
from the decision record's numbers and names, and an attempt's error shows as its exception type.

The tracer is injected (`opentelemetry.trace.NoOpTracer` unless `telemetry:` is configured, see
`server/telemetry`); a non-recording span skips building attributes, so tracing switched off
costs one no-op call per span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from voxgate.core.types import ModelCard
from voxgate.routing.decision import Decision

OPERATION = "gen_ai.operation.name"
SYSTEM = "gen_ai.system"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
DECISION_ID = "voxgate.decision_id"
STRATEGY = "voxgate.strategy"
ERROR_TYPE = "error.type"

Attributes = dict[str, AttributeValue]


def decision_attributes(decision: Decision) -> Attributes:
    """What the routing decision says, as span attributes (no prompt: the record holds none by default)."""
    attributes: Attributes = {
        DECISION_ID: decision.id,
        STRATEGY: decision.strategy,
        "voxgate.profile": decision.profile,
        "voxgate.mode": decision.mode,
        "voxgate.reason": decision.reason,
        "voxgate.candidates": len(decision.candidates),
        "voxgate.eligible": sum(1 for c in decision.candidates if c.eligible),
        "voxgate.fallback_plan": list(decision.fallback_plan),
        "voxgate.overhead_us": decision.overhead_us,
        "voxgate.predictor": decision.predictor_version,
    }
    if decision.chosen is not None:
        attributes["voxgate.chosen_model"] = decision.chosen
    if decision.key_id is not None:
        attributes["voxgate.key_id"] = decision.key_id  # the key's id, never the key
    if decision.affinity is not None:
        attributes["voxgate.affinity"] = decision.affinity
    return attributes


def usage_attributes(usage: Mapping[str, object] | None) -> Attributes:
    """`gen_ai.usage.*` from a decision's usage (`voxgate.usage.estimated` when voxgate counted it)."""
    if not usage:
        return {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    attributes: Attributes = {
        INPUT_TOKENS: prompt if isinstance(prompt, int) else 0,
        OUTPUT_TOKENS: completion if isinstance(completion, int) else 0,
    }
    if usage.get("estimated"):
        attributes["voxgate.usage.estimated"] = True
    return attributes


def _system(card: ModelCard | None) -> str:
    """`gen_ai.system`: llama.cpp for the bundled models, else the OpenAI-compatible API they speak."""
    return "llama.cpp" if card is not None and card.is_embedded else "openai"


def _server(card: ModelCard | None) -> Attributes:
    if card is None or card.base_url is None:
        return {}
    parts = urlsplit(card.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {"server.address": parts.hostname or "", "server.port": port}


class AttemptSpans:
    """One CLIENT span per upstream call (`chat <model>`), ended with what the decision recorded."""

    def __init__(self, tracer: Tracer, cards: Sequence[ModelCard]) -> None:
        self._tracer = tracer
        self._cards = {c.id: c for c in cards}

    def start(self, model_id: str, decision: Decision) -> Span:
        """Start an attempt's span under the current one (the request's, or a cascade stage's)."""
        span = self._tracer.start_span(f"chat {model_id}", kind=SpanKind.CLIENT)
        if span.is_recording():
            card = self._cards.get(model_id)
            span.set_attributes({
                OPERATION: "chat",
                SYSTEM: _system(card),
                REQUEST_MODEL: card.upstream_model if card is not None else model_id,
                "voxgate.model": model_id,
                DECISION_ID: decision.id,
                "voxgate.attempt": len(decision.attempts) + 1,
                **_server(card),
            })
        return span

    def end(self, span: Span, decision: Decision, error_type: str | None = None) -> None:
        """End `span` with the decision's last attempt (status, latency, usage when it answered)."""
        if span.is_recording() and decision.attempts:
            attempt = decision.attempts[-1]
            attributes: Attributes = {"voxgate.attempt.status": attempt.status,
                                      "voxgate.attempt.latency_ms": attempt.latency_ms}
            if attempt.ttft_ms is not None:
                attributes["voxgate.attempt.ttft_ms"] = attempt.ttft_ms
            if attempt.status == "ok":
                card = self._cards.get(attempt.model)
                attributes[RESPONSE_MODEL] = card.upstream_model if card is not None else attempt.model
                attributes.update(usage_attributes(decision.usage))
            elif attempt.status != "cancelled":
                attributes[ERROR_TYPE] = error_type or attempt.status
                span.set_status(Status(StatusCode.ERROR))
            span.set_attributes(attributes)
        span.end()
