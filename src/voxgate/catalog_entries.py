"""One `models:` entry of the catalog -> a `ModelCard`, and the typed values entries hold.

Pure validation of the YAML that `config.py` read: no files, no environment (an entry's
`api_key_env` is looked up by `config.py`). Every error is a `ConfigError` naming where it is.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from voxgate.core.errors import ConfigError
from voxgate.core.types import (
    NATIVE_AUDIO_BACKENDS,
    Capability,
    Locality,
    Mode,
    ModelCard,
    ModelRateLimits,
    Price,
    RealtimeDialect,
    SpeechPrice,
    ToolCallStyle,
)

_E = TypeVar("_E", Capability, Locality, Mode, ToolCallStyle, RealtimeDialect)

MODEL_KEYS = {
    "id", "backend", "base_url", "api_model", "api_key_env", "capabilities", "context_window",
    "price", "locality", "quality", "ttft_ms", "tokens_per_s", "tool_call_style", "api_version", "rate_limits",
    "realtime_dialect",
}


def enum_value(enum_type: type[_E], raw: object, where: str) -> _E:
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return enum_type(raw)
    except ValueError as exc:
        allowed = ", ".join(str(v.value) for v in enum_type)
        raise ConfigError(f"{where}: {raw!r} is not one of: {allowed}") from exc


def number(raw: object, where: str, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"{where}: expected a number, got {raw!r}")
    if raw < minimum or (maximum is not None and raw > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{where}: {raw} must be {bound}")
    return float(raw)


def _parse_price(raw: object, where: str) -> Price:
    if raw is None:
        return Price()
    if not isinstance(raw, dict) or set(raw) - {"input_per_mtok", "output_per_mtok"}:
        raise ConfigError(f"{where}: expected {{input_per_mtok: N, output_per_mtok: N}}")
    return Price(
        number(raw.get("input_per_mtok", 0.0), f"{where}.input_per_mtok"),
        number(raw.get("output_per_mtok", 0.0), f"{where}.output_per_mtok"),
    )


def parse_speech_price(raw: object, where: str) -> SpeechPrice:
    """`{stt_per_minute: 0.006, tts_per_minute: 0.015}`: USD per minute of audio heard and spoken."""
    if raw is None:
        return SpeechPrice()
    if not isinstance(raw, dict) or not raw or set(raw) - {"stt_per_minute", "tts_per_minute"}:
        raise ConfigError(f"{where}: expected {{stt_per_minute: N, tts_per_minute: N}}")
    return SpeechPrice(number(raw.get("stt_per_minute", 0.0), f"{where}.stt_per_minute"),
                       number(raw.get("tts_per_minute", 0.0), f"{where}.tts_per_minute"))


def parse_rate_limits(raw: object, where: str) -> ModelRateLimits:
    """`{rpm: 60, tpm: 100000}`: the model's requests and tokens per minute (either may be left out)."""
    if raw is None:
        return ModelRateLimits()
    if not isinstance(raw, dict) or not raw or set(raw) - {"rpm", "tpm"}:
        raise ConfigError(f"{where}: expected {{rpm: N, tpm: N}}")
    limits = {name: None if raw.get(name) is None else int(number(raw[name], f"{where}.{name}", minimum=1))
              for name in ("rpm", "tpm")}
    for name, value in limits.items():
        if value is not None and value != raw[name]:
            raise ConfigError(f"{where}.{name}: a whole number, got {raw[name]!r}")
    return ModelRateLimits(limits["rpm"], limits["tpm"])


def parse_model(raw: object, index: int) -> ModelCard:
    """The card of `models[index]`; its `api_key_env` is the caller's to look up."""
    where = f"models[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with at least `id` and `base_url`")
    unknown = set(raw) - MODEL_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(MODEL_KEYS)}")
    model_id = raw.get("id")
    if not isinstance(model_id, str) or not model_id or model_id.startswith("auto"):
        raise ConfigError(f"{where}.id: a non-empty string not starting with 'auto' is required")
    where = f"models[{index}] ({model_id})"
    backend, base_url = _backend_and_url(raw, where)
    capabilities = raw.get("capabilities", [])
    if not isinstance(capabilities, list):
        raise ConfigError(f"{where}.capabilities: expected a list such as [tools, json]")
    key_env = raw.get("api_key_env")
    if key_env is not None and not isinstance(key_env, str):
        raise ConfigError(f"{where}.api_key_env: expected a variable name")
    native = backend in NATIVE_AUDIO_BACKENDS
    api_version = _api_version(raw, where, native)
    card = ModelCard(
        id=model_id,
        backend=backend,
        base_url=base_url,
        api_version=api_version,
        realtime_dialect=_realtime_dialect(raw, where, backend, base_url, api_version),
        api_model=str(raw["api_model"]) if raw.get("api_model") else None,
        api_key_env=key_env,
        capabilities=frozenset(enum_value(Capability, c, f"{where}.capabilities") for c in capabilities)
        | ({Capability.AUDIO} if native else set()),
        context_window=int(number(raw.get("context_window", 8192), f"{where}.context_window", minimum=1)),
        price=_parse_price(raw.get("price"), f"{where}.price"),
        locality=enum_value(Locality, raw.get("locality", "cloud"), f"{where}.locality"),
        quality_hint=number(raw.get("quality", 0.7), f"{where}.quality", maximum=1.0),
        ttft_ms=number(raw.get("ttft_ms", 500.0), f"{where}.ttft_ms"),
        tokens_per_s=number(raw.get("tokens_per_s", 50.0), f"{where}.tokens_per_s", minimum=0.001),
        rate_limits=parse_rate_limits(raw.get("rate_limits"), f"{where}.rate_limits"),
        tool_call_style=enum_value(
            ToolCallStyle, raw.get("tool_call_style", "native"), f"{where}.tool_call_style"
        ),
    )
    return card


def _backend_and_url(raw: dict[str, Any], where: str) -> tuple[str, str | None]:
    """`backend` and its `base_url`: http(s) for `openai`; ws(s) or http(s) for the native-audio backends
    (`gemini-live` defaults to Google's Live API endpoint)."""
    backend = raw.get("backend", "openai")
    if backend != "openai" and backend not in NATIVE_AUDIO_BACKENDS:
        allowed = ", ".join(["openai", *sorted(NATIVE_AUDIO_BACKENDS)])
        raise ConfigError(f"{where}.backend: {backend!r} is not one of: {allowed}")
    base_url = raw.get("base_url")
    if backend == "gemini-live" and base_url is None:
        return str(backend), None  # Google's endpoint: backends.realtime_upstream.GEMINI_LIVE_URL
    if backend == "openai":
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.base_url: an http(s) URL such as http://127.0.0.1:8000/v1 is required")
    elif not isinstance(base_url, str) or not base_url.startswith(("ws://", "wss://", "http://", "https://")):
        raise ConfigError(f"{where}.base_url: the realtime endpoint, such as wss://api.openai.com/v1/realtime "
                          "or https://NAME.openai.azure.com/openai/realtime, is required")
    return str(backend), base_url.rstrip("/")


def _api_version(raw: dict[str, Any], where: str, native: bool) -> str | None:
    version = raw.get("api_version")
    if version is not None and (not native or not isinstance(version, str) or not version):
        raise ConfigError(f"{where}.api_version: a string, for an Azure OpenAI realtime deployment only")
    return version


def _realtime_dialect(raw: dict[str, Any], where: str, backend: str, base_url: str | None,
                      api_version: str | None) -> RealtimeDialect | None:
    """The protocol shape an `openai-realtime` upstream speaks: `realtime_dialect` when given; otherwise
    beta for Azure's dated deployment URL (`.../openai/realtime`) at a `-preview` api-version (the
    default one included), GA for everything else (OpenAI, Azure's `/openai/v1/realtime`)."""
    given = raw.get("realtime_dialect")
    if backend != "openai-realtime":
        if given is not None:
            raise ConfigError(f"{where}.realtime_dialect: for a `backend: openai-realtime` model only")
        return None
    if given is not None:
        return enum_value(RealtimeDialect, given, f"{where}.realtime_dialect")
    parts = urlsplit(base_url or "")
    azure_dated = parts.path.rstrip("/").endswith("/openai/realtime")
    version = dict(parse_qsl(parts.query)).get("api-version", api_version)
    preview = version is None or version.endswith("-preview")
    return RealtimeDialect.BETA if azure_dated and preview else RealtimeDialect.GA
