from __future__ import annotations

from voxgate.core.types import Capability, Locality, ModelCard, RoutingConstraints
from voxgate.routing.eligibility import check_eligibility

LOCAL = ModelCard("local", locality=Locality.LOCAL, capabilities=frozenset({Capability.JSON}), context_window=4096)
CLOUD = ModelCard(
    "cloud", locality=Locality.CLOUD, capabilities=frozenset({Capability.TOOLS, Capability.VISION}),
    context_window=128_000,
)
CARDS = [LOCAL, CLOUD]


def test_all_eligible_without_constraints() -> None:
    result = check_eligibility(CARDS, RoutingConstraints(), frozenset(), 100)
    assert [c.id for c in result.eligible] == ["local", "cloud"]
    assert result.rejections == {}


def test_missing_capability_names_it() -> None:
    result = check_eligibility(CARDS, RoutingConstraints(), frozenset({Capability.VISION}), 100)
    assert result.rejections == {"local": "lacks required capability: vision"}


def test_require_from_constraints_counts_too() -> None:
    result = check_eligibility(CARDS, RoutingConstraints(require=frozenset({Capability.TOOLS})), frozenset(), 10)
    assert "tools" in result.rejections["local"]


def test_local_only() -> None:
    result = check_eligibility(CARDS, RoutingConstraints(local_only=True), frozenset(), 10)
    assert [c.id for c in result.eligible] == ["local"]
    assert "local_only" in result.rejections["cloud"]


def test_allow_and_deny_lists() -> None:
    allow = check_eligibility(CARDS, RoutingConstraints(models=("cloud",)), frozenset(), 10)
    assert "allow-list" in allow.rejections["local"]
    deny = check_eligibility(CARDS, RoutingConstraints(exclude=("cloud",)), frozenset(), 10)
    assert "excluded" in deny.rejections["cloud"]


def test_context_window() -> None:
    result = check_eligibility(CARDS, RoutingConstraints(), frozenset(), 5000)
    assert result.rejections["local"].startswith("context window 4096 tokens < 5000")


def test_open_circuit_rules_out() -> None:
    result = check_eligibility(
        CARDS, RoutingConstraints(), frozenset(), 10, lambda m: "circuit open" if m == "cloud" else None
    )
    assert result.rejections == {"cloud": "circuit open"}
