"""`local_voice_first`: a bundled model's backend is wrapped in the slot gate (voice calls first) unless
it is turned off, and a remote model is never gated (the gate itself: tests/unit/backends/test_slot_gate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxgate.backends.slot_gate import SlotGatedBackend
from voxgate.config import LocalRuntimeSettings, Settings, VoiceSettings
from voxgate.core.types import Locality, LocalWeights, ModelCard
from voxgate.server.gateway import Gateway


@pytest.mark.parametrize("voice_first", [True, False])
async def test_bundled_models_are_gated_only_when_voice_goes_first(tmp_path: Path, voice_first: bool) -> None:
    settings = Settings(database_path=tmp_path / "voxgate.db", voice=VoiceSettings(enabled=False),
                        local=LocalRuntimeSettings(voice_first=voice_first))
    async with Gateway(settings).run() as gateway:
        embedded = ModelCard("tiny-local", base_url="http://127.0.0.1:9/v1", locality=Locality.LOCAL,
                             local_weights=LocalWeights("tiny.gguf", ("tiny-part1",)))
        remote = ModelCard("remote", base_url="http://127.0.0.1:9/v1")
        assert isinstance(gateway._backend_for(embedded), SlotGatedBackend) is voice_first
        assert not isinstance(gateway._backend_for(remote), SlotGatedBackend)
