"""What the audio endpoints accept: the parsers, the subtitle formats, and the schema that describes them."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from voxgate.core.errors import InvalidRequestError, ModelNotFoundError, RequestError
from voxgate.server.audio_requests import parse_speech_request, parse_transcription_form
from voxgate.server.audio_routes import subtitles_srt, subtitles_vtt
from voxgate.server.audio_schema import speech_request_schema
from voxgate.voice.engines.recording import RecordingSegment


def _form(fields: dict[str, Any], file: bytes | None = b"RIFF....") -> tuple[Headers, bytes]:
    """A multipart body as httpx (the SDK's transport) encodes it; without `file`, text parts only."""
    if file is None:
        parts = "".join(f'--b\r\ncontent-disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items())
        return Headers({"content-type": "multipart/form-data; boundary=b"}), f"{parts}--b--\r\n".encode()
    request = httpx.Request("POST", "http://unused/", data=fields, files={"file": ("a.wav", file, "audio/wav")})
    return Headers(raw=[(k.lower(), v) for k, v in request.headers.raw]), request.read()


async def test_the_sdks_form_is_read() -> None:
    headers, body = _form({"model": "whisper-1", "response_format": "verbose_json", "language": "en",
                           "timestamp_granularities[]": ["segment"], "temperature": "0"})
    request = await parse_transcription_form(headers, body)
    assert (request.model, request.response_format, request.stream, request.audio) == (
        "whisper-1", "verbose_json", False, b"RIFF....")


@pytest.mark.parametrize(
    ("fields", "file", "param"),
    [
        ({"model": "whisper-1"}, None, "file"),
        ({}, b"x", "model"),
        ({"model": "whisper-1", "response_format": "xml"}, b"x", "response_format"),
        ({"model": "whisper-1", "stream": "true", "response_format": "srt"}, b"x", "stream"),
        ({"model": "whisper-1", "language": "fr"}, b"x", "language"),
        ({"model": "whisper-1", "timestamp_granularities[]": ["word"]}, b"x", "timestamp_granularities[]"),
        ({"model": "whisper-1", "temperature": "hot"}, b"x", "temperature"),
        ({"model": "whisper-1", "voice": "alloy"}, b"x", "voice"),
        ({"model": "whisper-1"}, b"", "file"),
    ],
)
async def test_bad_forms_name_the_field(fields: dict[str, Any], file: bytes | None, param: str) -> None:
    headers, body = _form(fields, file)
    with pytest.raises(InvalidRequestError) as caught:
        await parse_transcription_form(headers, body)
    assert caught.value.param == param


async def test_an_unknown_model_is_not_found_and_json_is_not_a_form() -> None:
    headers, body = _form({"model": "whisper-9"})
    with pytest.raises(ModelNotFoundError):
        await parse_transcription_form(headers, body)
    with pytest.raises(InvalidRequestError, match="multipart/form-data"):
        await parse_transcription_form(Headers({"content-type": "application/json"}), b"{}")


def test_srt_and_vtt_cues() -> None:
    segments = [RecordingSegment(0, 0.0, 2.5, "Hello there."), RecordingSegment(1, 3661.25, 3662.0, "Later.")]
    assert subtitles_srt(segments) == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n01:01:01,250 --> 01:01:02,000\nLater.\n\n")
    assert subtitles_vtt(segments) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n01:01:01.250 --> 01:01:02.000\nLater.\n\n")
    assert subtitles_vtt([]) == "WEBVTT\n\n"


_SPEECH = jsonschema_rs.Draft202012Validator(speech_request_schema())
_SPEECH_BODIES = st.fixed_dictionaries(
    {"model": st.sampled_from(["tts-1", "piper", "gpt-9"]), "input": st.text(max_size=6),
     "voice": st.sampled_from(["alloy", "joe", "nobody"])},
    optional={"response_format": st.sampled_from(["wav", "pcm", "mp3", "ogg"]),
              "speed": st.sampled_from([1, 1.0, 2.0, True]), "stream_format": st.sampled_from(["audio", "sse"]),
              "instructions": st.just("whisper")},
)


@settings(max_examples=300, deadline=None)
@given(body=_SPEECH_BODIES)
def test_the_speech_schema_and_parser_agree(body: dict[str, Any]) -> None:
    """Whatever the published schema allows is served; whatever it forbids is refused (a 4xx)."""
    try:
        parse_speech_request(body)
        accepted = True
    except RequestError:
        accepted = False
    assert accepted is _SPEECH.is_valid(body)
