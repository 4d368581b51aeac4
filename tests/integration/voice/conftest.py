"""Voice integration fixtures: real recorded speech (`librivox`, fails without the clips, naming the
Debian package) and `scripted_voice_server`: `voxgate serve` with the default speech engines
(Whisper base, Piper) and the scripted chat upstream (tests/fake_upstream) answering every turn with
`SCRIPTED_REPLY`, so no LLM loads."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.fake_upstream import serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process
from tests.support.required import fail_missing
from tests.support.speech_corpus import Clip, LibriVoxMissing, load_librivox


@pytest.fixture(scope="session")
def librivox() -> list[Clip]:
    try:
        return load_librivox()
    except LibriVoxMissing:
        fail_missing("the LibriVox clips (Debian's pocketsphinx-testdata)",
                     "sudo apt-get install -y pocketsphinx-testdata")


MAX_UPLOAD_BYTES = 1024 * 1024
SCRIPTED_REPLY = "Thank you for calling. Your table for two is booked for seven this evening."


@pytest.fixture(scope="session")
def scripted_voice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    with serve_in_thread() as upstream:
        catalog = (
            f"models:\n  - id: scripted\n    base_url: {upstream.url_for('say-' + quote(SCRIPTED_REPLY))}\n"
            "    locality: local\n"
            "    context_window: 100000\n    price: {input_per_mtok: 0, output_per_mtok: 0}\n"
            "include_default_models: false\n"
            f"voice: {{enabled: true, stt_model: base, max_upload_bytes: {MAX_UPLOAD_BYTES}}}\n"
        )
        running = start_voxgate(tmp_path_factory.mktemp("scripted-voice"), catalog)
        try:
            yield running
        finally:
            stop_process(running.process)
