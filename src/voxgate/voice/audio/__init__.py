"""Audio samples and formats: codecs, resampling, the realtime audio formats. No models, no I/O."""
