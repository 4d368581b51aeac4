"""Speech engines on a remote server that speaks OpenAI's audio API (OpenAI, Azure, another voxgate).

    stt = OpenAIAudioSTT(RemoteAudioConfig(base_url="https://api.openai.com/v1", api_key=KEY))
    tts = OpenAIAudioTTS(RemoteAudioConfig(base_url=..., tts_model="tts-1", voice="alloy"))

`OpenAIAudioSTT.transcribe` uploads the utterance as a 16 kHz WAV to `/audio/transcriptions`;
`OpenAIAudioTTS.synthesize` streams `/audio/speech` as `pcm` (24 kHz mono PCM16, OpenAI's) and
yields it as it arrives. Both run blocking httpx calls in the engine's own worker threads (one
connection pool per engine, reused across turns), so `close()` needs no event loop. Failures are
`BackendError`s (`BackendConnectError`, `BackendTimeoutError`, `BackendStatusError`). Audio and
text are user content: never logged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from voxgate.core.errors import BackendConnectError, BackendError, BackendStatusError, BackendTimeoutError
from voxgate.voice.audio.codecs import pcm16_seconds
from voxgate.voice.audio.containers import wav_file
from voxgate.voice.engines.protocols import Transcript

REMOTE_STT_RATE_HZ = 16_000
REMOTE_TTS_RATE_HZ = 24_000
_READ_BYTES = 4_800  # 100 ms of 24 kHz PCM16


@dataclass(frozen=True)
class RemoteAudioConfig:
    """Where the remote audio API lives and what to ask it for. `base_url` ends in `/v1`."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    stt_model: str = "whisper-1"
    tts_model: str = "tts-1"
    voice: str = "alloy"
    language: str = "en"
    timeout_s: float = 30.0
    workers: int = 2


def _client(config: RemoteAudioConfig, transport: httpx.BaseTransport | None) -> httpx.Client:
    headers = {"authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    return httpx.Client(base_url=config.base_url.rstrip("/"), headers=headers, trust_env=False, transport=transport,
                        timeout=httpx.Timeout(config.timeout_s, connect=min(5.0, config.timeout_s)))


def _backend_error(exc: httpx.HTTPError, what: str) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeoutError(f"the remote {what} did not answer in time")
    if isinstance(exc, httpx.HTTPStatusError):
        return BackendStatusError(f"the remote {what} answered {exc.response.status_code}",
                                  status=exc.response.status_code)
    return BackendConnectError(f"cannot reach the remote {what}: {type(exc).__name__}")


class OpenAIAudioSTT:
    """SpeechToText over `POST {base_url}/audio/transcriptions`; `transport` replaces the network in tests."""

    def __init__(self, config: RemoteAudioConfig, transport: httpx.BaseTransport | None = None) -> None:
        self._config = config
        self._client = _client(config, transport)
        self._executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="voxgate-remote-stt")

    @property
    def sample_rate_hz(self) -> int:
        return REMOTE_STT_RATE_HZ

    async def load(self) -> None:
        """Nothing to load; the server is asked on the first turn."""

    async def transcribe(self, pcm16: bytes) -> Transcript:
        duration_s = pcm16_seconds(len(pcm16), REMOTE_STT_RATE_HZ)
        if not pcm16:
            return Transcript(text="", language=self._config.language, duration_s=0.0)
        text = await asyncio.get_running_loop().run_in_executor(self._executor, self._transcribe_blocking, pcm16)
        return Transcript(text=text, language=self._config.language, duration_s=duration_s)

    def _transcribe_blocking(self, pcm16: bytes) -> str:
        data = {"model": self._config.stt_model, "language": self._config.language, "response_format": "json"}
        files = {"file": ("turn.wav", wav_file(pcm16, REMOTE_STT_RATE_HZ), "audio/wav")}
        try:
            response = self._client.post("/audio/transcriptions", data=data, files=files)
            response.raise_for_status()
            text = response.json()["text"]
        except httpx.HTTPError as exc:
            raise _backend_error(exc, "transcription server") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError("the remote transcription server answered without a `text`") from exc
        return str(text).strip()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()


class OpenAIAudioTTS:
    """TextToSpeech over `POST {base_url}/audio/speech` with `response_format: pcm`, streamed."""

    def __init__(self, config: RemoteAudioConfig, transport: httpx.BaseTransport | None = None) -> None:
        self._config = config
        self._client = _client(config, transport)
        self._executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="voxgate-remote-tts")

    @property
    def sample_rate_hz(self) -> int:
        return REMOTE_TTS_RATE_HZ

    async def load(self) -> None:
        """Nothing to load; the server is asked on the first sentence."""

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Yield PCM16 at 24 kHz as the server sends it (even-length pieces)."""
        if not text.strip():
            return
        loop = asyncio.get_running_loop()
        stream = _SpeechStream(self._client, {"model": self._config.tts_model, "voice": self._config.voice,
                                              "input": text, "response_format": "pcm"})
        try:
            pending = b""
            while (chunk := await loop.run_in_executor(self._executor, stream.next_chunk)) is not None:
                pending += chunk
                whole = len(pending) - len(pending) % 2
                if whole:
                    yield pending[:whole]
                pending = pending[whole:]
        finally:
            try:
                self._executor.submit(stream.close)
            except RuntimeError:  # the engine was closed: close here
                stream.close()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()


class _SpeechStream:
    """One streamed `/audio/speech` response, read piece by piece from a worker thread."""

    def __init__(self, client: httpx.Client, body: dict[str, str]) -> None:
        self._client = client
        self._body = body
        self._lock = threading.Lock()
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None

    def next_chunk(self) -> bytes | None:
        with self._lock:
            try:
                if self._chunks is None:
                    request = self._client.build_request("POST", "/audio/speech", json=self._body)
                    self._response = self._client.send(request, stream=True)
                    self._response.raise_for_status()
                    self._chunks = self._response.iter_bytes(_READ_BYTES)
                return next(self._chunks, None)
            except httpx.HTTPError as exc:
                raise _backend_error(exc, "speech server") from exc

    def close(self) -> None:
        with self._lock:
            if self._response is not None:
                self._response.close()
