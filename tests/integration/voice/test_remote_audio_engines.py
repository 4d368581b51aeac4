"""`openai-audio` speech engines: a voxgate whose recogniser and voice are a remote server speaking
OpenAI's audio API. The remote here is a second, real voxgate (`scripted_voice_server`: Whisper base
and Piper behind /v1/audio/*), so nothing is mocked: real sockets, real speech both ways."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.fake_upstream import serve_in_thread
from tests.integration.voice.conftest import SCRIPTED_REPLY
from tests.integration.voice.realtime.realtime_client import audio_of, peak, reading, stream_clip
from tests.support.native_sessions import sdk_client
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.speech_corpus import Clip
from voxgate.core.errors import BackendConnectError
from voxgate.voice.audio.codecs import float_to_pcm16, pcm16_to_float
from voxgate.voice.audio.resample import resample
from voxgate.voice.engines.openai_audio import OpenAIAudioSTT, OpenAIAudioTTS, RemoteAudioConfig
from voxgate.voice.engines.wer import corpus_word_error_rate, word_error_rate

pytestmark = pytest.mark.integration
WER_BOUND = 0.15
SPOKEN_WER_BOUND = 0.25


@pytest.fixture(scope="module")
def remote_voice_gateway(scripted_voice_server: RunningProcess,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """A voxgate with no local Whisper or Piper: both are the scripted voice server's /v1/audio/*."""
    with serve_in_thread() as upstream:
        catalog = (
            f"models:\n  - id: scripted\n    base_url: {upstream.url_for('say-' + quote(SCRIPTED_REPLY))}\n"
            "include_default_models: false\n"
            "voice: {enabled: true, stt_model: openai-audio, tts_engine: openai-audio, "
            f"remote: {{base_url: '{scripted_voice_server.base_url}/v1', voice: nova}}}}\n"
        )
        running = start_voxgate(tmp_path_factory.mktemp("remote-voice"), catalog)
        try:
            yield running
        finally:
            stop_process(running.process)


def _config(server: RunningProcess) -> RemoteAudioConfig:
    return RemoteAudioConfig(base_url=f"{server.base_url}/v1")


async def test_remote_stt_transcribes_librivox(scripted_voice_server: RunningProcess, librivox: list[Clip]) -> None:
    stt = OpenAIAudioSTT(_config(scripted_voice_server))
    try:
        texts = [(await stt.transcribe(clip.pcm16)).text for clip in librivox]
        assert (await stt.transcribe(b"")).text == ""
    finally:
        stt.close()
    assert corpus_word_error_rate(zip([c.transcript for c in librivox], texts, strict=True)) <= WER_BOUND


async def test_remote_tts_streams_speech_that_transcribes_back(scripted_voice_server: RunningProcess) -> None:
    tts = OpenAIAudioTTS(_config(scripted_voice_server))
    stt = OpenAIAudioSTT(_config(scripted_voice_server))
    sentence = "Please book a table for two at seven this evening."
    try:
        pieces = [piece async for piece in tts.synthesize(sentence)]
        audio_16k = float_to_pcm16(resample(pcm16_to_float(b"".join(pieces)), tts.sample_rate_hz, 16_000))
        heard = (await stt.transcribe(audio_16k)).text
    finally:
        tts.close()
        stt.close()
    assert all(len(piece) % 2 == 0 for piece in pieces)
    assert word_error_rate(sentence, heard) <= SPOKEN_WER_BOUND


async def test_an_unreachable_remote_is_a_backend_error() -> None:
    stt = OpenAIAudioSTT(RemoteAudioConfig(base_url="http://127.0.0.1:9/v1", timeout_s=2))
    try:
        with pytest.raises(BackendConnectError):
            await stt.transcribe(b"\0\0" * 1600)
    finally:
        stt.close()


async def test_a_voice_session_runs_on_the_remote_engines(
    remote_voice_gateway: RunningProcess, librivox: list[Clip]
) -> None:
    clip = min(librivox, key=lambda c: c.duration_s)
    client = sdk_client(remote_voice_gateway)
    async with client.realtime.connect(model="auto") as connection, reading(connection) as log:
        await connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
        await log.wait_for("session.updated")
        await stream_clip(connection, clip.pcm16)
        transcript = await log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await log.wait_for("response.done")
    assert word_error_rate(clip.transcript, transcript["transcript"]) <= WER_BOUND
    assert done["response"]["status"] == "completed"
    reply = audio_of(log.of_type("response.output_audio.delta"))
    assert len(reply) > 2 * 24_000 * 0.5
    assert peak(reply) > 1_000
    spoken_back = OpenAIAudioSTT(RemoteAudioConfig(base_url=f"{remote_voice_gateway.base_url}/v1"))
    try:
        reply_16k = float_to_pcm16(resample(pcm16_to_float(reply), 24_000, 16_000))
        assert word_error_rate(SCRIPTED_REPLY, (await spoken_back.transcribe(reply_16k)).text) <= SPOKEN_WER_BOUND
    finally:
        spoken_back.close()
