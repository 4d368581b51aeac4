"""Value types shared by every layer.

Everything here is a frozen dataclass, an enum or a named tuple: plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

JSONObject = dict[str, Any]


def first_choice(completion: JSONObject) -> JSONObject:
    """A chat completion's first choice (`choices[0]`); {} when it has none or it is not an object."""
    choices = completion.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first if isinstance(first, dict) else {}


def is_whole_number(value: object) -> bool:
    """Whether a JSON value is a whole number as JSON Schema's `integer` reads it: 5 or 5.0, not 5.5 or true."""
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


class Capability(StrEnum):
    """What a model can do beyond plain chat."""

    TOOLS = "tools"
    JSON = "json"
    VISION = "vision"
    AUDIO = "audio"


class Locality(StrEnum):
    """Where a model runs: on this machine, on a private network, or in a public cloud."""

    LOCAL = "local"
    PRIVATE = "private"
    CLOUD = "cloud"


class Mode(StrEnum):
    """Routing profile: what the policy optimises."""

    QUALITY = "quality"
    BALANCED = "balanced"
    COST = "cost"
    FAST = "fast"


class Strategy(StrEnum):
    """How a routed request is answered: one predicted model, or a cascade that checks answers."""

    PREDICT = "predict"
    CASCADE = "cascade"


@dataclass(frozen=True)
class CascadeOptions:
    """A request's `routing.cascade` object: an explicit stage order, the bar, the stage limit,
    whether the first two stages answer side by side so their answers can be compared, and the
    most a stage before the last may cost as a share of the last one."""

    models: tuple[str, ...] | None = None
    accept: float | None = None
    max_stages: int | None = None
    agreement: bool | None = None
    middle_cost_share: float | None = None

    def as_dict(self) -> JSONObject:
        return {
            "models": list(self.models) if self.models is not None else None,
            "accept": self.accept,
            "max_stages": self.max_stages,
            "agreement": self.agreement,
            "middle_cost_share": self.middle_cost_share,
        }


NATIVE_AUDIO_BACKENDS = frozenset({"openai-realtime", "gemini-live"})
"""Catalog backends for models that hear and speak in one realtime session (voice sessions only)."""


class RealtimeDialect(StrEnum):
    """The two shapes of OpenAI's realtime protocol: GA, and the beta (`OpenAI-Beta: realtime=v1`, Azure's
    dated `-preview` api-versions). voxgate serves both to clients and translates to an upstream's own."""

    GA = "ga"
    BETA = "beta"


class ToolCallStyle(StrEnum):
    """How a model writes tool calls: natively, as a fenced JSON block in text, or not at all."""

    NATIVE = "native"
    FENCED_JSON = "fenced_json"
    NONE = "none"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


@dataclass(frozen=True)
class SpeechPrice:
    """USD per minute of audio transcribed (speech-to-text) and synthesised (text-to-speech)."""

    stt_per_minute: float = 0.0
    tts_per_minute: float = 0.0

    def cost_usd(self, stt_s: float, tts_s: float) -> float:
        return (stt_s * self.stt_per_minute + tts_s * self.tts_per_minute) / 60.0


@dataclass(frozen=True)
class ModelRateLimits:
    """A model's requests and tokens per minute across every key and replica (None: no limit)."""

    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class LocalWeights:
    """Where an embedded model's GGUF weights ship: one file, or byte chunks across packages."""

    file_name: str
    packages: tuple[str, ...]
    sha256: str | None = None
    trained_context_tokens: int | None = None
    """The context the model was trained for (the GGUF's `<arch>.context_length`): a server's
    context a slot is never set above it (None: no bound known)."""


@dataclass(frozen=True)
class ModelCard:
    """One routable model, as the catalog declares it.

    `quality_hint` is the prior probability of a good answer on a typical prompt, used by the
    predictor for models it has no data about. `ttft_ms` and `tokens_per_s` seed the live
    latency estimate until real measurements arrive.
    """

    id: str
    backend: str = "openai"
    base_url: str | None = None
    api_model: str | None = None
    api_key_env: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    context_window: int = 8192
    price: Price = Price()
    locality: Locality = Locality.CLOUD
    quality_hint: float = 0.7
    ttft_ms: float = 500.0
    tokens_per_s: float = 50.0
    tool_call_style: ToolCallStyle = ToolCallStyle.NATIVE
    local_weights: LocalWeights | None = None
    api_version: str | None = None
    """Azure OpenAI's `api-version` for a realtime deployment URL (`backend: openai-realtime`)."""
    realtime_dialect: RealtimeDialect | None = None
    """The realtime protocol shape a `backend: openai-realtime` upstream speaks (None for other backends)."""
    rate_limits: ModelRateLimits = ModelRateLimits()
    """`rate_limits: {rpm: N, tpm: N}`: the model's own limits, shared by every key (`server/model_limits`)."""

    @property
    def is_native_audio(self) -> bool:
        """A realtime model that hears and speaks itself: routed for voice sessions, proxied whole."""
        return self.backend in NATIVE_AUDIO_BACKENDS

    @property
    def upstream_model(self) -> str:
        return self.api_model or self.id

    @property
    def is_embedded(self) -> bool:
        return self.local_weights is not None


@dataclass(frozen=True)
class RoutingConstraints:
    """What a caller declared about one request. None means 'no constraint'."""

    mode: Mode = Mode.BALANCED
    max_latency_ms: float | None = None
    max_cost_usd: float | None = None
    min_quality: float | None = None
    require: frozenset[Capability] = frozenset()
    local_only: bool = False
    models: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    session_id: str | None = None
    strategy: Strategy = Strategy.PREDICT
    cascade: CascadeOptions | None = None

    def as_dict(self) -> JSONObject:
        return {
            "mode": self.mode.value,
            "max_latency_ms": self.max_latency_ms,
            "max_cost_usd": self.max_cost_usd,
            "min_quality": self.min_quality,
            "require": sorted(c.value for c in self.require),
            "local_only": self.local_only,
            "models": list(self.models) if self.models is not None else None,
            "exclude": list(self.exclude),
            "session_id": self.session_id,
            "strategy": self.strategy.value,
            "cascade": self.cascade.as_dict() if self.cascade is not None else None,
        }


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request.

    `body` is the OpenAI request body without voxgate's `routing` extension; backends send it
    upstream with `model` replaced. The other fields are derived once, at validation.
    `tool_tokens_estimate`: what the tool declarations and earlier calls add to the prompt; counted
    against context windows and in costs, not in `prompt_tokens_estimate` (the predictor's feature).
    """

    body: JSONObject
    requested_model: str
    stream: bool
    include_usage: bool
    max_tokens: int | None
    needs: frozenset[Capability]
    prompt_tokens_estimate: int
    prompt_text: str = field(repr=False)
    turn_count: int
    fingerprint: str
    user: str | None = None
    tool_tokens_estimate: int = 0

    @property
    def messages(self) -> list[JSONObject]:
        messages: list[JSONObject] = self.body["messages"]
        return messages

    @property
    def context_tokens_estimate(self) -> int:
        """The prompt as a model reads it: the messages and the tools."""
        return self.prompt_tokens_estimate + self.tool_tokens_estimate


class Usage(NamedTuple):
    """The tokens one completion used, as its upstream reported them; a tuple, so
    `prompt, completion = usage` reads it too."""

    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def from_payload(cls, payload: JSONObject) -> Usage | None:
        """The `usage` object of a completion or a stream chunk (missing counts read 0); None without one."""
        usage = payload.get("usage")
        if not isinstance(usage, dict):
            return None
        return cls(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
