"""Real recorded speech for the voice integration tests: the `librivox` fixture (skips without the clips)."""

from __future__ import annotations

import pytest

from tests.support.speech_corpus import Clip, LibriVoxMissing, load_librivox


@pytest.fixture(scope="session")
def librivox() -> list[Clip]:
    try:
        return load_librivox()
    except LibriVoxMissing as exc:
        pytest.skip(str(exc))
