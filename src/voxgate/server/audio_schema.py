"""`/openapi.json`'s description of the audio endpoints, built from `server/audio_requests`' tables."""

from __future__ import annotations

from voxgate.core.types import JSONObject
from voxgate.server.api_schema import NON_BLANK
from voxgate.server.audio_requests import (
    CHUNKING_STRATEGIES,
    MAX_PROMPT_CHARS,
    MAX_SPEECH_INPUT_CHARS,
    SPEECH_MODELS,
    SPEECH_SPEED,
    STREAM_FORMATS,
    STREAMABLE_TRANSCRIPT_FORMATS,
    TIMESTAMP_GRANULARITIES,
    TRANSCRIPT_FORMATS,
    TRANSCRIPTION_LANGUAGES,
    TRANSCRIPTION_MODELS,
    VOICES,
)
from voxgate.voice.audio.containers import MEDIA_TYPES, OUTPUT_FORMATS


def transcription_request_schema() -> JSONObject:
    """The multipart form; `stream` only with the streamable formats."""
    return {
        "type": "object",
        "required": ["file", "model"],
        "additionalProperties": False,
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "the recording, in any container FFmpeg reads (wav, mp3, ogg, flac, m4a, webm)"},
            "model": {"enum": list(TRANSCRIPTION_MODELS), "description": "every name is the bundled Whisper"},
            "language": {"enum": list(TRANSCRIPTION_LANGUAGES)},
            "prompt": {"type": "string", "maxLength": MAX_PROMPT_CHARS,
                       "description": "accepted for compatibility; the bundled Whisper does not use it"},
            "response_format": {"enum": list(TRANSCRIPT_FORMATS)},
            "temperature": {"type": "number", "minimum": 0, "maximum": 1,
                            "description": "accepted for compatibility; decoding is greedy"},
            "stream": {"type": "boolean"},
            "timestamp_granularities[]": {"type": "array", "items": {"enum": list(TIMESTAMP_GRANULARITIES)},
                                          "maxItems": len(TIMESTAMP_GRANULARITIES)},
            "chunking_strategy": {"enum": list(CHUNKING_STRATEGIES),
                                  "description": "recordings are always cut at their pauses"},
        },
        "if": {"required": ["stream"], "properties": {"stream": {"const": True}}},
        "then": {"properties": {"response_format": {"enum": list(STREAMABLE_TRANSCRIPT_FORMATS)}}},
    }


def speech_request_schema() -> JSONObject:
    return {
        "type": "object",
        "required": ["model", "input", "voice"],
        "additionalProperties": False,
        "properties": {
            "model": {"enum": list(SPEECH_MODELS), "description": "every name is the bundled voice"},
            "input": {"type": "string", "minLength": 1, "maxLength": MAX_SPEECH_INPUT_CHARS, "pattern": NON_BLANK},
            "voice": {"enum": list(VOICES), "description": "every name speaks with the one bundled voice"},
            "response_format": {"enum": list(OUTPUT_FORMATS), "description": "pcm and wav: 24 kHz mono PCM16"},
            "speed": {"type": "number", "minimum": SPEECH_SPEED, "maximum": SPEECH_SPEED},
            "stream_format": {"enum": list(STREAM_FORMATS)},
        },
    }


def transcription_schemas() -> JSONObject:
    segment = {"type": "object", "required": ["id", "start", "end", "text"],
               "properties": {"id": {"type": "integer"}, "seek": {"type": "integer"}, "start": {"type": "number"},
                              "end": {"type": "number"}, "text": {"type": "string"},
                              "tokens": {"type": "array", "items": {"type": "integer"}},
                              "temperature": {"type": "number"}}}
    usage = {"type": "object", "required": ["type", "seconds"],
             "properties": {"type": {"const": "duration"}, "seconds": {"type": "number"}}}
    transcription = {"type": "object", "required": ["text"],
                     "properties": {"text": {"type": "string"}, "usage": usage, "task": {"const": "transcribe"},
                                    "language": {"type": "string"}, "duration": {"type": "number"},
                                    "segments": {"type": "array", "items": segment}}}
    return {"Transcription": transcription}


def audio_paths(errors: JSONObject, ref_transcription: JSONObject) -> JSONObject:
    """The two operations; `errors` are the shared error responses (OpenAI's shape)."""
    text = {"schema": {"type": "string"}}
    event = {"type": "object", "required": ["data"],
             "properties": {"data": {"type": "string",
                                     "description": "transcript.text.delta or transcript.text.done as JSON"}}}
    transcribed = {"description": "the transcript in `response_format`; with `stream`, server-sent events",
                   "content": {"application/json": {"schema": ref_transcription}, "text/plain": text,
                               "text/vtt": text, "text/event-stream": {"schema": event}}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    spoken = {"description": "the audio, streamed as it is synthesised",
              "content": {media_type: binary for media_type in sorted(set(MEDIA_TYPES.values()))}}
    return {
        "/v1/audio/transcriptions": {"post": {
            "summary": "OpenAI transcriptions, served by the bundled Whisper",
            "requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": transcription_request_schema()}}},
            "responses": {"200": transcribed, **errors},
        }},
        "/v1/audio/speech": {"post": {
            "summary": "OpenAI text to speech, served by the bundled voice (Piper, or espeak-ng)",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": speech_request_schema()}}},
            "responses": {"200": spoken, **errors},
        }},
    }
