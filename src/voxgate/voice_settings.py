"""The `voice:` section of the catalog: speech engines, session limits, prices.

Parsed from what `config.py` read (the catalog mapping and the environment it was given); this
module reads no file and no variable itself. `config` re-exports `VoiceSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voxgate.catalog_entries import enum_value, number, parse_speech_price
from voxgate.core.errors import ConfigError
from voxgate.core.types import Mode, SpeechPrice


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
    `first_piece_chars`: how much of a reply is synthesised before its first audio goes out (12, two
    or three words: v2v p50 0.85-0.87x of 24 on a quiet run, bench/results/voice_latency.md 2026-12-03).
    `min_quality` is the voice turns' quality floor (predicted probability of a good answer; 0.4
    keeps SmolLM2-135M out unless the predictor rates it for the prompt); when no model meets both
    it and the budget, the floor wins (`server.realtime.RoutedReplySource`). None: no floor.
    `backchannels`: "mm-hm", "yeah", "okay" said over a reply do not cancel it (`voice.realtime.backchannel`).
    `turn_model` `smart-turn` adds an audio end-of-turn judge to `semantic_vad` (`voice.engines.smart_turn`).
    `prepare_replies`: once the pause's speculative transcript is ready, the reply (routed LLM stream and
    first clause's audio) is prepared before the turn ends, and used if the turn commits with the same
    transcript and settings (`voice.realtime.prepared_reply`; env VOXGATE_VOICE_PREPARE_REPLIES).
    `partial_transcripts`: decode the turn once the VAD has heard 100 ms of a pause; the commit reuses
    that decode, so the transcript is ready at the end of the turn and the reply is prepared from it
    during the pause (`voice.realtime.partial_transcripts`; env VOXGATE_VOICE_PARTIAL_TRANSCRIPTS).
    False: the older speculation, 200 ms into the pause. `partial_transcript_interval_ms` > 0 also
    re-decodes the turn every that many ms of speech (env VOXGATE_VOICE_PARTIAL_TRANSCRIPT_INTERVAL_MS;
    default 0: measured, those decodes bought nothing with one session and cost with four).
    Each decode counts as transcribed audio (`price`), as the pause's speculative one does.
    `answer_check`: when a turn is routed to a model cheaper than the strongest eligible one, its first
    sentence is checked (token confidence, arithmetic, echo) before any of it is spoken, and a failed
    check hands the turn to the strongest model (`routing.cascade.streamed`; env VOXGATE_VOICE_ANSWER_CHECK).
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
    first_piece_chars: int = 12
    min_quality: float | None = 0.4
    backchannels: bool = True
    turn_model: str = "none"
    prepare_replies: bool = True
    partial_transcripts: bool = True
    partial_transcript_interval_ms: int = 0
    answer_check: bool = True
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
            raise ConfigError("voice partial_transcript_interval_ms must be 0 (none during speech) or positive")


_VOICE_KEYS = {
    "enabled", "stt_model", "stt_window", "tts_engine", "mode", "max_latency_ms", "max_session_s", "max_append_bytes",
    "max_buffered_audio_s", "send_queue_events", "max_output_tokens", "max_upload_bytes", "max_upload_audio_s",
    "remote", "first_piece_chars", "min_quality", "backchannels", "turn_model", "prepare_replies", "price",
    "partial_transcripts", "partial_transcript_interval_ms", "answer_check",
}


def _voice_mapping(catalog: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The catalog's `voice:` keys with the VOXGATE_VOICE_* variables laid over them."""
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
    for flag in ("enabled", "backchannels", "prepare_replies", "partial_transcripts", "answer_check"):
        if env.get(f"VOXGATE_VOICE_{flag.upper()}"):
            merged[flag] = env[f"VOXGATE_VOICE_{flag.upper()}"] not in ("0", "false", "no")
    return merged


def voice_settings_from(catalog: dict[str, Any], env: Mapping[str, str]) -> VoiceSettings:
    """The `voice:` mapping of the config file, then VOXGATE_VOICE_* variables (which win)."""
    merged = _voice_mapping(catalog, env)
    defaults = VoiceSettings()
    latency = merged.get("max_latency_ms", defaults.max_latency_ms)
    floor = merged.get("min_quality", defaults.min_quality)
    return VoiceSettings(
        enabled=bool(merged.get("enabled", True)),
        backchannels=bool(merged.get("backchannels", defaults.backchannels)),
        prepare_replies=bool(merged.get("prepare_replies", defaults.prepare_replies)),
        partial_transcripts=bool(merged.get("partial_transcripts", defaults.partial_transcripts)),
        answer_check=bool(merged.get("answer_check", defaults.answer_check)),
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
        remote=remote_audio_from(merged.get("remote"), env),
        first_piece_chars=int(number(merged.get("first_piece_chars", defaults.first_piece_chars),
                                      "voice.first_piece_chars", minimum=10, maximum=250)),
        min_quality=None if floor is None else number(floor, "voice.min_quality", maximum=1.0),
        price=parse_speech_price(merged.get("price"), "voice.price"),
    )


def remote_audio_from(raw: Any, env: Mapping[str, str]) -> RemoteAudioSettings | None:
    if raw is None:
        return None
    keys = {"base_url", "stt_model", "tts_model", "voice"}
    if not isinstance(raw, dict) or set(raw) - keys or not isinstance(raw.get("base_url"), str) \
            or not all(isinstance(v, str) and v for v in raw.values()):
        raise ConfigError(f"`voice.remote` must map {sorted(keys)} to strings, with a base_url")
    return RemoteAudioSettings(api_key=env.get("VOXGATE_VOICE_REMOTE_API_KEY") or None, **raw)
