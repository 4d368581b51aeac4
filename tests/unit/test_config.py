from __future__ import annotations

from pathlib import Path

import pytest

from voxgate.config import load_settings
from voxgate.core.errors import ConfigError
from voxgate.core.types import Capability, Locality, RealtimeDialect

CATALOG = """
models:
  - id: my-vllm
    base_url: http://127.0.0.1:8000/v1/
    api_model: meta-llama/Llama-3.1-8B-Instruct
    api_key_env: MY_KEY
    capabilities: [tools, json]
    context_window: 8192
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    locality: private
include_default_models: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "voxgate.yaml"
    path.write_text(text)
    return path


def test_catalog_is_parsed(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, CATALOG), env={"MY_KEY": "secret", "HOME": str(tmp_path)})
    (card,) = settings.models
    assert card.base_url == "http://127.0.0.1:8000/v1"
    assert card.upstream_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert card.capabilities == {Capability.TOOLS, Capability.JSON}
    assert card.locality is Locality.PRIVATE
    assert settings.upstream_api_keys == {"my-vllm": "secret"}
    assert "secret" not in repr(settings)


def test_defaults_include_the_local_ladder(tmp_path: Path) -> None:
    settings = load_settings(None, env={"HOME": str(tmp_path)})
    assert [m.id for m in settings.models] == ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("models: [{id: x}]", "base_url"),
        ("models: [{id: x, base_url: 'ftp://a'}]", "base_url"),
        ("models: [{id: x, base_url: 'http://a', colour: red}]", "unknown keys"),
        ("models: [{id: x, base_url: 'http://a', locality: moon}]", "locality"),
        ("models: [{id: x, base_url: 'http://a', capabilities: [telepathy]}]", "capabilities"),
        ("models: [{id: x, base_url: 'http://a', price: {input_per_mtok: -1}}]", "input_per_mtok"),
        ("models: [{id: x, base_url: 'http://a', api_key_env: NOPE}]", "NOPE is not set"),
        ("models: [{id: auto, base_url: 'http://a'}]", "auto"),
        ("models: [{id: smollm2-135m, base_url: 'http://a'}]", "declared twice"),
        ("modles: []", "unknown keys"),
        ("models: [1", "not valid YAML"),
        ("include_default_models: false", "no models"),
    ],
)
def test_catalog_errors_say_what_to_fix(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path)})


def test_public_bind_requires_api_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VOXGATE_API_KEYS"):
        load_settings(None, host="0.0.0.0", env={"HOME": str(tmp_path)})
    settings = load_settings(None, host="0.0.0.0", env={"HOME": str(tmp_path), "VOXGATE_API_KEYS": "k1, k2"})
    assert settings.api_keys == {"k1", "k2"}


def test_voice_settings_come_from_the_file_then_the_environment(tmp_path: Path) -> None:
    text = "voice:\n  stt_model: tiny.en\n  max_session_s: 60\n  max_latency_ms: null\n  mode: balanced\n"
    settings = load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path), "VOXGATE_VOICE_TTS_ENGINE": "espeak"})
    voice = settings.voice
    assert (voice.stt_model, voice.tts_engine, voice.max_session_s, voice.max_latency_ms) == (
        "tiny.en", "espeak", 60.0, None)
    assert voice.mode.value == "balanced"
    assert load_settings(None, env={"HOME": str(tmp_path)}).voice.max_session_s == 1800.0


def test_prepared_replies_are_on_by_default_and_switch_off_by_file_or_environment(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert load_settings(None, env=home).voice.prepare_replies is True
    off = _write(tmp_path, "voice:\n  prepare_replies: false\n")
    assert load_settings(off, env=home).voice.prepare_replies is False
    assert load_settings(None, env={**home, "VOXGATE_VOICE_PREPARE_REPLIES": "0"}).voice.prepare_replies is False


def test_partial_transcripts_are_on_at_the_pause_with_an_interval_from_file_or_environment(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    default = load_settings(None, env=home).voice
    assert (default.partial_transcripts, default.partial_transcript_interval_ms) == (True, 0)
    every_half_second = _write(tmp_path, "voice:\n  partial_transcript_interval_ms: 500\n")
    assert load_settings(every_half_second, env=home).voice.partial_transcript_interval_ms == 500
    none_in_speech = {**home, "VOXGATE_VOICE_PARTIAL_TRANSCRIPT_INTERVAL_MS": "0"}
    assert load_settings(every_half_second, env=none_in_speech).voice.partial_transcript_interval_ms == 0
    off = {**home, "VOXGATE_VOICE_PARTIAL_TRANSCRIPTS": "0"}
    assert load_settings(None, env=off).voice.partial_transcripts is False
    off_in_file = _write(tmp_path, "voice:\n  partial_transcripts: false\n")
    assert load_settings(off_in_file, env=home).voice.partial_transcripts is False


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("voice:\n  stt_model: large\n", "stt_model"), ("voice:\n  colour: red\n", "voice"),
     ("voice:\n  max_session_s: -1\n", "max_session_s"),
     ("voice:\n  partial_transcript_interval_ms: -5\n", "partial_transcript_interval_ms")],
)
def test_bad_voice_settings_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path)})


def test_local_runtime_settings(tmp_path: Path) -> None:
    catalog = _write(tmp_path, "local_threads: 1\nlocal_parallel_slots: 3\n")
    settings = load_settings(catalog, env={"HOME": str(tmp_path)})
    assert (settings.local.threads, settings.local.parallel_slots) == (1, 3)
    from_env = load_settings(None, env={"HOME": str(tmp_path), "VOXGATE_LOCAL_THREADS": "2"})
    assert from_env.local.threads == 2
    with pytest.raises(ConfigError, match="VOXGATE_LOCAL_THREADS"):
        load_settings(None, env={"HOME": str(tmp_path), "VOXGATE_LOCAL_THREADS": "many"})
    with pytest.raises(ConfigError, match="local_threads"):
        load_settings(_write(tmp_path, "local_threads: 0\n"), env={"HOME": str(tmp_path)})


def test_voice_first_slots_can_be_turned_off(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert load_settings(None, env=home).local.voice_first is True
    assert load_settings(_write(tmp_path, "local_voice_first: false\n"), env=home).local.voice_first is False
    assert load_settings(None, env={**home, "VOXGATE_LOCAL_VOICE_FIRST": "0"}).local.voice_first is False
    assert load_settings(None, env={**home, "VOXGATE_LOCAL_VOICE_FIRST": "true"}).local.voice_first is True
    with pytest.raises(ConfigError, match="VOXGATE_LOCAL_VOICE_FIRST"):
        load_settings(None, env={**home, "VOXGATE_LOCAL_VOICE_FIRST": "sometimes"})
    with pytest.raises(ConfigError, match="local_voice_first"):
        load_settings(_write(tmp_path, "local_voice_first: 2\n"), env=home)


def test_predictor_path_is_resolved_and_checked(tmp_path: Path) -> None:
    (tmp_path / "learned").mkdir()
    (tmp_path / "learned" / "predictor.json").write_text("{}")
    settings = load_settings(_write(tmp_path, "predictor: learned\n"), env={"HOME": str(tmp_path)})
    assert settings.predictor_path == tmp_path / "learned"
    with pytest.raises(ConfigError, match="voxgate train"):
        load_settings(_write(tmp_path, "predictor: missing\n"), env={"HOME": str(tmp_path)})


def test_recording_answers_is_off_by_default_and_needs_content_logging(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert load_settings(_write(tmp_path, "log_content: true\n"), env=home).record_answers is False
    settings = load_settings(_write(tmp_path, "log_content: true\nrecord_answers: true\n"), env=home)
    assert (settings.log_content, settings.record_answers) == (True, True)
    from_env = load_settings(None, env={**home, "VOXGATE_LOG_CONTENT": "1", "VOXGATE_RECORD_ANSWERS": "1"})
    assert from_env.record_answers is True
    with pytest.raises(ConfigError, match="needs `log_content: true`"):
        load_settings(_write(tmp_path, "record_answers: true\n"), env=home)
    with pytest.raises(ConfigError, match="must be true or false"):
        load_settings(_write(tmp_path, "log_content: true\nrecord_answers: yes please\n"), env=home)


def test_answer_checker_path_takes_the_train_folder_or_the_checker_folder(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    (tmp_path / "trained" / "answer_checker").mkdir(parents=True)
    (tmp_path / "trained" / "answer_checker" / "checker.json").write_text("{}")
    assert load_settings(_write(tmp_path, "voice: {enabled: false}\n"), env=home).answer_checker_path is None
    for raw in ("trained", "trained/answer_checker"):
        settings = load_settings(_write(tmp_path, f"answer_checker: {raw}\n"), env=home)
        assert settings.answer_checker_path == tmp_path / "trained" / "answer_checker"
    with pytest.raises(ConfigError, match=r"has no checker.json; create it with `voxgate outcomes --out mine.csv"):
        load_settings(_write(tmp_path, "answer_checker: elsewhere\n"), env=home)


def test_remote_audio_engines_take_a_server_and_its_key_from_the_environment(tmp_path: Path) -> None:
    text = ("voice:\n  stt_model: openai-audio\n  tts_engine: openai-audio\n"
            "  remote: {base_url: 'https://audio.example.com/v1', voice: nova}\n"
            "  max_upload_bytes: 1048576\n")
    env = {"HOME": str(tmp_path), "VOXGATE_VOICE_REMOTE_API_KEY": "sk-remote"}
    voice = load_settings(_write(tmp_path, text), env=env).voice
    assert voice.remote is not None
    assert (voice.remote.base_url, voice.remote.voice, voice.remote.stt_model) == (
        "https://audio.example.com/v1", "nova", "whisper-1")
    assert voice.remote.api_key == "sk-remote"
    assert "sk-remote" not in repr(voice)
    assert voice.max_upload_bytes == 1048576


@pytest.mark.parametrize(
    "text",
    ["voice:\n  stt_model: openai-audio\n", "voice:\n  remote: {base_url: 7}\n",
     "voice:\n  tts_engine: openai-audio\n  remote: {base_url: 'http://x/v1', colour: red}\n"],
)
def test_bad_remote_audio_settings_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="remote"):
        load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path)})


REALTIME_CATALOG = """
models:
  - id: gpt-realtime
    backend: openai-realtime
    base_url: wss://api.openai.com/v1/realtime/
    api_model: gpt-realtime
    api_key_env: OPENAI_KEY
    capabilities: [tools]
    price: {input_per_mtok: 32, output_per_mtok: 64}
  - id: azure-voice
    backend: openai-realtime
    base_url: https://team.openai.azure.com/openai/realtime
    api_model: my-deployment
    api_version: 2025-04-01-preview
include_default_models: false
"""


def test_native_audio_models_are_parsed_with_audio(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, REALTIME_CATALOG), env={"OPENAI_KEY": "sk", "HOME": str(tmp_path)})
    openai, azure = settings.models
    assert openai.is_native_audio
    assert azure.is_native_audio
    assert openai.base_url == "wss://api.openai.com/v1/realtime"
    assert openai.capabilities == {Capability.TOOLS, Capability.AUDIO}
    assert azure.api_version == "2025-04-01-preview"
    assert settings.upstream_api_keys == {"gpt-realtime": "sk"}
    assert openai.realtime_dialect is RealtimeDialect.GA
    assert azure.realtime_dialect is RealtimeDialect.BETA  # a dated -preview deployment speaks beta


@pytest.mark.parametrize(("entry", "dialect"), [
    ("base_url: wss://api.openai.com/v1/realtime", RealtimeDialect.GA),
    ("base_url: wss://api.openai.com/v1/realtime\n    realtime_dialect: beta", RealtimeDialect.BETA),
    ("base_url: https://t.openai.azure.com/openai/realtime", RealtimeDialect.BETA),
    ("base_url: https://t.openai.azure.com/openai/realtime\n    api_version: '2025-08-28'", RealtimeDialect.GA),
    ("base_url: https://t.openai.azure.com/openai/realtime?api-version=2025-08-28", RealtimeDialect.GA),
    ("base_url: https://t.openai.azure.com/openai/realtime\n    realtime_dialect: ga", RealtimeDialect.GA),
    ("base_url: https://t.openai.azure.com/openai/v1/realtime", RealtimeDialect.GA),
])
def test_the_upstream_dialect_is_given_or_follows_the_url(tmp_path: Path, entry: str,
                                                          dialect: RealtimeDialect) -> None:
    text = f"models:\n  - id: m\n    backend: openai-realtime\n    {entry}\ninclude_default_models: false\n"
    card, = load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path)}).models
    assert card.realtime_dialect is dialect


@pytest.mark.parametrize(("entry", "fragment"), [
    ("backend: gemini\n    base_url: wss://x/v1/realtime",
     "'gemini' is not one of: openai, gemini-live, openai-realtime"),
    ("backend: gemini-live\n    base_url: ftp://x/live", "the realtime endpoint"),
    ("backend: openai-realtime\n    base_url: ftp://x/realtime", "the realtime endpoint"),
    ("backend: openai\n    base_url: wss://x/v1", "an http(s) URL"),
    ("base_url: http://x/v1\n    api_version: '2025-01-01'", "Azure OpenAI realtime deployment only"),
    ("base_url: http://x/v1\n    realtime_dialect: beta", "openai-realtime` model only"),
    ("backend: openai-realtime\n    base_url: wss://x/v1/realtime\n    realtime_dialect: v2",
     "is not one of: ga, beta"),
])
def test_bad_native_audio_entries_say_what_is_wrong(tmp_path: Path, entry: str, fragment: str) -> None:
    text = f"models:\n  - id: m\n    {entry}\ninclude_default_models: false\n"
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text), env={"HOME": str(tmp_path)})
    assert fragment in str(info.value)


def test_telemetry_is_off_unless_an_otlp_endpoint_is_set(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, CATALOG), env={"MY_KEY": "k", "HOME": str(tmp_path)}).telemetry.traces_url \
        is None
    text = CATALOG + "telemetry: {otlp_endpoint: 'http://127.0.0.1:4318/', service_name: gw-a, export_timeout_s: 2}\n"
    telemetry = load_settings(_write(tmp_path, text), env={"MY_KEY": "k", "HOME": str(tmp_path)}).telemetry
    assert telemetry.traces_url == "http://127.0.0.1:4318/v1/traces"
    assert telemetry.service_name == "gw-a"
    assert telemetry.export_timeout_s == 2.0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("telemetry: {otlp_endpoint: 'grpc://a:4317'}", "otlp_endpoint"),
        ("telemetry: {otlp_endpoint: 'http://a', sampler: always}", "telemetry"),
        ("telemetry: {service_name: ''}", "service_name"),
        ("telemetry: {export_timeout_s: 0}", "export_timeout_s"),
        ("telemetry: http://a:4318", "telemetry"),
    ],
)
def test_bad_telemetry_settings_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, CATALOG + text + "\n"), env={"MY_KEY": "k", "HOME": str(tmp_path)})


def test_voice_price_and_model_rate_limits_are_parsed(tmp_path: Path) -> None:
    text = ("models:\n  - id: m\n    base_url: http://x/v1\n    rate_limits: {rpm: 60, tpm: 1000}\n"
            "  - id: n\n    base_url: http://y/v1\n    rate_limits: {tpm: 500}\n"
            "include_default_models: false\nvoice:\n  price: {stt_per_minute: 0.006, tts_per_minute: 0.015}\n")
    settings = load_settings(_write(tmp_path, text), env={})
    assert (settings.voice.price.stt_per_minute, settings.voice.price.tts_per_minute) == (0.006, 0.015)
    limits = {card.id: (card.rate_limits.rpm, card.rate_limits.tpm) for card in settings.models}
    assert limits == {"m": (60, 1000), "n": (None, 500)}
    default = load_settings(_write(tmp_path, "models:\n  - id: m\n    base_url: http://x/v1\n"), env={})
    assert default.voice.price.cost_usd(60, 60) == 0.0
    assert all(card.rate_limits.rpm is None for card in default.models)


@pytest.mark.parametrize(("text", "fragment"), [
    ("voice: {price: {stt_per_minute: -1}}\n", "voice.price.stt_per_minute"),
    ("voice: {price: {per_second: 1}}\n", "voice.price"),
    ("models:\n  - {id: m, base_url: 'http://x/v1', rate_limits: {rpm: 0}}\n", "rate_limits.rpm"),
    ("models:\n  - {id: m, base_url: 'http://x/v1', rate_limits: {rpm: 1.5}}\n", "rate_limits.rpm"),
    ("models:\n  - {id: m, base_url: 'http://x/v1', rate_limits: {rps: 3}}\n", "rate_limits"),
])
def test_bad_prices_and_rate_limits_say_where(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_settings(_write(tmp_path, text), env={})


def test_tool_call_continuation_is_on_unless_the_file_or_the_environment_turns_it_off(tmp_path: Path) -> None:
    home = {"MY_KEY": "k", "HOME": str(tmp_path)}
    assert load_settings(_write(tmp_path, CATALOG), env=home).tools.continue_calls is True
    off = _write(tmp_path, CATALOG + "tools: {continue_calls: false}\n")
    assert load_settings(off, env=home).tools.continue_calls is False
    assert load_settings(off, env={**home, "VOXGATE_TOOLS_CONTINUE_CALLS": "true"}).tools.continue_calls is True
    on = _write(tmp_path, CATALOG)
    for value, expected in (("0", False), ("false", False), (" FALSE ", False), ("1", True)):
        assert load_settings(on, env={**home, "VOXGATE_TOOLS_CONTINUE_CALLS": value}).tools.continue_calls is expected


def test_forced_and_grounded_calls_are_on_unless_the_file_or_the_environment_turns_them_off(tmp_path: Path) -> None:
    home = {"MY_KEY": "k", "HOME": str(tmp_path)}
    tools = load_settings(_write(tmp_path, CATALOG), env=home).tools
    assert (tools.force_calls, tools.ground_calls) == (True, True)
    both_off = "tools: {force_calls: false, ground_calls: false}\n"
    off = load_settings(_write(tmp_path, CATALOG + both_off), env=home).tools
    assert (off.continue_calls, off.force_calls, off.ground_calls) == (True, False, False)
    env = {**home, "VOXGATE_TOOLS_FORCE_CALLS": "0", "VOXGATE_TOOLS_GROUND_CALLS": "true"}
    mixed = load_settings(_write(tmp_path, CATALOG + "tools: {ground_calls: false}\n"), env=env).tools
    assert (mixed.continue_calls, mixed.force_calls, mixed.ground_calls) == (True, False, True)


def test_the_relevance_check_is_off_unless_the_file_or_the_environment_turns_it_on(tmp_path: Path) -> None:
    home = {"MY_KEY": "k", "HOME": str(tmp_path)}
    assert load_settings(_write(tmp_path, CATALOG), env=home).tools.check_relevance is False
    assert load_settings(_write(tmp_path, CATALOG), env=home).tools.trim_choices is True
    trim_off = load_settings(_write(tmp_path, CATALOG + "tools: {trim_choices: false}\n"), env=home).tools
    assert (trim_off.trim_choices, trim_off.check_relevance) == (False, False)
    file_on = _write(tmp_path, CATALOG + "tools: {check_relevance: true}\n")
    assert load_settings(file_on, env=home).tools.check_relevance is True
    trim_env = {**home, "VOXGATE_TOOLS_TRIM_CHOICES": "0"}
    assert load_settings(_write(tmp_path, CATALOG), env=trim_env).tools.trim_choices is False
    off = _write(tmp_path, CATALOG + "tools: {check_relevance: false}\n")
    assert load_settings(off, env=home).tools.check_relevance is False
    assert load_settings(off, env={**home, "VOXGATE_TOOLS_CHECK_RELEVANCE": "1"}).tools.check_relevance is True
    on = _write(tmp_path, CATALOG)
    assert load_settings(on, env={**home, "VOXGATE_TOOLS_CHECK_RELEVANCE": "0"}).tools.check_relevance is False


@pytest.mark.parametrize(
    ("text", "variable", "fragment"),
    [
        ("tools: {continue_calls: maybe}", "", "tools.continue_calls"),
        ("tools: {continue_calls: 1}", "", "tools.continue_calls"),
        ("tools: {continue: false}", "", "continue_calls"),
        ("tools: [continue_calls]", "", "continue_calls"),
        ("", "off", "VOXGATE_TOOLS_CONTINUE_CALLS"),
        ("tools: {force_calls: yes please}", "", "tools.force_calls"),
        ("tools: {ground_calls: 0}", "", "tools.ground_calls"),
        ("tools: {ground: false}", "", "ground_calls"),
    ],
)
def test_tool_settings_errors_say_what_to_fix(tmp_path: Path, text: str, variable: str, fragment: str) -> None:
    env = {"MY_KEY": "k", "HOME": str(tmp_path), "VOXGATE_TOOLS_CONTINUE_CALLS": variable}
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, CATALOG + text + "\n"), env=env)


def test_the_tool_shortlist_is_5_unless_the_file_or_the_environment_says_otherwise(tmp_path: Path) -> None:
    home = {"MY_KEY": "k", "HOME": str(tmp_path)}
    assert load_settings(_write(tmp_path, CATALOG), env=home).tools.shortlist == 5
    assert load_settings(_write(tmp_path, CATALOG + "tools: {shortlist: 0}\n"), env=home).tools.shortlist == 0
    eight = _write(tmp_path, CATALOG + "tools: {shortlist: 8, trim_choices: false}\n")  # the same file again
    tools = load_settings(eight, env=home).tools
    assert (tools.shortlist, tools.trim_choices) == (8, False)
    assert load_settings(eight, env={**home, "VOXGATE_TOOLS_SHORTLIST": "0"}).tools.shortlist == 0
    assert load_settings(eight, env={**home, "VOXGATE_TOOLS_SHORTLIST": " 12 "}).tools.shortlist == 12
    assert load_settings(eight, env={**home, "VOXGATE_TOOLS_SHORTLIST": ""}).tools.shortlist == 8


@pytest.mark.parametrize(
    ("text", "variable", "fragment"),
    [
        ("tools: {shortlist: -1}", "", "tools.shortlist"),
        ("tools: {shortlist: 2.5}", "", "tools.shortlist"),
        ("tools: {shortlist: true}", "", "tools.shortlist"),
        ("tools: {shortlist: 1000}", "", "tools.shortlist"),
        ("tools: {short_list: 5}", "", "shortlist"),
        ("", "five", "VOXGATE_TOOLS_SHORTLIST"),
        ("", "-3", "VOXGATE_TOOLS_SHORTLIST"),
        ("", "999", "VOXGATE_TOOLS_SHORTLIST"),
    ],
)
def test_tool_shortlist_errors_say_what_to_fix(tmp_path: Path, text: str, variable: str, fragment: str) -> None:
    env = {"MY_KEY": "k", "HOME": str(tmp_path), "VOXGATE_TOOLS_SHORTLIST": variable}
    with pytest.raises(ConfigError, match=fragment):
        load_settings(_write(tmp_path, CATALOG + text + "\n"), env=env)
