"""The speech engines (VAD, speech to text, text to speech) behind the protocols in `protocols`,
the bundled weights they load, the set a process shares, fakes for tests and word error rate."""
