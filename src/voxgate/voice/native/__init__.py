"""Native-audio models behind voxgate's realtime API: the session proxied whole to a model that
hears and speaks itself (`backend: openai-realtime`, `gemini-live`), chosen by the session's routing decision.

    formats      the client's audio formats from its `session.update`s; session objects rewritten
                 for the upstream (always PCM16 24 kHz) and back for the client
    audio_bridge AudioBridge: client audio (G.711 8 kHz or PCM16 24 kHz) <-> the upstream's PCM16 24 kHz
    turn_metrics TurnClock: per response, the times behind `voxgate.turn.metrics`, and the usage sum
    proxy        NativeSessionProxy: client events relayed up, server events back, in one task group
    dialects     GA <-> beta realtime events, pure and table-driven (dialect_objects: the sessions,
                 responses and items inside them); dialect_socket.DialectSocket applies them to an
                 `openai-realtime` model whose shape (the catalog's realtime_dialect) is not the client's
    gemini_live  GeminiLiveSocket: a Gemini Live connection behind the proxy's upstream protocol,
                 translating with gemini_setup (session.update -> setup), gemini_requests (client
                 events -> Live messages, 24 kHz -> 16 kHz) and gemini_replies (Live messages -> events)
"""
