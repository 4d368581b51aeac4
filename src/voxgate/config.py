"""The only module that reads files or the environment.

`load_settings` turns a catalog YAML file, environment variables and command-line overrides
into one frozen `Settings`. Every other module receives typed config through its constructor.

Catalog schema (a public contract, documented in the README)::

    models:
      - id: my-vllm-llama
        backend: openai
        base_url: http://127.0.0.1:8000/v1
        api_model: meta-llama/Llama-3.1-8B-Instruct
        api_key_env: MY_KEY
        capabilities: [tools, json, vision]
        context_window: 8192
        price: {input_per_mtok: 0.10, output_per_mtok: 0.40}
        locality: private
        quality: 0.8          # optional prior: probability of a good answer on a typical prompt
        ttft_ms: 300          # optional latency priors until live measurements arrive
        tokens_per_s: 80
        tool_call_style: native   # native | fenced_json | none
        rate_limits: {rpm: 600, tpm: 200000}   # the model's own limits, every key and replica together
      - id: gpt-realtime          # a native-audio model: voice sessions are proxied to it whole
        backend: openai-realtime  # OpenAI GA (?model=, Bearer) or Azure (.../openai/realtime: api-key)
        base_url: wss://api.openai.com/v1/realtime
        api_model: gpt-realtime   # Azure: the deployment name
        api_version: 2024-10-01-preview   # Azure only
        realtime_dialect: ga      # ga | beta: the protocol shape it speaks (default: beta for Azure's
                                  # dated .../openai/realtime at a -preview api-version, else ga);
                                  # clients of the other shape are translated (voice/native/dialects)
      - id: gemini-live           # Gemini's Live API (BidiGenerateContent): the session is translated
        backend: gemini-live      # base_url defaults to Google's endpoint; the key goes as ?key=
        api_model: gemini-2.5-flash-native-audio-preview-09-2025
        api_key_env: GEMINI_API_KEY
    include_default_models: true
    predictor: ./predictor      # a learned predictor from `voxgate train`; `heuristic` for none;
                                # default: the one shipped for the bundled ladder (if included)
    api_keys: [sk-local-1]
    admin_key_env: VOXGATE_ADMIN_KEY   # /v1/admin/keys and /v1/spend; also turns authentication on
    redis: redis://127.0.0.1:6379/0   # optional: rate limits and budgets shared by every replica
    max_body_bytes: 4194304
    database: ~/.local/share/voxgate/voxgate.db   # or postgresql://user:pass@host:5432/db (replicas on several hosts)
    log_content: false
    record_answers: false         # with log_content: decisions keep their answers for `voxgate outcomes`
    answer_checker: ./trained     # a learned answer checker from `voxgate train` (DIR or DIR/answer_checker)
    drain_timeout_s: 30           # SIGTERM: how long in-flight streams and voice turns may finish
    decision_log_max_pending: 10000   # rows kept in memory while the database cannot be written
    decision_retention_days: 90   # delete older decisions and spend rows (>= 32: month budgets); default: keep
    telemetry: {otlp_endpoint: http://127.0.0.1:4318, service_name: voxgate}   # OpenTelemetry traces; default: none
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voxgate.bundled_ladder import bundled_cascade_file, bundled_predictor_dir
from voxgate.bundled_ladder import default_models as default_models  # re-exported: the ladder's catalog
from voxgate.catalog_entries import enum_value, number, parse_model, parse_speech_price
from voxgate.core.errors import ConfigError
from voxgate.core.types import Mode, ModelCard, SpeechPrice

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class LocalRuntimeSettings:
    """How embedded llama.cpp servers run."""

    threads: int = 2
    context_tokens: int = 4096
    parallel_slots: int = 2
    start_timeout_s: float = 180.0
    warmup: bool = True


@dataclass(frozen=True)
class RemoteAudioSettings:
    """A server speaking OpenAI's audio API (`voice.remote`), used when `stt_model` or `tts_engine`
    is `openai-audio`; its key comes from VOXGATE_VOICE_REMOTE_API_KEY."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    stt_model: str = "whisper-1"
    tts_model: str = "tts-1"
    voice: str = "alloy"


REMOTE_AUDIO = "openai-audio"


@dataclass(frozen=True)
class VoiceSettings:
    """The realtime voice API: which speech engines load, and each session's limits.

    `stt_model` is `base`, `tiny.en` or `openai-audio` (the `remote` server); `stt_window`
    `utterance` decodes each turn on a window cut to its length, `full` on Whisper's fixed 30 s
    (slower; the baseline); `tts_engine` is `piper` (optional extra), `espeak` or `openai-audio`;
    `enabled` False skips loading speech engines (the realtime routes then refuse sessions).
    A voice turn is routed with `mode` and `max_latency_ms` (the session's latency budget).
    `max_upload_bytes` and `max_upload_audio_s` bound one file sent to `/v1/audio/transcriptions`.
    `first_piece_chars`: how much of a reply is synthesised before its first audio goes out.
    `min_quality` is the voice turns' quality floor (predicted probability of a good answer; 0.4
    keeps SmolLM2-135M out unless the predictor rates it for the prompt); when no model meets both
    it and the budget, the floor wins (`server.realtime.RoutedReplySource`). None: no floor.
    `backchannels`: "mm-hm", "yeah", "okay" said over a reply do not cancel it (`voice.realtime.backchannel`).
    `turn_model` `smart-turn` adds an audio end-of-turn judge to `semantic_vad` (`voice.engines.smart_turn`).
    `prepare_replies`: once the pause's speculative transcript is ready, the reply (routed LLM stream and
    first clause's audio) is prepared before the turn ends, and used if the turn commits with the same
    transcript and settings (`voice.realtime.prepared_reply`; env VOXGATE_VOICE_PREPARE_REPLIES).
    `partial_transcript_interval_ms`: while the user speaks, re-decode the turn so far every this many ms
    of audio, and once more the moment the VAD hears a pause; the commit reuses that last decode, so the
    transcript is ready at the end of the turn and the reply is prepared from it during the pause
    (`voice.realtime.partial_transcripts`; env VOXGATE_VOICE_PARTIAL_TRANSCRIPT_INTERVAL_MS). 0: off.
    Each decode counts as transcribed audio (`price`), as the pause's speculative one does.
    `price`: USD per minute of audio the engines transcribe and synthesise, charged to the session's
    key with each voice turn (`server/speech_spend`); the bundled engines cost nothing by default.
    """

    enabled: bool = True
    stt_model: str = "base"
    stt_window: str = "utterance"
    tts_engine: str = "piper"
    mode: Mode = Mode.FAST
    max_latency_ms: float | None = 2_000.0
    max_session_s: float = 30 * 60.0
    max_append_bytes: int = 15 * 1024 * 1024
    max_buffered_audio_s: float = 10 * 60.0
    send_queue_events: int = 2_048
    max_output_tokens: int = 300
    max_upload_bytes: int = 25 * 1024 * 1024
    max_upload_audio_s: float = 30 * 60.0
    remote: RemoteAudioSettings | None = None
    first_piece_chars: int = 24
    min_quality: float | None = 0.4
    backchannels: bool = True
    turn_model: str = "none"
    prepare_replies: bool = True
    partial_transcript_interval_ms: int = 1_000
    price: SpeechPrice = field(default_factory=SpeechPrice)

    def __post_init__(self) -> None:
        if self.stt_model not in ("base", "tiny.en", REMOTE_AUDIO):
            raise ConfigError(f"voice stt_model must be base, tiny.en or openai-audio, got {self.stt_model!r}")
        if REMOTE_AUDIO in (self.stt_model, self.tts_engine) and self.remote is None:
            raise ConfigError("voice stt_model or tts_engine openai-audio needs `voice.remote: {base_url: ...}`")
        if self.stt_window not in ("utterance", "full"):
            raise ConfigError(f"voice stt_window must be utterance or full, got {self.stt_window!r}")
        if self.turn_model not in ("none", "smart-turn"):
            raise ConfigError(f"voice turn_model must be none or smart-turn, got {self.turn_model!r}")
        if self.tts_engine not in ("piper", "espeak", REMOTE_AUDIO):
            raise ConfigError(f"voice tts_engine must be piper, espeak or openai-audio, got {self.tts_engine!r}")
        if min(self.max_session_s, self.max_buffered_audio_s, self.max_upload_audio_s) <= 0 or min(
            self.max_append_bytes, self.send_queue_events, self.max_output_tokens, self.max_upload_bytes
        ) < 1:
            raise ConfigError("voice limits must be positive")
        if self.partial_transcript_interval_ms < 0:
            raise ConfigError("voice partial_transcript_interval_ms must be 0 (off) or positive")


@dataclass(frozen=True)
class TelemetrySettings:
    """`telemetry:` in the catalog: traces exported over OTLP (HTTP/protobuf); no endpoint, no tracing."""

    otlp_endpoint: str | None = None
    """The collector's base URL (`/v1/traces` is added) or the full traces URL."""
    service_name: str = "voxgate"
    export_timeout_s: float = 5.0

    @property
    def traces_url(self) -> str | None:
        if self.otlp_endpoint is None:
            return None
        base = self.otlp_endpoint.rstrip("/")
        return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    models: tuple[ModelCard, ...] = ()
    api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    admin_key: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    upstream_api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    database_path: Path = Path("voxgate.db")
    database_url: str | None = field(default=None, repr=False)
    cache_dir: Path = Path(".cache/voxgate")
    log_content: bool = False
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 300.0
    breaker_failure_threshold: int = 3
    breaker_cooldown_s: float = 30.0
    drain_timeout_s: float = 30.0
    decision_log_max_pending: int = 10_000
    decision_retention_days: float | None = None
    default_mode: Mode = Mode.BALANCED
    local: LocalRuntimeSettings = LocalRuntimeSettings()
    voice: VoiceSettings = VoiceSettings()
    predictor_path: Path | None = None
    telemetry: TelemetrySettings = TelemetrySettings()
    record_answers: bool = False
    """Decisions keep every answer's text and token log-probs (user content: needs `log_content`)."""
    answer_checker_path: Path | None = None
    """A checker directory (`checker.json`) the cascade adds as its `learned` check."""

    def model(self, model_id: str) -> ModelCard | None:
        return next((m for m in self.models if m.id == model_id), None)


_TOP_KEYS = {
    "models", "include_default_models", "api_keys", "max_body_bytes", "database", "log_content",
    "default_mode", "breaker_cooldown_s", "request_timeout_s", "voice", "predictor", "local_threads",
    "local_parallel_slots", "local_context_tokens", "drain_timeout_s", "decision_log_max_pending",
    "admin_key_env", "redis", "decision_retention_days", "telemetry", "record_answers", "answer_checker",
}
_VOICE_KEYS = {
    "enabled", "stt_model", "stt_window", "tts_engine", "mode", "max_latency_ms", "max_session_s", "max_append_bytes",
    "max_buffered_audio_s", "send_queue_events", "max_output_tokens", "max_upload_bytes", "max_upload_audio_s",
    "remote", "first_piece_chars", "min_quality", "backchannels", "turn_model", "prepare_replies", "price",
    "partial_transcript_interval_ms",
}


def _read_catalog(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping with a `models` list")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    return raw


def _data_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_DATA_HOME") or Path(env.get("HOME", ".")) / ".local/share") / "voxgate"


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where assembled model files are cached: $VOXGATE_CACHE_DIR, else the XDG cache dir."""
    env = os.environ if env is None else env
    if env.get("VOXGATE_CACHE_DIR"):
        return Path(env["VOXGATE_CACHE_DIR"])
    return Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME", ".")) / ".cache") / "voxgate"


def _collect_models(
    catalog: dict[str, Any], env: Mapping[str, str]
) -> tuple[tuple[ModelCard, ...], dict[str, str]]:
    raw_models = catalog.get("models", [])
    if not isinstance(raw_models, list):
        raise ConfigError("`models` must be a list")
    models: list[ModelCard] = list(default_models()) if catalog.get("include_default_models", True) else []
    keys: dict[str, str] = {}
    for index, raw in enumerate(raw_models):
        card = parse_model(raw, index)
        key = env.get(card.api_key_env) if card.api_key_env is not None else None
        if card.api_key_env is not None and not key:
            raise ConfigError(f"models[{index}] ({card.id}).api_key_env: environment variable "
                              f"{card.api_key_env} is not set")
        if any(m.id == card.id for m in models):
            raise ConfigError(f"models[{index}].id: {card.id!r} is declared twice")
        models.append(card)
        if key:
            keys[card.id] = key
    if not models:
        raise ConfigError("the catalog has no models: add some or set include_default_models: true")
    return tuple(models), keys


def _api_keys(catalog: dict[str, Any], env: Mapping[str, str]) -> frozenset[str]:
    raw = catalog.get("api_keys", [])
    if not isinstance(raw, list) or not all(isinstance(k, str) and k for k in raw):
        raise ConfigError("`api_keys` must be a list of non-empty strings")
    from_env = [k.strip() for k in env.get("VOXGATE_API_KEYS", "").split(",") if k.strip()]
    return frozenset(raw) | frozenset(from_env)


def _voice_settings(catalog: dict[str, Any], env: Mapping[str, str]) -> VoiceSettings:
    """The `voice:` mapping of the config file, then VOXGATE_VOICE_* variables (which win)."""
    raw = catalog.get("voice") or {}
    if not isinstance(raw, dict) or set(raw) - _VOICE_KEYS:
        raise ConfigError(f"`voice` must be a mapping with keys from {sorted(_VOICE_KEYS)}")
    merged: dict[str, Any] = dict(raw)
    for key in ("stt_model", "stt_window", "tts_engine", "mode", "turn_model"):
        if env.get(f"VOXGATE_VOICE_{key.upper()}"):
            merged[key] = env[f"VOXGATE_VOICE_{key.upper()}"]
    for key in ("max_latency_ms", "max_session_s", "first_piece_chars", "min_quality",
                "partial_transcript_interval_ms"):
        if env.get(f"VOXGATE_VOICE_{key.upper()}"):
            merged[key] = number(float(env[f"VOXGATE_VOICE_{key.upper()}"]), f"VOXGATE_VOICE_{key.upper()}")
    for flag in ("enabled", "backchannels", "prepare_replies"):
        if env.get(f"VOXGATE_VOICE_{flag.upper()}"):
            merged[flag] = env[f"VOXGATE_VOICE_{flag.upper()}"] not in ("0", "false", "no")
    defaults = VoiceSettings()
    latency = merged.get("max_latency_ms", defaults.max_latency_ms)
    floor = merged.get("min_quality", defaults.min_quality)
    return VoiceSettings(
        enabled=bool(merged.get("enabled", True)),
        backchannels=bool(merged.get("backchannels", defaults.backchannels)),
        prepare_replies=bool(merged.get("prepare_replies", defaults.prepare_replies)),
        partial_transcript_interval_ms=int(number(
            merged.get("partial_transcript_interval_ms", defaults.partial_transcript_interval_ms),
            "voice.partial_transcript_interval_ms")),
        stt_model=str(merged.get("stt_model", defaults.stt_model)),
        stt_window=str(merged.get("stt_window", defaults.stt_window)),
        tts_engine=str(merged.get("tts_engine", defaults.tts_engine)),
        turn_model=str(merged.get("turn_model", defaults.turn_model)),
        mode=enum_value(Mode, merged.get("mode", defaults.mode.value), "voice.mode"),
        max_latency_ms=None if latency is None else number(latency, "voice.max_latency_ms"),
        max_session_s=number(merged.get("max_session_s", defaults.max_session_s), "voice.max_session_s"),
        max_append_bytes=int(
            number(merged.get("max_append_bytes", defaults.max_append_bytes), "voice.max_append_bytes")
        ),
        max_buffered_audio_s=number(
            merged.get("max_buffered_audio_s", defaults.max_buffered_audio_s), "voice.max_buffered_audio_s"
        ),
        send_queue_events=int(
            number(merged.get("send_queue_events", defaults.send_queue_events), "voice.send_queue_events")
        ),
        max_output_tokens=int(
            number(merged.get("max_output_tokens", defaults.max_output_tokens), "voice.max_output_tokens")
        ),
        max_upload_bytes=int(
            number(merged.get("max_upload_bytes", defaults.max_upload_bytes), "voice.max_upload_bytes")
        ),
        max_upload_audio_s=number(
            merged.get("max_upload_audio_s", defaults.max_upload_audio_s), "voice.max_upload_audio_s"
        ),
        remote=_remote_audio(merged.get("remote"), env),
        first_piece_chars=int(number(merged.get("first_piece_chars", defaults.first_piece_chars),
                                      "voice.first_piece_chars", minimum=10, maximum=250)),
        min_quality=None if floor is None else number(floor, "voice.min_quality", maximum=1.0),
        price=parse_speech_price(merged.get("price"), "voice.price"),
    )


def _remote_audio(raw: Any, env: Mapping[str, str]) -> RemoteAudioSettings | None:
    if raw is None:
        return None
    keys = {"base_url", "stt_model", "tts_model", "voice"}
    if not isinstance(raw, dict) or set(raw) - keys or not isinstance(raw.get("base_url"), str) \
            or not all(isinstance(v, str) and v for v in raw.values()):
        raise ConfigError(f"`voice.remote` must map {sorted(keys)} to strings, with a base_url")
    return RemoteAudioSettings(api_key=env.get("VOXGATE_VOICE_REMOTE_API_KEY") or None, **raw)


def load_settings(
    config_path: Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from an optional catalog file, the environment and CLI overrides."""
    env = os.environ if env is None else env
    catalog = _read_catalog(config_path) if config_path is not None else {}
    models, upstream_keys = _collect_models(catalog, env)
    api_keys = _api_keys(catalog, env)
    admin_key = env.get(str(catalog.get("admin_key_env") or "VOXGATE_ADMIN_KEY")) or None
    if catalog.get("admin_key_env") and not admin_key:
        raise ConfigError(f"admin_key_env: environment variable {catalog['admin_key_env']} is not set")
    host = host or env.get("VOXGATE_HOST") or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1") and not api_keys and not admin_key:
        raise ConfigError(
            f"binding {host} exposes voxgate beyond this machine: set api_keys in the config "
            "or VOXGATE_API_KEYS=key1,key2"
        )
    database = catalog.get("database") or env.get("VOXGATE_DB") or str(_data_home(env) / "voxgate.db")
    log_content = bool(catalog.get("log_content", env.get("VOXGATE_LOG_CONTENT", "") == "1"))
    return Settings(
        host=host,
        port=port if port is not None else int(env.get("VOXGATE_PORT", "8080")),
        models=models,
        api_keys=api_keys,
        admin_key=admin_key,
        redis_url=_redis_url(catalog, env),
        upstream_api_keys=upstream_keys,
        max_body_bytes=int(
            number(catalog.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES), "max_body_bytes", minimum=1024)
        ),
        database_path=Path(str(database)).expanduser(),
        database_url=str(database) if str(database).startswith(("postgresql://", "postgres://")) else None,
        cache_dir=default_cache_dir(env),
        log_content=log_content,
        record_answers=_record_answers(catalog, env, log_content),
        answer_checker_path=_answer_checker_path(catalog, config_path),
        default_mode=enum_value(Mode, catalog.get("default_mode", "balanced"), "default_mode"),
        breaker_cooldown_s=number(catalog.get("breaker_cooldown_s", 30.0), "breaker_cooldown_s"),
        drain_timeout_s=number(catalog.get("drain_timeout_s", 30.0), "drain_timeout_s", maximum=3600),
        decision_log_max_pending=int(number(catalog.get("decision_log_max_pending", 10_000),
                                             "decision_log_max_pending", minimum=1)),
        request_timeout_s=number(catalog.get("request_timeout_s", 300.0), "request_timeout_s", minimum=1),
        decision_retention_days=None if catalog.get("decision_retention_days") is None else number(
            catalog["decision_retention_days"], "decision_retention_days", minimum=32),
        voice=_voice_settings(catalog, env),
        local=_local_runtime(catalog, env),
        predictor_path=_predictor_path(catalog, config_path),
        telemetry=_telemetry(catalog.get("telemetry")),
    )


def _redis_url(catalog: dict[str, Any], env: Mapping[str, str]) -> str | None:
    """`redis: redis://host:6379/0` (or VOXGATE_REDIS_URL): rate limits and budgets shared by replicas."""
    raw = env.get("VOXGATE_REDIS_URL") or catalog.get("redis")
    if raw is not None and (not isinstance(raw, str) or not raw.startswith(("redis://", "rediss://", "unix://"))):
        raise ConfigError(f"`redis` must be a URL such as redis://127.0.0.1:6379/0, got {raw!r}")
    return raw


def _telemetry(raw: object) -> TelemetrySettings:
    """`telemetry: {otlp_endpoint: http://collector:4318, service_name: voxgate, export_timeout_s: 5}`."""
    if raw is None:
        return TelemetrySettings()
    allowed = {"otlp_endpoint", "service_name", "export_timeout_s"}
    if not isinstance(raw, dict) or set(raw) - allowed:
        raise ConfigError(f"`telemetry` must be a mapping with keys among {sorted(allowed)}, got {raw!r}")
    endpoint = raw.get("otlp_endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))):
        raise ConfigError(f"telemetry.otlp_endpoint: an http(s) URL such as http://127.0.0.1:4318, got {endpoint!r}")
    name = raw.get("service_name", "voxgate")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"telemetry.service_name: a non-empty string, got {name!r}")
    timeout_s = number(raw.get("export_timeout_s", 5.0), "telemetry.export_timeout_s", minimum=0.1, maximum=60)
    return TelemetrySettings(endpoint, name, timeout_s)


def cascade_defaults_document(path: Path | None = None) -> dict[str, Any] | None:
    """The cascade defaults file (`bundled_cascade_file()` unless `path`) as JSON; None when absent."""
    path = path or bundled_cascade_file()
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return document


def _predictor_path(catalog: dict[str, Any], config_path: Path | None) -> Path | None:
    """`predictor: DIR` (from `voxgate train`), relative to the config file's folder.

    Unset: the predictor shipped for the bundled ladder when the ladder is included (models it
    never saw get their catalog prior); `heuristic`: none, the heuristic v1 predictor.
    """
    raw = catalog.get("predictor")
    if raw is None:
        bundled = bundled_predictor_dir()
        included = catalog.get("include_default_models", True)
        return bundled if included and (bundled / "predictor.json").is_file() else None
    if raw == "heuristic":
        return None
    path = _trained_folder(raw, "predictor", config_path)
    if not (path / "predictor.json").is_file():
        raise ConfigError(f"`predictor`: {path} has no predictor.json; create it with `voxgate train FILE --out {raw}`")
    return path


def _trained_folder(raw: object, key: str, config_path: Path | None) -> Path:
    """A folder `voxgate train` wrote, named by catalog `key`; relative paths start at the config file's folder."""
    if not isinstance(raw, str) or not raw:
        raise ConfigError(f"`{key}` must be the folder written by `voxgate train ... --out DIR`")
    path = Path(raw).expanduser()
    return config_path.parent / path if not path.is_absolute() and config_path is not None else path


def _record_answers(catalog: dict[str, Any], env: Mapping[str, str], log_content: bool) -> bool:
    """`record_answers: true` (or VOXGATE_RECORD_ANSWERS=1); answers without their prompts train nothing."""
    raw = catalog.get("record_answers", env.get("VOXGATE_RECORD_ANSWERS", "") == "1")
    if not isinstance(raw, bool):
        raise ConfigError(f"`record_answers` must be true or false, got {raw!r}")
    if raw and not log_content:
        raise ConfigError("`record_answers: true` needs `log_content: true`: an answer is exported with its prompt")
    return raw


def _answer_checker_path(catalog: dict[str, Any], config_path: Path | None) -> Path | None:
    """`answer_checker: DIR`, relative to the config file: DIR or DIR/answer_checker holds `checker.json`."""
    raw = catalog.get("answer_checker")
    if raw is None:
        return None
    path = _trained_folder(raw, "answer_checker", config_path)
    for candidate in (path, path / "answer_checker"):
        if (candidate / "checker.json").is_file():
            return candidate
    raise ConfigError(f"`answer_checker`: {path} has no checker.json; create it with "
                      f"`voxgate outcomes --out mine.csv && voxgate train mine.csv --out {raw}`")


def _local_runtime(catalog: dict[str, Any], env: Mapping[str, str]) -> LocalRuntimeSettings:
    """llama.cpp settings for the bundled models: `local_*` catalog keys, or VOXGATE_LOCAL_THREADS."""
    defaults = LocalRuntimeSettings()
    threads: object = catalog.get("local_threads", defaults.threads)
    if "local_threads" not in catalog and env.get("VOXGATE_LOCAL_THREADS"):
        raw = env["VOXGATE_LOCAL_THREADS"]
        if not raw.isdigit():
            raise ConfigError(f"VOXGATE_LOCAL_THREADS must be a whole number, got {raw!r}")
        threads = int(raw)
    return LocalRuntimeSettings(
        threads=int(number(threads, "local_threads", minimum=1, maximum=64)),
        parallel_slots=int(number(catalog.get("local_parallel_slots", defaults.parallel_slots),
                                   "local_parallel_slots", minimum=1, maximum=64)),
        context_tokens=int(number(catalog.get("local_context_tokens", defaults.context_tokens),
                                   "local_context_tokens", minimum=256, maximum=131072)),
    )
