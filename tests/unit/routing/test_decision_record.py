"""Decision.to_dict: the same document `dataclasses.asdict` makes, and a copy the caller may change."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from voxgate.routing.decision import Attempt, CandidateRecord, Decision

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
JSON_OBJECTS = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4)


def _decision(constraints: dict[str, Any], cascade: dict[str, Any] | None) -> Decision:
    return Decision(
        id="dec_1", created_at=1.5, profile="auto", mode="balanced", constraints=constraints,
        request={"messages": 1, "tools": ["a", "b"]},
        candidates=[CandidateRecord("small", True, 0.7, "heuristic", 1e-5, 120.0, "cheapest"),
                    CandidateRecord("big", False, reason="over budget")],
        chosen="small", fallback_plan=["big"], reason="cheapest eligible", predictor_version="h1",
        overhead_us=42.0, attempts=[Attempt("small", "ok", 12.5, 3.0)], usage={"prompt_tokens": 3},
        cascade=cascade, key_id="key_1",
    )


@given(JSON_OBJECTS, st.none() | JSON_OBJECTS)
def test_to_dict_is_what_asdict_makes(constraints: dict[str, Any], cascade: dict[str, Any] | None) -> None:
    decision = _decision(constraints, cascade)
    assert decision.to_dict() == asdict(decision)


def test_the_document_shares_no_container_with_the_decision() -> None:
    decision = _decision({"tags": ["x"], "nested": {"a": [1]}}, {"stages": [{"model": "small"}]})
    document = decision.to_dict()
    document["constraints"]["tags"].append("y")
    document["constraints"]["nested"]["a"].append(2)
    document["cascade"]["stages"][0]["model"] = "big"
    document["candidates"][0]["model"] = "other"
    document["attempts"].clear()
    document["fallback_plan"].append("tiny")
    assert decision.constraints == {"tags": ["x"], "nested": {"a": [1]}}
    assert decision.cascade == {"stages": [{"model": "small"}]}
    assert decision.candidates[0].model == "small"
    assert len(decision.attempts) == 1
    assert decision.fallback_plan == ["big"]


def test_records_become_dicts_and_tuples_stay_tuples() -> None:
    decision = _decision({"window": (1, 2)}, None)
    document = decision.to_dict()
    assert document["candidates"][1] == {
        "model": "big", "eligible": False, "predicted_quality": None, "quality_source": None,
        "estimated_cost_usd": None, "estimated_latency_ms": None, "reason": "over budget",
    }
    assert document["attempts"][0]["latency_ms"] == 12.5
    assert document["constraints"]["window"] == (1, 2)
    assert document == asdict(decision)
