"""OpenAI's audio endpoints, served by the bundled speech engines.

    POST /v1/audio/transcriptions   multipart upload -> Whisper (json, text, verbose_json, srt, vtt;
                                    `stream=true`: `transcript.text.delta` / `transcript.text.done` events)
    POST /v1/audio/speech           text -> Piper or espeak-ng, streamed as it is synthesised
                                    (mp3, opus, aac, flac, wav, pcm; pcm and wav are 24 kHz mono PCM16)

Uploads are decoded off the event loop; the recording is cut at its pauses and each stretch is
transcribed in turn (`voice/engines/recording`), so streamed text arrives while the rest is still
being recognised. Transcripts and input text are user content: nothing here logs them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from voxgate.core.types import JSONObject
from voxgate.server.audio_requests import (
    SpeechRequest,
    TranscriptionRequest,
    parse_speech_request,
    parse_transcription_form,
)
from voxgate.server.errors import NotReadyError
from voxgate.server.gateway import Gateway
from voxgate.server.http_io import encode_sse, read_body, read_json
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_seconds, pcm16_to_float
from voxgate.voice.audio.containers import MEDIA_TYPES, AudioFileEncoder, decode_recording
from voxgate.voice.audio.resample import StreamingResampler
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.recording import RECORDING_SAMPLE_RATE_HZ, RecordingSegment, transcribe_recording

SPEECH_SAMPLE_RATE_HZ = 24_000
MULTIPART_OVERHEAD_BYTES = 64 * 1024
LANGUAGE_NAMES = {"en": "english"}


def _engines(request: Request) -> tuple[Gateway, VoiceEngines]:
    gateway: Gateway = request.app.state.gateway
    if not gateway.settings.voice.enabled:
        raise NotReadyError("speech engines are switched off in this server's config (voice.enabled: false)",
                            code="voice_disabled")
    if gateway.voice is None:
        raise NotReadyError("voxgate is still loading its speech engines; poll GET /readyz until it returns 200.",
                            code="not_ready")
    return gateway, gateway.voice


async def transcriptions(request: Request) -> Response:
    gateway, engines = _engines(request)
    voice = gateway.settings.voice
    body = await read_body(request, voice.max_upload_bytes + MULTIPART_OVERHEAD_BYTES)
    transcription = await parse_transcription_form(request.headers, body)
    pcm16 = await asyncio.to_thread(
        decode_recording, transcription.audio, RECORDING_SAMPLE_RATE_HZ, voice.max_upload_audio_s)
    headers = {"x-voxgate-model": f"whisper-{voice.stt_model}"}
    segments = transcribe_recording(pcm16, engines.stt, engines.new_vad())
    if transcription.stream:
        return StreamingResponse(encode_sse(_transcript_events(segments)), media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"})
    found = [segment async for segment in segments]
    duration_s = pcm16_seconds(len(pcm16), RECORDING_SAMPLE_RATE_HZ)
    return _transcript_response(transcription, found, duration_s, headers)


async def _transcript_events(segments: AsyncIterator[RecordingSegment]) -> AsyncIterator[JSONObject]:
    texts: list[str] = []
    async with contextlib.aclosing(segments):  # type: ignore[type-var]
        async for segment in segments:
            delta = segment.text if not texts else f" {segment.text}"
            texts.append(segment.text)
            yield {"type": "transcript.text.delta", "delta": delta}
    yield {"type": "transcript.text.done", "text": " ".join(texts)}


def _transcript_response(
    transcription: TranscriptionRequest, segments: list[RecordingSegment], duration_s: float,
    headers: dict[str, str],
) -> Response:
    text = " ".join(segment.text for segment in segments)
    usage = {"type": "duration", "seconds": round(duration_s, 3)}
    if transcription.response_format == "json":
        return JSONResponse({"text": text, "usage": usage}, headers=headers)
    if transcription.response_format == "verbose_json":
        body = {"task": "transcribe", "language": LANGUAGE_NAMES.get(transcription.language, transcription.language),
                "duration": round(duration_s, 3), "text": text,
                "segments": [{"id": s.index, "seek": round(s.start_s * 100),  # Whisper's 10 ms frames
                              "start": round(s.start_s, 3), "end": round(s.end_s, 3),
                              "text": s.text, "tokens": [], "temperature": 0.0} for s in segments],
                "usage": usage}
        return JSONResponse(body, headers=headers)
    if transcription.response_format == "text":
        return PlainTextResponse(text + "\n", headers=headers)
    if transcription.response_format == "srt":
        return PlainTextResponse(subtitles_srt(segments), headers=headers)
    return PlainTextResponse(subtitles_vtt(segments), media_type="text/vtt", headers=headers)


def _timestamp(seconds: float, separator: str) -> str:
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole_s, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_s:02d}{separator}{ms:03d}"


def subtitles_srt(segments: list[RecordingSegment]) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each."""
    return "".join(f"{n}\n{_timestamp(s.start_s, ',')} --> {_timestamp(s.end_s, ',')}\n{s.text}\n\n"
                   for n, s in enumerate(segments, start=1))


def subtitles_vtt(segments: list[RecordingSegment]) -> str:
    """WebVTT: the `WEBVTT` line, then cues with `HH:MM:SS.mmm` times."""
    return "WEBVTT\n\n" + "".join(f"{_timestamp(s.start_s, '.')} --> {_timestamp(s.end_s, '.')}\n{s.text}\n\n"
                                  for s in segments)


async def speech(request: Request) -> Response:
    gateway, engines = _engines(request)
    speech_request = parse_speech_request(await read_json(request, gateway.settings.max_body_bytes))
    media_type = MEDIA_TYPES[speech_request.response_format]
    return StreamingResponse(_spoken(engines, speech_request), media_type=media_type,
                             headers={"cache-control": "no-cache"})


async def _spoken(engines: VoiceEngines, speech_request: SpeechRequest) -> AsyncIterator[bytes]:
    """The synthesised audio at 24 kHz, encoded piece by piece as the engine produces it."""
    encoder = AudioFileEncoder(speech_request.response_format, SPEECH_SAMPLE_RATE_HZ)
    resampler = None
    if engines.tts.sample_rate_hz != SPEECH_SAMPLE_RATE_HZ:
        resampler = StreamingResampler(engines.tts.sample_rate_hz, SPEECH_SAMPLE_RATE_HZ)
    async with contextlib.aclosing(engines.tts.synthesize(speech_request.text)) as chunks:
        async for chunk in chunks:
            pcm16 = chunk if resampler is None else float_to_pcm16(resampler.process(pcm16_to_float(chunk)))
            encoded = await _encode(encoder, pcm16)
            if encoded:
                yield encoded
    tail = b"" if resampler is None else float_to_pcm16(resampler.flush())
    last = await _encode(encoder, tail) + await asyncio.to_thread(encoder.finish)
    if last:
        yield last


async def _encode(encoder: AudioFileEncoder, pcm16: bytes) -> bytes:
    if not pcm16:
        return b""
    return await asyncio.to_thread(encoder.push, pcm16)
