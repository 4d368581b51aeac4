"""A Gemini Live session's one configuration: read from the client's `session.update`, sent as `setup`.

The Live API takes its configuration once, in the first message of the connection (`setup`), and
cannot change it while the connection is open. So the first `session.update` (either shape) is
translated into `setup`; a later one that changes any of these settings is refused with an
`error` event (`gemini_live.GeminiLiveSocket`).

    OpenAI realtime (GA / beta)                    Gemini Live `setup`
    instructions                                   systemInstruction.parts[0].text
    tools[] {type: function, name, description,    tools[0].functionDeclarations[] {name, description,
             parameters}                                    parameters}
    audio.output.voice / voice (not an OpenAI      generationConfig.speechConfig.voiceConfig
      preset name: those mean Gemini's default)      .prebuiltVoiceConfig.voiceName
    audio.input.turn_detection / turn_detection    realtimeInputConfig.automaticActivityDetection
      null -> manual turns                            {disabled: true} (activityStart / activityEnd)
      server_vad silence_duration_ms,                 {silenceDurationMs, prefixPaddingMs}
        prefix_padding_ms
      interrupt_response: false                    realtimeInputConfig.activityHandling NO_INTERRUPTION
    temperature (beta)                             generationConfig.temperature
    max_output_tokens / max_response_output_tokens generationConfig.maxOutputTokens
    (always)                                       responseModalities [AUDIO], inputAudioTranscription,
                                                   outputAudioTranscription

Audio goes up as PCM16 16 kHz (`INPUT_MIME`) and comes back as PCM16 24 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voxgate.core.types import JSONObject

INPUT_RATE_HZ = 16_000
INPUT_MIME = "audio/pcm;rate=16000"
OPENAI_VOICES = frozenset({"alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse"})


def _default_turn_detection() -> JSONObject:
    return {"type": "server_vad"}


@dataclass(frozen=True)
class LiveSettings:
    """What a client's `session.update`s asked for, in the terms `setup` can carry."""

    instructions: str | None = None
    tools: tuple[JSONObject, ...] = ()
    voice: str | None = None
    turn_detection: JSONObject | None = field(default_factory=_default_turn_detection)
    temperature: float | None = None
    max_output_tokens: int | None = None

    @property
    def manual_turns(self) -> bool:
        return self.turn_detection is None


def _part(session: JSONObject, direction: str) -> JSONObject:
    audio = session.get("audio")
    part = audio.get(direction) if isinstance(audio, dict) else None
    return part if isinstance(part, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _max_tokens(session: JSONObject, current: int | None) -> int | None:
    for key in ("max_output_tokens", "max_response_output_tokens"):
        if key in session:
            value = session[key]
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
    return current


def _tools(raw: Any) -> tuple[JSONObject, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(t for t in raw if isinstance(t, dict) and t.get("type", "function") == "function"
                 and isinstance(t.get("name"), str))


def settings_after(session: Any, current: LiveSettings) -> LiveSettings:
    """The settings once a `session.update` whose `session` object is `session` (either shape) applies."""
    if not isinstance(session, dict):
        return current
    changes: dict[str, Any] = {}
    if isinstance(session.get("instructions"), str):
        changes["instructions"] = session["instructions"]
    if "tools" in session:
        changes["tools"] = _tools(session["tools"])
    voice = _part(session, "output").get("voice", session.get("voice"))
    if isinstance(voice, str):
        changes["voice"] = voice
    detection_holder = _part(session, "input") if "turn_detection" in _part(session, "input") else session
    if "turn_detection" in detection_holder:
        detection = detection_holder["turn_detection"]
        changes["turn_detection"] = detection if isinstance(detection, dict) else None
    if "temperature" in session:
        changes["temperature"] = _number(session["temperature"])
    changes["max_output_tokens"] = _max_tokens(session, current.max_output_tokens)
    return LiveSettings(**{**current.__dict__, **changes})


def _activity_detection(settings: LiveSettings) -> JSONObject:
    detection = settings.turn_detection
    if detection is None:
        return {"disabled": True}
    found: JSONObject = {"disabled": False}
    for ours, theirs in (("silence_duration_ms", "silenceDurationMs"), ("prefix_padding_ms", "prefixPaddingMs")):
        value = detection.get(ours)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            found[theirs] = value
    return found


def _generation_config(settings: LiveSettings) -> JSONObject:
    config: JSONObject = {"responseModalities": ["AUDIO"]}
    if settings.voice is not None and settings.voice.lower() not in OPENAI_VOICES:
        config["speechConfig"] = {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": settings.voice}}}
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.max_output_tokens is not None:
        config["maxOutputTokens"] = settings.max_output_tokens
    return config


def _declaration(tool: JSONObject) -> JSONObject:
    declaration: JSONObject = {"name": tool["name"]}
    if isinstance(tool.get("description"), str):
        declaration["description"] = tool["description"]
    if isinstance(tool.get("parameters"), dict):
        declaration["parameters"] = tool["parameters"]
    return declaration


def setup_message(api_model: str, settings: LiveSettings) -> JSONObject:
    """The connection's first message (see the module's table)."""
    interrupts = settings.turn_detection is None or settings.turn_detection.get("interrupt_response") is not False
    setup: JSONObject = {
        "model": api_model if api_model.startswith("models/") else f"models/{api_model}",
        "generationConfig": _generation_config(settings),
        "realtimeInputConfig": {
            "automaticActivityDetection": _activity_detection(settings),
            "activityHandling": "START_OF_ACTIVITY_INTERRUPTS" if interrupts else "NO_INTERRUPTION",
        },
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    if settings.instructions:
        setup["systemInstruction"] = {"parts": [{"text": settings.instructions}]}
    if settings.tools:
        setup["tools"] = [{"functionDeclarations": [_declaration(t) for t in settings.tools]}]
    return {"setup": setup}


def session_object(session_id: str, model_id: str, settings: LiveSettings, *, beta: bool) -> JSONObject:
    """The session the client is told about (`session.created`, `session.updated`), in its shape."""
    tools = [dict(t) for t in settings.tools]
    if beta:
        return {"id": session_id, "object": "realtime.session", "model": model_id, "modalities": ["audio", "text"],
                "instructions": settings.instructions or "", "voice": settings.voice,
                "input_audio_format": "pcm16", "output_audio_format": "pcm16",
                "input_audio_transcription": {"model": "gemini-live"}, "turn_detection": settings.turn_detection,
                "tools": tools, "temperature": settings.temperature}
    pcm = {"type": "audio/pcm", "rate": 24_000}
    return {"type": "realtime", "object": "realtime.session", "id": session_id, "model": model_id,
            "output_modalities": ["audio"], "instructions": settings.instructions or "", "tools": tools,
            "audio": {"input": {"format": pcm, "turn_detection": settings.turn_detection,
                                "transcription": {"model": "gemini-live"}},
                      "output": {"format": dict(pcm), "voice": settings.voice}}}
