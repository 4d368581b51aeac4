"""The client's audio formats and the session objects that name them, in both protocol shapes.

The proxy always runs the upstream at PCM16 24 kHz (every OpenAI realtime model takes it) and
converts for a client that asked for G.711: a client's `session.update` is read for its formats
(`client_formats`) and sent upstream with PCM16 in their place (`with_upstream_formats`); the
upstream's `session.created`/`session.updated` go back naming the client's formats (`with_client_formats`).

    beta  session.input_audio_format / output_audio_format: "pcm16" | "g711_ulaw" | "g711_alaw"
    GA    session.audio.input.format / audio.output.format: {"type": "audio/pcm", "rate": 24000}
          | {"type": "audio/pcmu"} | {"type": "audio/pcma"}
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.audio.formats import AudioFormat

_GA_TYPES = {"audio/pcm": AudioFormat.PCM16, "audio/pcmu": AudioFormat.PCMU, "audio/pcma": AudioFormat.PCMA}


class ClientFormats(NamedTuple):
    input: AudioFormat = AudioFormat.PCM16
    output: AudioFormat = AudioFormat.PCM16

    @property
    def converts(self) -> bool:
        return self != ClientFormats()


def _beta_format(value: Any, param: str) -> AudioFormat:
    try:
        return AudioFormat(value)
    except ValueError as exc:
        raise InvalidRequestError(f"`{param}` must be pcm16, g711_ulaw or g711_alaw.", param=param,
                                  code="invalid_value") from exc


def _ga_format(value: Any, param: str) -> AudioFormat:
    kind = value.get("type") if isinstance(value, dict) else None
    audio_format = _GA_TYPES.get(kind) if isinstance(kind, str) else None
    rate = value.get("rate", 24_000) if isinstance(value, dict) else None
    if audio_format is None or (audio_format is AudioFormat.PCM16 and rate != 24_000):
        raise InvalidRequestError(f"`{param}` must be audio/pcm at 24000 Hz, audio/pcmu or audio/pcma.",
                                  param=param, code="invalid_value")
    return audio_format


def _ga_audio(session: JSONObject, direction: str) -> JSONObject | None:
    audio = session.get("audio")
    part = audio.get(direction) if isinstance(audio, dict) else None
    return part if isinstance(part, dict) else None


def client_formats(session: Any, current: ClientFormats) -> ClientFormats:
    """The formats after a `session.update` whose `session` object is `session` (either shape)."""
    if not isinstance(session, dict):
        return current
    formats = current
    if "input_audio_format" in session:
        formats = formats._replace(input=_beta_format(session["input_audio_format"], "session.input_audio_format"))
    if "output_audio_format" in session:
        formats = formats._replace(output=_beta_format(session["output_audio_format"], "session.output_audio_format"))
    for direction in ("input", "output"):
        part = _ga_audio(session, direction)
        if part is not None and "format" in part:
            parsed = _ga_format(part["format"], f"session.audio.{direction}.format")
            formats = formats._replace(**{direction: parsed})
    return formats


def _with_formats(session: JSONObject, formats: ClientFormats) -> JSONObject:
    rewritten = copy.deepcopy(session)
    for key, audio_format in (("input_audio_format", formats.input), ("output_audio_format", formats.output)):
        if key in rewritten:
            rewritten[key] = audio_format.value
    for direction, audio_format in (("input", formats.input), ("output", formats.output)):
        part = _ga_audio(rewritten, direction)
        if part is not None and "format" in part:
            part["format"] = audio_format.ga_json
    return rewritten


def with_upstream_formats(session: JSONObject) -> JSONObject:
    """A client's session object with PCM16 24 kHz wherever it names a format."""
    return _with_formats(session, ClientFormats())


def with_client_formats(session: JSONObject, formats: ClientFormats) -> JSONObject:
    """The upstream's session object naming the client's formats."""
    return _with_formats(session, formats)
