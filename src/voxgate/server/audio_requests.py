"""What `/v1/audio/transcriptions` and `/v1/audio/speech` accept, checked, as typed requests.

The tables here are the API: `server/audio_schema` builds the `/openapi.json` schemas from them,
so the document and the checks cannot drift apart. Every model name is served by the bundled
engines (Whisper for transcription; Piper, or espeak-ng without it, for speech): OpenAI's names
are accepted so existing clients work unchanged, and every voice name speaks with the one voice
loaded.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from voxgate.core.errors import InvalidRequestError, ModelNotFoundError
from voxgate.core.types import JSONObject
from voxgate.voice.audio.containers import OUTPUT_FORMATS, OutputFormat

TRANSCRIPTION_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "whisper-base", "whisper-tiny.en")
TranscriptFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
TRANSCRIPT_FORMATS: tuple[TranscriptFormat, ...] = ("json", "text", "srt", "verbose_json", "vtt")
STREAMABLE_TRANSCRIPT_FORMATS = ("json", "text")
TRANSCRIPTION_LANGUAGES = ("en",)
TIMESTAMP_GRANULARITIES = ("segment",)
CHUNKING_STRATEGIES = ("auto",)
TRANSCRIPTION_TEXT_FIELDS = (
    "model", "language", "prompt", "response_format", "temperature", "stream", "timestamp_granularities[]",
    "chunking_strategy",
)
MAX_FORM_FIELDS = 16
MAX_PROMPT_CHARS = 4096

SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper", "espeak-ng")
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
          "marin", "cedar", "joe")
SPEECH_FIELDS = ("model", "input", "voice", "response_format", "speed", "stream_format")
STREAM_FORMATS = ("audio",)
MAX_SPEECH_INPUT_CHARS = 4096
SPEECH_SPEED = 1.0
# JSON Schema's (ECMA-262) whitespace, spelled out: Python's `\s` also matches \x1c-\x1f and \x85.
_NON_BLANK = "[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"


@dataclass(frozen=True)
class TranscriptionRequest:
    """An uploaded recording and how to answer. `audio` is the file's bytes, any container."""

    audio: bytes
    model: str
    response_format: TranscriptFormat = "json"
    stream: bool = False
    language: str = "en"


@dataclass(frozen=True)
class SpeechRequest:
    """Text to speak; `text` is user content: never log it."""

    text: str
    model: str
    voice: str
    response_format: OutputFormat = "mp3"


def _invalid(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="invalid_value")


def _one_of(value: str, allowed: tuple[str, ...], param: str) -> str:
    if value not in allowed:
        raise _invalid(f"`{param}` must be one of {', '.join(allowed)}; got {value[:80]!r}", param)
    return value


def _check_model(model: str, allowed: tuple[str, ...]) -> str:
    if model not in allowed:
        raise ModelNotFoundError(
            f"The model {model[:80]!r} is not served here. Use one of: {', '.join(allowed)} "
            "(all are the bundled engines).", param="model", code="model_not_found")
    return model


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def parse_transcription_form(headers: Headers, body: bytes) -> TranscriptionRequest:
    """A multipart/form-data body as OpenAI's SDK sends it: `file` plus text fields."""
    if not headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequestError("Send the recording as multipart/form-data with a `file` part and a `model` "
                                  "field, as OpenAI's SDK does.", code="invalid_content_type")
    parser = MultiPartParser(headers, _replay(body), max_files=1, max_fields=MAX_FORM_FIELDS,
                             max_part_size=MAX_PROMPT_CHARS * 4 + 1024)  # 4 bytes per character at most
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidRequestError(f"The multipart body is malformed: {exc.message}", code="invalid_multipart") from exc
    try:
        return await _transcription_from_form(form.multi_items())
    finally:
        await form.close()


async def _transcription_from_form(items: list[tuple[str, str | UploadFile]]) -> TranscriptionRequest:
    upload: UploadFile | None = None
    fields: dict[str, list[str]] = {}
    for name, value in items:
        if isinstance(value, UploadFile):
            if name != "file":
                raise _invalid(f"unexpected file part {name[:40]!r}; send the recording as `file`", name[:40])
            upload = value
        elif name in TRANSCRIPTION_TEXT_FIELDS:
            fields.setdefault(name, []).append(value)
        else:
            raise _invalid(f"unknown field {name[:40]!r}; this endpoint takes file, "
                           f"{', '.join(TRANSCRIPTION_TEXT_FIELDS)}", name[:40])
    if upload is None:
        raise InvalidRequestError("The `file` part is missing: upload the recording as `file`.", param="file",
                                  code="missing_file")
    single = {name: values[-1] for name, values in fields.items()}
    if "model" not in single:
        raise InvalidRequestError("The `model` field is missing.", param="model", code="missing_model")
    model = _check_model(single["model"], TRANSCRIPTION_MODELS)
    response_format = single.get("response_format", "json")
    _one_of(response_format, TRANSCRIPT_FORMATS, "response_format")
    stream = _boolean(single.get("stream", "false"), "stream")
    if stream and response_format not in STREAMABLE_TRANSCRIPT_FORMATS:
        raise _invalid(f"`stream` works with response_format {' or '.join(STREAMABLE_TRANSCRIPT_FORMATS)}, "
                       f"not {response_format}", "stream")
    language = _one_of(single.get("language", "en"), TRANSCRIPTION_LANGUAGES, "language")
    _check_ignored_fields(single, fields)
    audio = await upload.read()
    if not audio:
        raise InvalidRequestError("The uploaded file is empty.", param="file", code="invalid_audio")
    return TranscriptionRequest(audio, model, response_format, stream, language)  # type: ignore[arg-type]


def _check_ignored_fields(single: dict[str, str], fields: dict[str, list[str]]) -> None:
    """Fields accepted for compatibility; the bundled Whisper decodes greedily without a prompt."""
    if len(single.get("prompt", "")) > MAX_PROMPT_CHARS:
        raise _invalid(f"`prompt` is limited to {MAX_PROMPT_CHARS} characters", "prompt")
    if "temperature" in single:
        try:
            temperature = float(single["temperature"])
        except ValueError:
            temperature = -1.0
        if not 0.0 <= temperature <= 1.0:
            raise _invalid("`temperature` must be a number between 0 and 1", "temperature")
    granularities = fields.get("timestamp_granularities[]", [])
    if len(granularities) > len(TIMESTAMP_GRANULARITIES):
        raise _invalid("`timestamp_granularities[]` may name segment once", "timestamp_granularities[]")
    for granularity in granularities:
        _one_of(granularity, TIMESTAMP_GRANULARITIES, "timestamp_granularities[]")
    if "chunking_strategy" in single:
        _one_of(single["chunking_strategy"], CHUNKING_STRATEGIES, "chunking_strategy")


def _boolean(value: str, param: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise _invalid(f"`{param}` must be true or false", param)
    return value.lower() == "true"


def parse_speech_request(body: JSONObject) -> SpeechRequest:
    """`POST /v1/audio/speech`'s JSON body."""
    unknown = sorted(set(body) - set(SPEECH_FIELDS))
    if unknown:
        raise _invalid(f"unknown fields {unknown[:5]}; this endpoint takes {', '.join(SPEECH_FIELDS)}", unknown[0])
    for name in ("model", "input", "voice"):
        if not isinstance(body.get(name), str):
            raise InvalidRequestError(f"`{name}` is required and must be a string.", param=name,
                                      code="invalid_value")
    text: str = body["input"]
    if not re.search(_NON_BLANK, text) or len(text) > MAX_SPEECH_INPUT_CHARS:
        raise _invalid(f"`input` must hold some text, at most {MAX_SPEECH_INPUT_CHARS} characters", "input")
    response_format = body.get("response_format", "mp3")
    if not isinstance(response_format, str):
        raise _invalid("`response_format` must be a string", "response_format")
    speed = body.get("speed", SPEECH_SPEED)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or speed != SPEECH_SPEED:
        raise _invalid("`speed` must be 1.0: the bundled voices speak at one speed", "speed")
    stream_format = body.get("stream_format", "audio")
    if not isinstance(stream_format, str):
        raise _invalid("`stream_format` must be a string", "stream_format")
    _one_of(stream_format, STREAM_FORMATS, "stream_format")
    return SpeechRequest(
        text=text,
        model=_check_model(body["model"], SPEECH_MODELS),
        voice=_one_of(body["voice"], VOICES, "voice"),
        response_format=_one_of(response_format, OUTPUT_FORMATS, "response_format"),  # type: ignore[arg-type]
    )
