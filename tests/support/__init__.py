"""Helpers that tests and benches share: process start/stop, speech corpora, fakes, event recorders."""
