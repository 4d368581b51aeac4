"""What every EndOfTurnModel must do: smart-turn v3.2 and the fixed fake."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.required import require_packages
from voxgate.voice.audio.codecs import float_to_pcm16
from voxgate.voice.engines.protocols import EndOfTurnModel
from voxgate.voice.engines.smart_turn import SmartTurn
from voxgate.voice.engines.testing import FixedEndOfTurn


@pytest.fixture(scope="module")
def smart_turn() -> SmartTurn:
    require_packages("pipecat-ai", "onnxruntime")
    return SmartTurn()


@pytest.fixture(params=["smart-turn", "fixed"])
def turn_model(request: pytest.FixtureRequest, smart_turn: SmartTurn) -> EndOfTurnModel:
    return smart_turn if request.param == "smart-turn" else FixedEndOfTurn(0.7)


async def test_gives_a_probability_for_any_turn(turn_model: EndOfTurnModel) -> None:
    assert isinstance(turn_model, EndOfTurnModel)
    assert turn_model.sample_rate_hz == 16_000
    await turn_model.load()
    noise = float_to_pcm16(np.random.default_rng(4).normal(0, 0.05, 16_000 * 12))  # longer than its 8 s
    for pcm16 in (b"", bytes(3_200), noise):
        probability = await turn_model.probability_finished(pcm16)
        assert 0.0 <= probability <= 1.0
    assert await turn_model.probability_finished(noise) == pytest.approx(await turn_model.probability_finished(noise))
