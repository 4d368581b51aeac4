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
    tools: {continue_calls: true, force_calls: true, ground_calls: true,   # VOXGATE_TOOLS_<KEY>=0: off
            check_relevance: false, trim_choices: true,   # check_relevance: opt-in (README, Tool use)
            make_described_calls: true, drop_unasked_arguments: true, ask_for_missing: true,
            ground_calls_after_words: true, answer_unknown_calls: true,
            shortlist: 5}   # more tools than this: the model sees the 5 most relevant (0: all; VOXGATE_TOOLS_SHORTLIST)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from voxgate.bundled_ladder import bundled_cascade_file, bundled_predictor_dir
from voxgate.bundled_ladder import default_models as default_models  # re-exported: the ladder's catalog
from voxgate.catalog_entries import enum_value, number, parse_model
from voxgate.core.errors import ConfigError
from voxgate.core.types import Mode, ModelCard
from voxgate.runtime_settings import LocalRuntimeSettings as LocalRuntimeSettings  # re-exported
from voxgate.runtime_settings import TelemetrySettings as TelemetrySettings  # re-exported
from voxgate.runtime_settings import ToolSettings as ToolSettings  # re-exported
from voxgate.runtime_settings import fitted_context_window, local_runtime_from, telemetry_from, tool_settings_from
from voxgate.voice_settings import REMOTE_AUDIO as REMOTE_AUDIO  # re-exported
from voxgate.voice_settings import RemoteAudioSettings as RemoteAudioSettings  # re-exported
from voxgate.voice_settings import VoiceSettings as VoiceSettings  # re-exported
from voxgate.voice_settings import voice_settings_from

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


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
    local: LocalRuntimeSettings = field(default_factory=LocalRuntimeSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    predictor_path: Path | None = None
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    tools: ToolSettings = field(default_factory=ToolSettings)
    record_answers: bool = False
    """Decisions keep every answer's text and token log-probs (user content: needs `log_content`)."""
    answer_checker_path: Path | None = None
    """A checker directory (`checker.json`) the cascade adds as its `learned` check."""

    def model(self, model_id: str) -> ModelCard | None:
        return next((m for m in self.models if m.id == model_id), None)


_TOP_KEYS = {
    "models", "include_default_models", "api_keys", "max_body_bytes", "database", "log_content",
    "default_mode", "breaker_cooldown_s", "request_timeout_s", "voice", "predictor", "local_threads",
    "local_parallel_slots", "local_voice_first", "local_context_tokens", "drain_timeout_s",
    "decision_log_max_pending", "admin_key_env", "redis", "decision_retention_days", "telemetry", "record_answers",
    "answer_checker", "tools",
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
    local = local_runtime_from(catalog, env)
    models, upstream_keys = _collect_models(catalog, env)
    # an embedded card's context_window is what its server gives a slot (local_server starts it so)
    models = tuple(
        replace(card, context_window=fitted_context_window(card, local)) if card.is_embedded else card
        for card in models
    )
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
        voice=voice_settings_from(catalog, env),
        local=local,
        predictor_path=_predictor_path(catalog, config_path),
        telemetry=telemetry_from(catalog.get("telemetry")),
        tools=tool_settings_from(catalog.get("tools"), env),
    )


def _redis_url(catalog: dict[str, Any], env: Mapping[str, str]) -> str | None:
    """`redis: redis://host:6379/0` (or VOXGATE_REDIS_URL): rate limits and budgets shared by replicas."""
    raw = env.get("VOXGATE_REDIS_URL") or catalog.get("redis")
    if raw is not None and (not isinstance(raw, str) or not raw.startswith(("redis://", "rediss://", "unix://"))):
        raise ConfigError(f"`redis` must be a URL such as redis://127.0.0.1:6379/0, got {raw!r}")
    return raw


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
