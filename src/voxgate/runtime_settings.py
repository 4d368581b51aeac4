"""Runtime sections of the catalog: the bundled llama.cpp servers (`local_*`), `telemetry:` and `tools:`.

Parsed from what `config.py` read (the catalog mapping and the environment it was given); this
module reads no file and no variable itself. `config` re-exports the settings classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxgate.catalog_entries import number
from voxgate.core.errors import ConfigError
from voxgate.core.types import ModelCard


@dataclass(frozen=True)
class LocalRuntimeSettings:
    """How embedded llama.cpp servers run."""

    threads: int = 2
    context_tokens: int | None = None
    """`local_context_tokens`: tokens a slot for every bundled model, each capped at its weights'
    training context; None: each card's own `context_window` (`bundled_ladder`)."""
    parallel_slots: int = 2
    voice_first: bool = True
    """The gateway holds each bundled server's slots and serves waiting voice calls first
    (`backends/slot_gate`); False leaves llama.cpp's own first-come queue (for A/B measurements)."""
    start_timeout_s: float = 180.0
    warmup: bool = True


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
class ToolSettings:
    """`tools:` in the catalog, for models that write tool calls as text (`backends/toolcalls`).
    `continue_calls`: an answer made of calls is continued once, so the model may add the calls it
    left out. `force_calls`: where that adds none, the model is pushed to write one more call, kept
    only if it asks for something new. `ground_calls`: an answer whose calls take no value from the
    conversation is asked again in words (no function fits). `check_relevance` (off by
    default): so is an answer whose calls are all to functions sharing no topic word with the user's
    messages (`toolcall_relevance`); it also drops right calls asked in other words ("Will it rain in
    Oslo?" shares no word with `get_weather`'s "Current weather for a city").
    `trim_choices`: a list argument holding every declared choice, or two or more items the
    conversation names and others, is cut to those it names (`toolcall_choices`), a date written
    in another format than its description declares is rewritten in that one, a currency's name in a
    currency argument becomes its ISO 4217 code, a value is cut to the thing itself ("y=3x+2" to
    "3x+2", "discovery of the neutron" to "neutron"; `toolcall_formats`), a source and a target given
    the other way round from the user's "from A to B" are swapped (`toolcall_direction`), and an
    optional argument left out gets the one declared option the user's words name (`toolcall_options`).
    `make_described_calls`: an answer in words that names a declared
    function as code ("I would need to call `legal_case_fetch` ...") is asked for that call, made
    when it takes a value from the conversation. `drop_unasked_arguments`: an optional argument whose
    value and name the conversation never speaks of is dropped, so the function's default applies,
    and so is an argument the function does not declare or a label the model numbered itself
    ("Mission 1"; `toolcall_optional`), a call after the first that makes up a second request
    (`toolcall_settle`), and a call that only repeats another call's values under the function the
    request does not name (`toolcall_alternatives`). `ask_for_missing`:
    where grounding refused a call that took values from the request but made up required ones, the
    answer in words is asked to ask the user for those (`toolcall_missing`). `ground_calls_after_words`:
    the grounding (and relevance) check also judges calls that follow words in the same answer ("To
    book it I will call: {...}"); streamed, the words have gone out, so the answer asked again in words
    follows them. `answer_unknown_calls`: an answer
    that writes calls to functions the request does not declare (`move` where the tool is `mv`) is
    given back with a "no such function" error naming the declared ones; a second answer that calls
    declared functions replaces it (`toolcall_unknown`; not streamed). `shortlist`: a request declaring
    more than this many tools shows the model only this many, the most relevant to the latest request
    (`toolcall_shortlist`); 0: every tool."""

    continue_calls: bool = True
    force_calls: bool = True
    ground_calls: bool = True
    check_relevance: bool = False
    trim_choices: bool = True
    make_described_calls: bool = True
    drop_unasked_arguments: bool = True
    ask_for_missing: bool = True
    ground_calls_after_words: bool = True
    answer_unknown_calls: bool = True
    shortlist: int = 5


_TOOL_FLAGS = {
    "continue_calls": "VOXGATE_TOOLS_CONTINUE_CALLS",
    "force_calls": "VOXGATE_TOOLS_FORCE_CALLS",
    "ground_calls": "VOXGATE_TOOLS_GROUND_CALLS",
    "check_relevance": "VOXGATE_TOOLS_CHECK_RELEVANCE",
    "trim_choices": "VOXGATE_TOOLS_TRIM_CHOICES",
    "make_described_calls": "VOXGATE_TOOLS_MAKE_DESCRIBED_CALLS",
    "drop_unasked_arguments": "VOXGATE_TOOLS_DROP_UNASKED_ARGUMENTS",
    "ask_for_missing": "VOXGATE_TOOLS_ASK_FOR_MISSING",
    "ground_calls_after_words": "VOXGATE_TOOLS_GROUND_CALLS_AFTER_WORDS",
    "answer_unknown_calls": "VOXGATE_TOOLS_ANSWER_UNKNOWN_CALLS",
}


_SHORTLIST_VARIABLE = "VOXGATE_TOOLS_SHORTLIST"
MAX_SHORTLIST = 128


def tool_settings_from(raw: object, env: Mapping[str, str]) -> ToolSettings:
    """`tools: {continue_calls: false, force_calls: false, ground_calls: false, check_relevance: true,
    shortlist: 8}` (the defaults: all on but `check_relevance`, `shortlist: 5`); each one's
    VOXGATE_TOOLS_<NAME> (1/0, true/false; a whole number for SHORTLIST) wins."""
    keys = [*_TOOL_FLAGS, "shortlist"]
    if raw is not None and (not isinstance(raw, dict) or set(raw) - set(keys)):
        raise ConfigError(f"`tools` must be a mapping with the keys {', '.join(keys)}, got {raw!r}")
    defaults = ToolSettings()
    flags = {key: _tool_flag(key, (raw or {}).get(key, getattr(defaults, key)), env.get(variable, ""))
             for key, variable in _TOOL_FLAGS.items()}
    return ToolSettings(**flags, shortlist=_shortlist((raw or {}).get("shortlist", defaults.shortlist),
                                                      env.get(_SHORTLIST_VARIABLE, "")))


def _shortlist(size: object, variable: str) -> int:
    """`tools.shortlist` (VOXGATE_TOOLS_SHORTLIST wins): a whole number of tools, 0 (off) to MAX_SHORTLIST."""
    where = "tools.shortlist"
    if variable.strip():
        if not variable.strip().isdigit():
            raise ConfigError(f"{_SHORTLIST_VARIABLE} must be a whole number (0: off), got {variable.strip()!r}")
        size, where = int(variable.strip()), _SHORTLIST_VARIABLE
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SHORTLIST:
        raise ConfigError(f"{where} must be a whole number from 0 (off) to {MAX_SHORTLIST}, got {size!r}")
    return size


def _tool_flag(key: str, flag: object, variable: str) -> bool:
    value = variable.strip().lower()
    if value:
        if value not in ("1", "true", "0", "false"):
            raise ConfigError(f"{_TOOL_FLAGS[key]} must be 1, 0, true or false, got {value!r}")
        return value in ("1", "true")
    if not isinstance(flag, bool):
        raise ConfigError(f"tools.{key} must be true or false, got {flag!r}")
    return flag


def telemetry_from(raw: object) -> TelemetrySettings:
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


def _voice_first(catalog: dict[str, Any], env: Mapping[str, str], default: bool) -> bool:
    """`local_voice_first` from the catalog, else VOXGATE_LOCAL_VOICE_FIRST (1/0/true/false)."""
    value: object = catalog.get("local_voice_first", default)
    if "local_voice_first" not in catalog and "VOXGATE_LOCAL_VOICE_FIRST" in env:
        raw = env["VOXGATE_LOCAL_VOICE_FIRST"]
        value = {"1": True, "true": True, "0": False, "false": False}.get(raw.strip().lower(), raw)
    if not isinstance(value, bool):
        raise ConfigError(f"local_voice_first (or VOXGATE_LOCAL_VOICE_FIRST) must be true or false, got {value!r}")
    return value


def local_runtime_from(catalog: dict[str, Any], env: Mapping[str, str]) -> LocalRuntimeSettings:
    """llama.cpp settings for the bundled models: `local_*` catalog keys, or VOXGATE_LOCAL_THREADS."""
    defaults = LocalRuntimeSettings()
    threads: object = catalog.get("local_threads", defaults.threads)
    if "local_threads" not in catalog and env.get("VOXGATE_LOCAL_THREADS"):
        raw = env["VOXGATE_LOCAL_THREADS"]
        if not raw.isdigit():
            raise ConfigError(f"VOXGATE_LOCAL_THREADS must be a whole number, got {raw!r}")
        threads = int(raw)
    return LocalRuntimeSettings(
        voice_first=_voice_first(catalog, env, defaults.voice_first),
        threads=int(number(threads, "local_threads", minimum=1, maximum=64)),
        parallel_slots=int(number(catalog.get("local_parallel_slots", defaults.parallel_slots),
                                   "local_parallel_slots", minimum=1, maximum=64)),
        context_tokens=None if catalog.get("local_context_tokens") is None else int(
            number(catalog["local_context_tokens"], "local_context_tokens", minimum=256, maximum=131072)),
    )


def fitted_context_window(card: ModelCard, runtime: LocalRuntimeSettings) -> int:
    """The context a slot of an embedded card's server holds: `local_context_tokens` if set, else the
    card's own `context_window`, never above the weights' training context."""
    wanted = runtime.context_tokens if runtime.context_tokens is not None else card.context_window
    trained = card.local_weights.trained_context_tokens if card.local_weights is not None else None
    return min(wanted, trained) if trained is not None else wanted
