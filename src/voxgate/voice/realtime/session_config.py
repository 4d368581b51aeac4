"""A realtime session's settings: parsed from `session.update` (GA or beta shape), rendered back.

Both shapes are accepted whatever the connection speaks, because clients mix them:

    GA    {"type": "realtime", "output_modalities": ["audio"], "instructions": "...",
           "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                               "turn_detection": {"type": "server_vad", ...} | null,
                               "transcription": {"model": "..."}},
                     "output": {"format": {...}, "voice": "alloy"}},
           "tools": [...], "tool_choice": "auto", "max_output_tokens": 300 | "inf"}
    beta  {"modalities": ["text", "audio"], "input_audio_format": "pcm16" | "g711_ulaw" | "g711_alaw",
           "output_audio_format": ..., "turn_detection": ..., "voice": "...", "temperature": 0.8,
           "input_audio_transcription": {...}, "max_response_output_tokens": ...}

Fields voxgate does not use (`tracing`, `include`, `noise_reduction`, `truncation`, `prompt`,
`speed`, a transcription model name) are accepted and ignored, so SDKs that send them
(the openai-agents RealtimeRunner does) connect unchanged. Fields it uses are type-checked; a bad
one raises InvalidRequestError naming the parameter. Until the first `session.update` the session
runs on `SessionConfig()`: PCM16 24 kHz both ways, server VAD, audio + transcript output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.audio.formats import AudioFormat
from voxgate.voice.engines.vad import VadConfig
from voxgate.voice.realtime.end_of_turn import EAGERNESS_LEVELS, SemanticTimings

_GA_FORMATS = {"audio/pcm": AudioFormat.PCM16, "audio/pcmu": AudioFormat.PCMU, "audio/pcma": AudioFormat.PCMA}


@dataclass(frozen=True)
class TurnDetection:
    """`server_vad` settings, or `semantic_vad` with its `eagerness` (`realtime.end_of_turn`): the
    VAD then waits the eagerness's longest pause, and a finished-sounding turn ends sooner."""

    kind: str = "server_vad"
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True
    idle_timeout_ms: int | None = None
    eagerness: str = "auto"

    @property
    def semantic(self) -> SemanticTimings | None:
        return SemanticTimings.for_eagerness(self.eagerness) if self.kind == "semantic_vad" else None

    def as_json(self) -> JSONObject:
        body: JSONObject = {"type": self.kind, "create_response": self.create_response,
                            "interrupt_response": self.interrupt_response}
        if self.kind == "server_vad":
            body.update(threshold=self.threshold, prefix_padding_ms=self.prefix_padding_ms,
                        silence_duration_ms=self.silence_duration_ms, idle_timeout_ms=self.idle_timeout_ms)
        else:
            body["eagerness"] = self.eagerness
        return body


@dataclass(frozen=True)
class SessionConfig:
    model: str = "auto"
    instructions: str = ""
    input_format: AudioFormat = AudioFormat.PCM16
    output_format: AudioFormat = AudioFormat.PCM16
    turn_detection: TurnDetection | None = TurnDetection()
    voice: str = "alloy"
    output_modalities: tuple[str, ...] = ("audio",)
    tools: tuple[JSONObject, ...] = ()
    tool_choice: Any = "auto"
    temperature: float | None = None
    max_output_tokens: int | None = None

    @property
    def speaks(self) -> bool:
        return "audio" in self.output_modalities


def _fail(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="invalid_value")


def _object(value: Any, param: str) -> JSONObject:
    if not isinstance(value, dict):
        raise _fail(param, f"`{param}` must be an object.")
    return value


def _string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise _fail(param, f"`{param}` must be a string.")
    return value


def parse_modalities(value: Any, param: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(m in ("text", "audio") for m in value):
        raise _fail(param, f"`{param}` must be [\"audio\"] or [\"text\"] (beta: [\"text\", \"audio\"]).")
    return ("audio",) if "audio" in value else ("text",)


def parse_max_tokens(value: Any, param: str) -> int | None:
    if value == "inf" or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        raise _fail(param, f"`{param}` must be an integer between 1 and 4096, or \"inf\".")
    return value


def _parse_format(value: Any, param: str) -> AudioFormat:
    if isinstance(value, str):
        try:
            return AudioFormat(value)
        except ValueError:
            raise _fail(param, f"`{param}` {value!r} is not supported; use pcm16, g711_ulaw or g711_alaw.") from None
    kind = _object(value, param).get("type")
    if kind not in _GA_FORMATS:
        raise _fail(param, f"`{param}.type` {kind!r} is not supported; use audio/pcm, audio/pcmu or audio/pcma.")
    if kind == "audio/pcm" and value.get("rate", 24_000) != 24_000:
        raise _fail(f"{param}.rate", "audio/pcm must be 24000 Hz.")
    return _GA_FORMATS[kind]


def _number(body: JSONObject, key: str, param: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(f"{param}.{key}", f"`{param}.{key}` must be a number between {low:g} and {high:g}.")
    return float(value)


def parse_turn_detection(value: Any, param: str) -> TurnDetection | None:
    if value is None:
        return None
    body = _object(value, param)
    kind = body.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise _fail(f"{param}.type", f"`{param}.type` must be server_vad, semantic_vad or null.")
    base = TurnDetection(kind=kind)
    threshold = _number(body, "threshold", param, 0.0, 1.0)
    prefix_ms = _number(body, "prefix_padding_ms", param, 0, 10_000)
    silence_ms = _number(body, "silence_duration_ms", param, 0, 10_000)
    idle_ms = _number(body, "idle_timeout_ms", param, 1, 3_600_000)
    for flag in ("create_response", "interrupt_response"):
        if flag in body and not isinstance(body[flag], bool):
            raise _fail(f"{param}.{flag}", f"`{param}.{flag}` must be true or false.")
    eagerness = body.get("eagerness", "auto")
    if eagerness not in EAGERNESS_LEVELS:
        raise _fail(f"{param}.eagerness", f"`{param}.eagerness` must be one of {', '.join(EAGERNESS_LEVELS)}.")
    if kind == "semantic_vad":  # its pause comes from the eagerness, as at OpenAI
        silence_ms = float(SemanticTimings.for_eagerness(eagerness).max_silence_ms)
    return replace(
        base,
        threshold=base.threshold if threshold is None else threshold,
        prefix_padding_ms=base.prefix_padding_ms if prefix_ms is None else int(prefix_ms),
        silence_duration_ms=base.silence_duration_ms if silence_ms is None else int(silence_ms),
        idle_timeout_ms=None if idle_ms is None else int(idle_ms),
        eagerness=eagerness,
        create_response=body.get("create_response", True),
        interrupt_response=body.get("interrupt_response", True),
    )


def parse_tools(value: Any, param: str) -> tuple[JSONObject, ...]:
    """Realtime tools are flat: {"type": "function", "name", "description", "parameters"}."""
    if not isinstance(value, list):
        raise _fail(param, f"`{param}` must be a list of function tools.")
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(
            tool.get("name"), str
        ):
            raise _fail(f"{param}[{index}]", f"`{param}[{index}]` must be {{\"type\": \"function\", \"name\": ...}}.")
    return tuple(value)


def _apply_audio(config: SessionConfig, audio: JSONObject) -> SessionConfig:
    inp = _object(audio.get("input") or {}, "session.audio.input")
    out = _object(audio.get("output") or {}, "session.audio.output")
    if "format" in inp:
        config = replace(config, input_format=_parse_format(inp["format"], "session.audio.input.format"))
    if "turn_detection" in inp:
        td = parse_turn_detection(inp["turn_detection"], "session.audio.input.turn_detection")
        config = replace(config, turn_detection=td)
    if "format" in out:
        config = replace(config, output_format=_parse_format(out["format"], "session.audio.output.format"))
    if "voice" in out:
        config = replace(config, voice=_string(out["voice"], "session.audio.output.voice"))
    return config


def _apply_beta(config: SessionConfig, session: JSONObject) -> SessionConfig:
    if "input_audio_format" in session:
        fmt = _parse_format(session["input_audio_format"], "session.input_audio_format")
        config = replace(config, input_format=fmt)
    if "output_audio_format" in session:
        fmt = _parse_format(session["output_audio_format"], "session.output_audio_format")
        config = replace(config, output_format=fmt)
    if "turn_detection" in session:
        td = parse_turn_detection(session["turn_detection"], "session.turn_detection")
        config = replace(config, turn_detection=td)
    if "voice" in session:
        config = replace(config, voice=_string(session["voice"], "session.voice"))
    if "modalities" in session:
        config = replace(config, output_modalities=parse_modalities(session["modalities"], "session.modalities"))
    if "max_response_output_tokens" in session:
        tokens = parse_max_tokens(session["max_response_output_tokens"], "session.max_response_output_tokens")
        config = replace(config, max_output_tokens=tokens)
    if "temperature" in session:
        config = replace(config, temperature=_number(session, "temperature", "session", 0.0, 2.0))
    return config


def apply_session_update(config: SessionConfig, session: Any) -> SessionConfig:
    """Return `config` changed by a `session.update` payload; raise InvalidRequestError on bad fields."""
    session = _object(session, "session")
    if session.get("type", "realtime") != "realtime":
        raise _fail("session.type", "only `session.type` \"realtime\" is supported (not transcription sessions).")
    if "model" in session:
        config = replace(config, model=_string(session["model"], "session.model"))
    if "instructions" in session:
        config = replace(config, instructions=_string(session["instructions"], "session.instructions"))
    if "audio" in session:
        config = _apply_audio(config, _object(session["audio"], "session.audio"))
    if "output_modalities" in session:
        modalities = parse_modalities(session["output_modalities"], "session.output_modalities")
        config = replace(config, output_modalities=modalities)
    if "tools" in session:
        config = replace(config, tools=parse_tools(session["tools"], "session.tools"))
    if "tool_choice" in session:
        config = replace(config, tool_choice=session["tool_choice"])
    if "max_output_tokens" in session:
        tokens = parse_max_tokens(session["max_output_tokens"], "session.max_output_tokens")
        config = replace(config, max_output_tokens=tokens)
    return _apply_beta(config, session)


def render_session(config: SessionConfig, session_id: str, beta: bool) -> JSONObject:
    """The `session` object of `session.created` / `session.updated`, in the connection's shape."""
    td = None if config.turn_detection is None else config.turn_detection.as_json()
    tokens: int | str = config.max_output_tokens or "inf"
    common: JSONObject = {"id": session_id, "object": "realtime.session", "model": config.model,
                          "instructions": config.instructions, "tools": list(config.tools),
                          "tool_choice": config.tool_choice}
    if beta:
        return {**common, "modalities": ["text", "audio"] if config.speaks else ["text"],
                "voice": config.voice, "input_audio_format": config.input_format.value,
                "output_audio_format": config.output_format.value, "turn_detection": td,
                "input_audio_transcription": {"model": "whisper-1"}, "temperature": config.temperature or 0.8,
                "max_response_output_tokens": tokens}
    return {**common, "type": "realtime", "output_modalities": list(config.output_modalities),
            "max_output_tokens": tokens,
            "audio": {"input": {"format": config.input_format.ga_json, "turn_detection": td,
                                "transcription": {"model": "whisper-1"}},
                      "output": {"format": config.output_format.ga_json, "voice": config.voice}}}


def vad_config_of(turn_detection: TurnDetection | None) -> VadConfig | None:
    """The VAD settings turn detection asks for (None: no turn detection, the client commits)."""
    if turn_detection is None:
        return None
    return VadConfig(threshold=turn_detection.threshold, prefix_padding_ms=turn_detection.prefix_padding_ms,
                     silence_duration_ms=turn_detection.silence_duration_ms)
