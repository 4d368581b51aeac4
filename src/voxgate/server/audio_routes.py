"""OpenAI's audio endpoints, served by the bundled speech engines.

    POST /v1/audio/transcriptions   multipart upload -> Whisper (json, text, verbose_json, srt, vtt;
                                    `stream=true`: `transcript.text.delta` / `transcript.text.done` events)
    POST /v1/audio/speech           text -> Piper or espeak-ng, streamed as it is synthesised
                                    (mp3, opus, aac, flac, wav, pcm; pcm and wav are 24 kHz mono PCM16)

Uploads are decoded off the event loop; the recording is cut at its pauses and each stretch is
transcribed in turn (`voice/engines/recording`), so streamed text arrives while the rest is still
being recognised. Transcripts and input text are user content: nothing here logs them.

Under a virtual key both routes are admitted like a chat request (`KeyGate.admit_speech`: a key
past a budget gets 429 `insufficient_quota`, one past its RPM 429 `rate_limit_exceeded`, before
any audio is decoded or synthesised) and charged at `voice.price` (`server/speech_spend`): a
transcription for the recording's duration (what `usage.seconds` says; a stream cut short, up to
the end of the last stretch transcribed), speech for the audio actually synthesised (a client
that leaves mid-stream stops the synthesis and pays for what was made).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.background import BackgroundTask
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
from voxgate.server.keys import connection_key
from voxgate.server.limits import Admission
from voxgate.server.speech_spend import SpeechBilling, stt_label, tts_label
from voxgate.store.spend import AUDIO
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_seconds, pcm16_to_float
from voxgate.voice.audio.containers import MEDIA_TYPES, AudioFileEncoder, decode_recording
from voxgate.voice.audio.resample import StreamingResampler
from voxgate.voice.engines.engine_set import VoiceEngines
from voxgate.voice.engines.metering import metered_engines
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
    key = connection_key(request)
    admission = await gateway.key_gate.admit_speech(key)
    pcm16 = await asyncio.to_thread(
        decode_recording, transcription.audio, RECORDING_SAMPLE_RATE_HZ, voice.max_upload_audio_s)
    headers = {"x-voxgate-model": f"whisper-{voice.stt_model}", **admission.headers}
    billing = SpeechBilling(gateway, key, stt_label(voice), AUDIO)
    charged = BackgroundTask(billing.charged_after)
    segments = transcribe_recording(pcm16, engines.stt, engines.new_vad())
    duration_s = pcm16_seconds(len(pcm16), RECORDING_SAMPLE_RATE_HZ)
    if transcription.stream:
        events = _transcript_events(segments, billing, admission, duration_s)
        return StreamingResponse(encode_sse(events), media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"}, background=charged)
    found = [segment async for segment in segments]
    billing.meter.stt_s += duration_s
    await billing.settle(admission)
    answer = _transcript_response(transcription, found, duration_s, headers)
    answer.background = charged
    return answer


async def _transcript_events(
    segments: AsyncIterator[RecordingSegment], billing: SpeechBilling, admission: Admission, duration_s: float,
) -> AsyncIterator[JSONObject]:
    """The deltas, each stretch's seconds metered as it is transcribed; the whole recording charged
    before the `done` event."""
    texts: list[str] = []
    heard_s = 0.0
    async with contextlib.aclosing(segments):  # type: ignore[type-var]
        async for segment in segments:
            billing.meter.stt_s += segment.end_s - heard_s
            heard_s = segment.end_s
            delta = segment.text if not texts else f" {segment.text}"
            texts.append(segment.text)
            yield {"type": "transcript.text.delta", "delta": delta}
    billing.meter.stt_s += max(0.0, duration_s - heard_s)
    await billing.settle(admission)
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
    key = connection_key(request)
    admission = await gateway.key_gate.admit_speech(key)
    billing = SpeechBilling(gateway, key, tts_label(gateway.settings.voice), AUDIO)
    media_type = MEDIA_TYPES[speech_request.response_format]
    spoken = _spoken(metered_engines(engines, billing.meter), speech_request, billing, admission)
    return StreamingResponse(spoken, media_type=media_type, headers={"cache-control": "no-cache", **admission.headers},
                             background=BackgroundTask(billing.charged_after))


async def _spoken(
    engines: VoiceEngines, speech_request: SpeechRequest, billing: SpeechBilling, admission: Admission,
) -> AsyncIterator[bytes]:
    """The synthesised audio at 24 kHz, encoded piece by piece as the engine produces it (and metered:
    the whole synthesis is charged before the last piece goes out)."""
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
    await billing.settle(admission)
    tail = b"" if resampler is None else float_to_pcm16(resampler.flush())
    last = await _encode(encoder, tail) + await asyncio.to_thread(encoder.finish)
    if last:
        yield last


async def _encode(encoder: AudioFileEncoder, pcm16: bytes) -> bytes:
    if not pcm16:
        return b""
    return await asyncio.to_thread(encoder.push, pcm16)
