"""Real recorded speech for the voice integration tests: the `librivox` fixture (fails without the
clips, naming the Debian package)."""

from __future__ import annotations

import pytest

from tests.support.required import fail_missing
from tests.support.speech_corpus import Clip, LibriVoxMissing, load_librivox


@pytest.fixture(scope="session")
def librivox() -> list[Clip]:
    try:
        return load_librivox()
    except LibriVoxMissing:
        fail_missing("the LibriVox clips (Debian's pocketsphinx-testdata)",
                     "sudo apt-get install -y pocketsphinx-testdata")
